// Databases in aura-system: PostgreSQL (CloudNativePG: one primary, two streaming replicas) and a
// MongoDB replica set (MongoDB Controllers for Kubernetes), one member per database node, spread
// over zones, on persistent disks. Their credentials are generated in Pulumi state (secret) and
// handed to the core services as the Secrets `aura-postgresql` and `aura-mongodb` in aura-<env>.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { IMAGES, pinnedChart } from "./charts";
import { namespaceOnlyIngress } from "./namespaces";
import type { DatabaseReady } from "../core/workload";
import type { MongoDBCommunitySpec, PostgresClusterSpec } from "./crds";
import {
    HOST_KEY,
    SystemServiceArgs,
    SystemServiceOptions,
    childOptions,
    customResource,
    onPool,
    onePerNode,
    podDisruptionBudget,
    quorum,
    resources,
    zoneSpread,
} from "./workloads";

/** The credential Secrets in the core namespace (K8S_CONTRACT: databaseSecrets). */
export const DATABASE_SECRET_NAMES = { postgresql: "aura-postgresql", mongodb: "aura-mongodb" } as const;
/** Keys of each credential Secret. */
export const DATABASE_SECRET_KEYS = ["HOST", "PORT", "USERNAME", "PASSWORD", "DATABASE", "URI"] as const;

/** One primary and two streaming replicas: the seed's reason for a 3-node database pool. */
export const POSTGRES_INSTANCES = 3;
/** Names the runbook uses (README, "Runbook names"). */
export const DATABASE_NAMES = { postgresql: "postgresql", mongodb: "mongodb" } as const;
/** The database and user the core services get in both engines. */
const APP_DATABASE = "aura";
const APP_USER = "aura";
const POSTGRES_STORAGE = "20Gi";
const MONGODB_STORAGE = "20Gi";
const MONGODB_LOG_STORAGE = "2Gi";
/**
 * How long `pulumi up` waits for a database to report itself ready after creating it, or after a
 * change while it is not ready (a new replica set builds its members one after another, each with
 * two disks). Neither operator reports the generation its status reflects, so a change to a ready
 * database is not waited for.
 */
export const DATABASE_READY_TIMEOUT = "30m";
/**
 * When the provider considers each database created or updated (pulumi.com/waitFor; it waits for
 * nothing on a custom resource otherwise): CloudNativePG's Cluster condition Ready, the MongoDB
 * operator's phase Running (cloudnative-pg v1.30 api/v1/cluster_types.go, mongodb-kubernetes 1.10
 * mongodb-community-operator/api/v1/mongodbcommunity_types.go).
 */
export const DATABASE_READY = { postgresql: "condition=Ready", mongodb: "jsonpath={.status.phase}=Running" } as const;

/** The CloudNativePG Cluster: instances, placement, disks, and the app owner from `credentialsSecret`. */
export function postgresSpec(args: { storageClassName: string; credentialsSecret: string }): PostgresClusterSpec {
    return {
        instances: POSTGRES_INSTANCES,
        imageName: IMAGES.postgresql.image,
        // The operator's PDBs: the primary always up, at most one replica down.
        enablePDB: true,
        storage: { size: POSTGRES_STORAGE, storageClass: args.storageClassName },
        affinity: {
            enablePodAntiAffinity: true,
            podAntiAffinityType: "required",
            topologyKey: HOST_KEY,
            nodeSelector: onPool("database"),
        },
        topologySpreadConstraints: zoneSpread({ "cnpg.io/cluster": DATABASE_NAMES.postgresql }),
        // Memory request = limit: PostgreSQL's shared buffers must not be reclaimed under pressure.
        resources: resources(["250m", "1"], ["1Gi", "1Gi"]),
        bootstrap: { initdb: { database: APP_DATABASE, owner: APP_USER, secret: { name: args.credentialsSecret } } },
    };
}

