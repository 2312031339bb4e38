// The operators' custom resources the system services create, typed by the CRD fields the program
// uses, and the fields each CRD requires. Read from the CRDs of the pinned versions (CHARTS):
// ECK 3.5.0 (all-crds.yaml), CloudNativePG chart 0.29.0 (operator 1.30.0), mongodb-kubernetes
// 1.10.0 (mongodbcommunity.mongodb.com_mongodbcommunity.yaml), prometheus-operator CRDs of
// kube-prometheus-stack 88.5.3 (crd-podmonitors.yaml). Under mocks nothing checks a custom
// resource against its CRD, so tests/system-services.test.ts checks REQUIRED_FIELDS on the plan.
import type { Resources } from "./workloads";

type Labels = Record<string, string>;

/** A Kubernetes label selector (matchLabels only). */
export interface LabelSelector {
    matchLabels?: Labels;
    matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

/** A PersistentVolumeClaim template as the operators embed it. */
export interface VolumeClaimTemplate {
    metadata: { name: string };
    spec: {
        accessModes: string[];
        storageClassName: string;
        resources: { requests: { storage: string } };
    };
}

/** The pod template subset the program sets inside operator resources. */
export interface PodTemplate {
    metadata?: { labels?: Labels };
    spec: {
        nodeSelector?: Labels;
        containers?: { name: string; resources: Resources }[];
        initContainers?: { name: string; resources: Resources }[];
        affinity?: unknown;
        topologySpreadConstraints?: unknown[];
    };
}

// ---------------------------------------------------------------------------------------------
// ECK: elasticsearch.k8s.elastic.co/v1 Elasticsearch, kibana.k8s.elastic.co/v1 Kibana

/** Elasticsearch spec (ECK 3.5.0). */
export interface ElasticsearchSpec {
    /** Stack version. Required. */
    version: string;
    /** Groups of nodes sharing a configuration. Required. */
    nodeSets: {
        /** Required; the StatefulSet is `<cluster>-es-<name>`. */
        name: string;
        count: number;
        config?: Record<string, unknown>;
        podTemplate?: PodTemplate;
        /** The data volume must be named `elasticsearch-data`. */
        volumeClaimTemplates?: VolumeClaimTemplate[];
        /** Present = zone-aware scheduling and shard allocation awareness (topology.kubernetes.io/zone). */
        zoneAwareness?: { topologyKey?: string; zones?: string[] };
    }[];
    /** Absent = ECK's default PDB (one disruption at a time, and none unless the cluster is green). */
    podDisruptionBudget?: Record<string, unknown>;
    /** Roles (Secrets with `roles.yml`) and file-realm users (basic-auth Secrets: username, password, roles). */
    auth?: { roles?: { secretName: string }[]; fileRealm?: { secretName: string }[] };
}

/** Kibana spec (ECK 3.5.0). */
export interface KibanaSpec {
    /** Required. */
    version: string;
    count?: number;
    elasticsearchRef?: { name: string; namespace?: string };
    podTemplate?: PodTemplate;
}

// ---------------------------------------------------------------------------------------------
// CloudNativePG: postgresql.cnpg.io/v1 Cluster

/** Cluster spec (CloudNativePG 1.30.0). */
export interface PostgresClusterSpec {
    /** Required: one primary plus streaming replicas. */
    instances: number;
    imageName?: string;
    /** Default true: PDBs keep the primary and all but one replica up. */
    enablePDB?: boolean;
    storage?: { size: string; storageClass: string };
    affinity?: {
        enablePodAntiAffinity?: boolean;
        podAntiAffinityType?: "required" | "preferred";
        topologyKey?: string;
        nodeSelector?: Labels;
    };
    topologySpreadConstraints?: unknown[];
    resources?: Resources;
    bootstrap?: {
        initdb?: {
            database?: string;
            owner?: string;
            /** A kubernetes.io/basic-auth Secret with the owner's credentials. */
            secret?: { name: string };
        };
    };
}

// ---------------------------------------------------------------------------------------------
// MongoDB Controllers for Kubernetes: mongodbcommunity.mongodb.com/v1 MongoDBCommunity

/** MongoDBCommunity spec (mongodb-kubernetes 1.10.0). */
export interface MongoDBCommunitySpec {
    /** Required; the only value is ReplicaSet. */
    type: "ReplicaSet";
    members: number;
    version: string;
    /** Required. */
    security: { authentication: { modes: ("SCRAM" | "SCRAM-SHA-1" | "SCRAM-SHA-256" | "X509")[] } };
    /** Required. */
    users: {
        name: string;
        db?: string;
        passwordSecretRef?: { name: string; key?: string };
        roles: { name: string; db: string }[];
        scramCredentialsSecretName?: string;
        connectionStringSecretName?: string;
    }[];
    /** Merged into the StatefulSet the operator builds (named like the resource). */
    statefulSet?: { spec: { template?: PodTemplate; volumeClaimTemplates?: VolumeClaimTemplate[] } };
    additionalMongodConfig?: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// prometheus-operator: monitoring.coreos.com/v1 PodMonitor

/** PodMonitor spec (prometheus-operator of kube-prometheus-stack 88.5.3). */
export interface PodMonitorSpec {
    /** Required. */
    selector: LabelSelector;
    namespaceSelector?: { any?: boolean; matchNames?: string[] };
    podMetricsEndpoints?: { port?: string; path?: string; interval?: string }[];
    podTargetLabels?: string[];
}

/**
 * Required fields by kind, as paths into `spec` (`a[].b`: field b of every item of list a), from
 * each CRD's `required` lists at every level the program fills.
 */
export const REQUIRED_FIELDS: Record<string, { apiVersion: string; required: string[] }> = {
    Elasticsearch: { apiVersion: "elasticsearch.k8s.elastic.co/v1", required: ["version", "nodeSets", "nodeSets[].name"] },
    Kibana: { apiVersion: "kibana.k8s.elastic.co/v1", required: ["version"] },
    Cluster: { apiVersion: "postgresql.cnpg.io/v1", required: ["instances", "bootstrap.initdb.secret.name"] },
    MongoDBCommunity: {
        apiVersion: "mongodbcommunity.mongodb.com/v1",
        required: [
            "type",
            "security",
            "security.authentication.modes",
            "users",
            "users[].name",
            "users[].roles",
            "users[].roles[].name",
            "users[].roles[].db",
            "users[].passwordSecretRef.name",
            "statefulSet.spec",
        ],
    },
    PodMonitor: { apiVersion: "monitoring.coreos.com/v1", required: ["selector"] },
};

/** The required paths missing from `spec` (an empty list when all are present). */
export function missingRequired(kind: string, spec: unknown): string[] {
    const entry = REQUIRED_FIELDS[kind];
    if (!entry) return [`no CRD fields known for kind ${kind}`];
    return entry.required.filter((path) => !present(spec, path.split(".")));
}

function present(value: unknown, parts: string[]): boolean {
    if (parts.length === 0) return value !== undefined && value !== null;
    const [head, ...rest] = parts;
    const list = head.endsWith("[]");
    const key = list ? head.slice(0, -2) : head;
    const next = (value as Record<string, unknown> | undefined)?.[key];
    if (!list) return present(next, rest);
    return Array.isArray(next) && next.length > 0 && next.every((item) => present(item, rest));
}
