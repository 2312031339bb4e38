// What core services and provisioning jobs share: labels, placement, default resources, and their
// configuration — `env` in a ConfigMap, `secret_env` in a Secret filled from stack secrets, database
// credentials from the system stage's Secrets — with the checksums that roll pods when it changes.
import * as crypto from "crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Resources } from "../../profiles/schema";
import { keyedChecksum } from "../checksum";
import { secretMissingError } from "./secrets";

/** Core workloads run on the `common` pool (the infra stage labels its nodes agentpool=common). */
export const NODE_SELECTOR = { agentpool: "common" };

/**
 * Pod-level settings every core workload shares. The core namespace enforces Pod Security `baseline`
 * and warns at `restricted` (components/system/namespaces.ts); these meet what `restricted` asks
 * without knowing the images' users (runAsNonRoot and dropping all capabilities could break an image
 * that starts as root, such as nginx's). No core workload calls the Kubernetes API: no token.
 */
export const POD_DEFAULTS = {
    nodeSelector: NODE_SELECTOR,
    automountServiceAccountToken: false,
    securityContext: { seccompProfile: { type: "RuntimeDefault" } },
} satisfies Partial<k8s.types.input.core.v1.PodSpec>;

/** Container-level settings every core container shares (see POD_DEFAULTS). */
export const CONTAINER_SECURITY: k8s.types.input.core.v1.SecurityContext = { allowPrivilegeEscalation: false };

/** The seed's figures for a core service container (kubectl describe node of a common node). */
export const DEFAULT_RESOURCES: Resources = {
    requests: { cpu: "100m", memory: "256Mi" },
    limits: { cpu: "1", memory: "512Mi" },
};
/** Services the seed runs with other figures. */
const DEFAULT_RESOURCES_BY_NAME: Record<string, Resources> = {
    nginx: { requests: { cpu: "600m", memory: "768Mi" }, limits: { cpu: "2", memory: "1Gi" } },
};

/** Requests and limits of a workload: the profile's, else the seed's. Every container gets a CPU request (the HPA divides by it). */
export function resourcesFor(name: string, fromProfile: Resources | undefined): Resources {
    return fromProfile ?? DEFAULT_RESOURCES_BY_NAME[name] ?? DEFAULT_RESOURCES;
}

/** Labels of a workload's objects and pods; `app=<name>` is what the runbook's `kubectl -l app=<name>` selects. */
export function labelsFor(name: string): Record<string, string> {
    return {
        app: name,
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/part-of": "aura-platform",
        "app.kubernetes.io/managed-by": "pulumi",
    };
}

/** Names of the system stage's database Secrets in the core namespace (keys HOST, PORT, USERNAME, PASSWORD, DATABASE, URI). */
export interface DatabaseSecrets {
    postgresql: string;
    mongodb: string;
}
/** What a workload that connects to each database depends on: its credential Secret and the database (awaited ready). */
export type DatabaseReady = Record<keyof DatabaseSecrets, pulumi.Resource[]>;
/** Each database's password (secret), as the system stage made it: what a workload's pods are fingerprinted with. */
export type DatabasePasswords = Record<keyof DatabaseSecrets, pulumi.Output<string>>;
/** Prefix of each database's variables: POSTGRESQL_HOST, MONGODB_URI, … */
export const DATABASE_ENV_PREFIX: Record<keyof DatabaseSecrets, string> = { postgresql: "POSTGRESQL_", mongodb: "MONGODB_" };

/** What every core workload (service or job) takes besides its own profile entry. */
export interface WorkloadInputs {
    /** The core namespace. */
    namespace: pulumi.Input<string>;
    /** Container image, pinned by tag or digest. */
    image: string;
    /** Stack secrets by name (those `secret_env` names). */
    secrets: Record<string, pulumi.Output<string>>;
    /** The system stage's database Secrets. */
    databaseSecrets: DatabaseSecrets;
    /** Their passwords: a new one rolls the pods that read it. */
    databasePasswords: DatabasePasswords;
    /** HMAC key for the secret checksum (secret). */
    checksumKey: pulumi.Output<string>;
}