/** The MongoDBCommunity replica set: members, SCRAM user, and the StatefulSet the operator builds. */
export function mongodbSpec(args: { members: number; storageClassName: string; passwordSecret: string }): MongoDBCommunitySpec {
    const podLabels = { app: `${DATABASE_NAMES.mongodb}-svc` }; // the operator's pod label
    const claim = (name: string, size: string) => ({
        metadata: { name },
        spec: { accessModes: ["ReadWriteOnce"], storageClassName: args.storageClassName, resources: { requests: { storage: size } } },
    });
    return {
        type: "ReplicaSet",
        members: args.members,
        version: IMAGES.mongodb.image,
        security: { authentication: { modes: ["SCRAM"] } },
        users: [
            {
                name: APP_USER,
                db: "admin",
                passwordSecretRef: { name: args.passwordSecret, key: "password" },
                roles: [
                    { name: "readWrite", db: APP_DATABASE },
                    { name: "dbAdmin", db: APP_DATABASE },
                ],
                scramCredentialsSecretName: `${DATABASE_NAMES.mongodb}-${APP_USER}-scram`,
            },
        ],
        statefulSet: {
            spec: {
                template: {
                    spec: {
                        nodeSelector: onPool("database"),
                        affinity: onePerNode(podLabels),
                        topologySpreadConstraints: zoneSpread(podLabels),
                        containers: [
                            { name: "mongod", resources: resources(["250m", "1"], ["1Gi", "2Gi"]) },
                            { name: "mongodb-agent", resources: resources(["50m", "500m"], ["128Mi", "512Mi"]) },
                        ],
                    },
                },
                volumeClaimTemplates: [claim("data-volume", MONGODB_STORAGE), claim("logs-volume", MONGODB_LOG_STORAGE)],
            },
        },
    };
}

/** Connection facts of one database, as the core services read them. */
interface Connection {
    host: string;
    port: number;
    username: string;
    database: string;
    uri: (password: string) => string;
}

export class Databases extends pulumi.ComponentResource {
    /** Secret names in the core namespace; keys HOST, PORT, USERNAME, PASSWORD, DATABASE, URI. */
    readonly secrets: { postgresql: string; mongodb: string };
    /** The passwords in them (secret). */
    readonly passwords: { postgresql: pulumi.Output<string>; mongodb: pulumi.Output<string> };
    /** What a workload that connects to each database waits for: its Secret in the core namespace, and the database, ready. */
    readonly ready: DatabaseReady;

    constructor(name: string, args: SystemServiceArgs, opts: SystemServiceOptions) {
        super("aura:system:Databases", name, {}, opts);
        const { profile, namespace, coreNamespace, storageClassName } = args;
        const child = childOptions(this, opts, args.dependsOn);
        const svc = (host: string) => `${host}.${namespace}.svc.cluster.local`;
        // No special characters: the password goes into URIs unescaped.
        const password = (db: string) => new random.RandomPassword(`${name}-${db}-password`, { length: 32, special: false }, { parent: this });

        const coreSecret = (db: keyof typeof DATABASE_SECRET_NAMES, pw: random.RandomPassword, c: Connection): k8s.core.v1.Secret =>
            new k8s.core.v1.Secret(`${name}-${db}-core`, {
                metadata: { name: DATABASE_SECRET_NAMES[db], namespace: coreNamespace },
                type: "Opaque",
                stringData: {
                    HOST: c.host,
                    PORT: String(c.port),
                    USERNAME: c.username,
                    PASSWORD: pw.result,
                    DATABASE: c.database,
                    URI: pulumi.secret(pw.result.apply(c.uri)),
                },
            }, child);

        // PostgreSQL -------------------------------------------------------------------------
        const cnpg = pinnedChart(`${name}-cloudnative-pg`, {
            chart: "cloudnativePg",
            release: "cnpg",
            namespace,
            values: {
                crds: { create: true },
                nodeSelector: onPool("database"),
                resources: resources(["100m", "500m"], ["128Mi", "512Mi"]),
            },
        }, child);
        const pgPassword = password("postgresql");
        const pgCredentialsName = `${DATABASE_NAMES.postgresql}-credentials`;
        const pgCredentials = new k8s.core.v1.Secret(`${name}-postgresql-credentials`, {
            metadata: { name: pgCredentialsName, namespace },
            type: "kubernetes.io/basic-auth",
            stringData: { username: APP_USER, password: pgPassword.result },
        }, child);
        const awaited = { create: DATABASE_READY_TIMEOUT, update: DATABASE_READY_TIMEOUT };
        const postgresql = customResource<PostgresClusterSpec>(`${name}-postgresql`, {
            apiVersion: "postgresql.cnpg.io/v1",
            kind: "Cluster",
            metadata: { name: DATABASE_NAMES.postgresql, namespace, annotations: { "pulumi.com/waitFor": DATABASE_READY.postgresql } },
            spec: postgresSpec({ storageClassName, credentialsSecret: pgCredentialsName }),
        }, { ...child, dependsOn: [...args.dependsOn, cnpg, pgCredentials], customTimeouts: awaited });
        const pgHost = svc(`${DATABASE_NAMES.postgresql}-rw`); // the primary, wherever it runs
        const pgSecret = coreSecret("postgresql", pgPassword, {
            host: pgHost,
            port: 5432,
            username: APP_USER,
            database: APP_DATABASE,
            uri: (pw) => `postgresql://${APP_USER}:${pw}@${pgHost}:5432/${APP_DATABASE}`,
        });

        // MongoDB ----------------------------------------------------------------------------
        const mck = pinnedChart(`${name}-mongodb-kubernetes`, {
            chart: "mongodbKubernetes",
            release: "mongodb-kubernetes",
            namespace,
            values: {
                operator: {
                    nodeSelector: onPool("database"),
                    resources: resources(["100m", "1100m"], ["200Mi", "1Gi"]),
                },
            },
        }, child);
        const members = profile.system.mongodb.replicas;
        const mongoPassword = password("mongodb");
        const mongoPasswordName = `${DATABASE_NAMES.mongodb}-${APP_USER}-password`;
        const mongoPasswordSecret = new k8s.core.v1.Secret(`${name}-mongodb-user`, {
            metadata: { name: mongoPasswordName, namespace },
            type: "Opaque",
            stringData: { password: mongoPassword.result },
        }, child);
        const mongodb = customResource<MongoDBCommunitySpec>(`${name}-mongodb`, {
            apiVersion: "mongodbcommunity.mongodb.com/v1",
            kind: "MongoDBCommunity",
            metadata: { name: DATABASE_NAMES.mongodb, namespace, annotations: { "pulumi.com/waitFor": DATABASE_READY.mongodb } },
            spec: mongodbSpec({ members, storageClassName, passwordSecret: mongoPasswordName }),
        }, { ...child, dependsOn: [...args.dependsOn, mck, mongoPasswordSecret], customTimeouts: awaited });
        // The operator makes no PDB: keep a majority of the replica set up.
        podDisruptionBudget(`${name}-mongodb-pdb`, {
            namespace,
            objectName: DATABASE_NAMES.mongodb,
            matchLabels: { app: `${DATABASE_NAMES.mongodb}-svc` },
            minAvailable: quorum(members),
        }, child);
        const mongoHosts = Array.from({ length: members }, (_, i) => `${DATABASE_NAMES.mongodb}-${i}.${svc(`${DATABASE_NAMES.mongodb}-svc`)}:27017`);
        const mongoSecret = coreSecret("mongodb", mongoPassword, {
            host: svc(`${DATABASE_NAMES.mongodb}-svc`),
            port: 27017,
            username: APP_USER,
            database: APP_DATABASE,
            uri: (pw) => `mongodb://${APP_USER}:${pw}@${mongoHosts.join(",")}/${APP_DATABASE}?replicaSet=${DATABASE_NAMES.mongodb}&authSource=admin`,
        });

        this.secrets = { ...DATABASE_SECRET_NAMES };
        // The databases take connections from aura-system (their operators, the other members,
        // Prometheus) and, on the database port only, from the core services' namespace.
        // CloudNativePG's instance manager port (8000: its status endpoint answers without
        // authentication) and the metrics ports stay inside aura-system. Pod labels:
        // cnpg.io/cluster=<name> (CloudNativePG), app=<name>-svc (the MongoDB operator).
        namespaceOnlyIngress(`${name}-postgresql-ingress`, {
            namespace,
            policyName: `${DATABASE_NAMES.postgresql}-ingress`,
            podLabels: { "cnpg.io/cluster": DATABASE_NAMES.postgresql },
            allowFrom: [{ namespace: coreNamespace, ports: [5432] }],
        }, child);
        namespaceOnlyIngress(`${name}-mongodb-ingress`, {
            namespace,
            policyName: `${DATABASE_NAMES.mongodb}-ingress`,
            podLabels: { app: `${DATABASE_NAMES.mongodb}-svc` },
            allowFrom: [{ namespace: coreNamespace, ports: [27017] }],
        }, child);

        this.passwords = { postgresql: pgPassword.result, mongodb: mongoPassword.result };
        this.ready = { postgresql: [pgSecret, postgresql], mongodb: [mongoSecret, mongodb] };
        this.registerOutputs({ secrets: this.secrets });
    }
}