export interface WorkloadConfigArgs {
    /** Kubernetes name of the service or job; its ConfigMap and Secret are `<workload>-env` and `<workload>-secret-env`. */
    workload: string;
    /** Profile key path of the workload, for messages (`core.services.aura-bot`). */
    profilePath: string;
    /** Namespace of the workload. */
    namespace: pulumi.Input<string>;
    /** Plain variables. */
    env: Record<string, string>;
    /** Secret variables: variable → stack secret name. */
    secretEnv: Record<string, string>;
    /** Databases whose credentials the workload receives. */
    databases: readonly (keyof DatabaseSecrets)[];
    /** Stack secrets by name (`aura:secrets.<name>`). */
    secrets: Record<string, pulumi.Output<string>>;
    /** The system stage's database Secrets. */
    databaseSecrets: DatabaseSecrets;
    /** Their passwords: a new one rolls the pods that read it. */
    databasePasswords: DatabasePasswords;
    /** Key of the HMAC that fingerprints secret values (secret). */
    checksumKey: pulumi.Output<string>;
    /** What the ConfigMap and Secret wait for (the cluster gate, the namespace). */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** A workload's configuration, ready for a container spec. */
export interface WorkloadConfig {
    /** The container's envFrom: ConfigMap, Secret, database Secrets with their prefixes. */
    envFrom: k8s.types.input.core.v1.EnvFromSource[];
    /** Fingerprint of everything in envFrom; as pod annotations, a change rolls the pods. */
    checksums: pulumi.Output<Record<string, string>>;
    /** The ConfigMap and Secret created (for dependsOn). */
    objects: pulumi.Resource[];
}

/**
 * Creates the ConfigMap and Secret of a workload (only those it needs) and returns its envFrom.
 * The Secret's values stay Pulumi secrets; the checksum of secret values is an HMAC under a secret
 * key, so the annotation (readable by anyone who may read Deployments) reveals nothing about them.
 */
export function workloadConfig(
    resourceName: string,
    args: WorkloadConfigArgs,
    opts: { parent: pulumi.Resource; provider: pulumi.ProviderResource },
): WorkloadConfig {
    const labels = labelsFor(args.workload);
    const childOpts = { ...opts, dependsOn: args.dependsOn };
    const envFrom: k8s.types.input.core.v1.EnvFromSource[] = [];
    const objects: pulumi.Resource[] = [];
    const checksums: Record<string, pulumi.Input<string>> = {};

    const env = sortedEntries(args.env);
    if (env.length) {
        const name = `${args.workload}-env`;
        objects.push(
            new k8s.core.v1.ConfigMap(`${resourceName}-env`, {
                metadata: { name, namespace: args.namespace, labels },
                data: Object.fromEntries(env),
            }, childOpts),
        );
        envFrom.push({ configMapRef: { name } });
        checksums["checksum/config"] = sha256(JSON.stringify(env));
    }

    const secretEnv = sortedEntries(args.secretEnv);
    if (secretEnv.length) {
        const values = secretEnv.map(([variable, secret]) => {
            const value = args.secrets[secret];
            if (value === undefined) throw secretMissingError([{ path: `${args.profilePath}.secret_env.${variable}`, variable, secret }], pulumi.getStack());
            return value;
        });
        const name = `${args.workload}-secret-env`;
        objects.push(
            new k8s.core.v1.Secret(`${resourceName}-secret-env`, {
                metadata: { name, namespace: args.namespace, labels },
                type: "Opaque",
                stringData: pulumi.secret(pulumi.all(values).apply((vs) => Object.fromEntries(secretEnv.map(([variable], i) => [variable, vs[i]])))),
            }, childOpts),
        );
        envFrom.push({ secretRef: { name } });
        // The HMAC reveals nothing without its key, so it may be shown (and diffed) in plain text.
        checksums["checksum/secret"] = keyedChecksum(
            args.checksumKey,
            pulumi.all(values).apply((vs) => secretEnv.map(([variable, secret], i) => [variable, secret, vs[i]])),
        );
    }

    for (const db of args.databases) {
        envFrom.push({ secretRef: { name: args.databaseSecrets[db] }, prefix: DATABASE_ENV_PREFIX[db] });
    }
    // Variables from a Secret are read when a container starts: a new database password must roll
    // the pods that read it, as a new stack secret does (the same keyed fingerprint).
    if (args.databases.length) {
        const dbs = [...args.databases].sort();
        checksums["checksum/databases"] = keyedChecksum(
            args.checksumKey,
            pulumi.all(dbs.map((db) => args.databasePasswords[db])).apply((passwords) => dbs.map((db, i) => [db, passwords[i]])),
        );
    }

    return { envFrom, checksums: pulumi.output(checksums), objects };
}

/** Hex SHA-256 of `text`. */
export function sha256(text: string): string {
    return crypto.createHash("sha256").update(text).digest("hex");
}

function sortedEntries(record: Record<string, string>): [string, string][] {
    return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
