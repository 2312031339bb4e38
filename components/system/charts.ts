// Every third-party Helm chart the platform installs, pinned in one place with the reason it was
// chosen. Upgrading one is a one-line change here, reviewed in the plan diff of a pull request.
// No Bitnami charts: since August 2025 the Bitnami catalog publishes no free versioned images.

/** One pinned upstream chart. */
export interface ChartPin {
    /** Chart name in its repository. */
    chart: string;
    /** Exact chart version (never a range): the plan shows it, a change is a reviewed diff. */
    version: string;
    /** The chart repository URL (or an OCI reference in `chart`, with `repo` empty). */
    repo: string;
    /** Why this chart, in one line. */
    why: string;
}

/** The pinned charts by the key the stages use. */
export const CHARTS = {
    kubePrometheusStack: {
        chart: "kube-prometheus-stack",
        version: "88.5.3",
        repo: "https://prometheus-community.github.io/helm-charts",
        why: "the upstream Prometheus Operator bundle: Prometheus, Alertmanager, node-exporter, kube-state-metrics, Grafana with the node and pod dashboards",
    },
    fluentBitCollector: {
        chart: "fluent-bit-collector",
        version: "1.1.1",
        repo: "https://fluent.github.io/helm-charts",
        why: "fluent's own chart for Fluent Bit as a per-node DaemonSet that tails container logs with Kubernetes metadata",
    },
    fluentBitAggregator: {
        chart: "fluent-bit-aggregator",
        version: "1.1.1",
        repo: "https://fluent.github.io/helm-charts",
        why: "fluent's own chart for Fluent Bit as an aggregating StatefulSet with a persistent buffer (the runbook's fluent-bit-aggregator)",
    },
    eckOperator: {
        chart: "eck-operator",
        version: "3.5.0",
        repo: "https://helm.elastic.co",
        why: "Elastic's operator (ECK) runs Elasticsearch and Kibana from custom resources, with rolling upgrades and its own PDB",
    },
    cloudnativePg: {
        chart: "cloudnative-pg",
        version: "0.29.0",
        repo: "https://cloudnative-pg.github.io/charts",
        why: "CloudNativePG (CNCF) runs PostgreSQL with streaming replicas, automated failover and PDBs from a Cluster resource",
    },
    mongodbKubernetes: {
        chart: "mongodb-kubernetes",
        version: "1.10.0",
        repo: "https://mongodb.github.io/helm-charts",
        why: "MongoDB's maintained operator (successor of the archived community operator); its MongoDBCommunity resource runs a replica set",
    },
} as const satisfies Record<string, ChartPin>;

export type ChartKey = keyof typeof CHARTS;

/** One pinned image (or product version) an operator runs that its chart does not fix. */
export interface ImagePin {
    /** Image reference or the product version the operator's resource takes. */
    image: string;
    /** Why this one, in one line. */
    why: string;
}

/** Images the operators' custom resources name; every other image is fixed by its chart version. */
export const IMAGES = {
    elasticStack: {
        image: "9.4.3",
        why: "Elasticsearch and Kibana version (ECK pulls docker.elastic.co images of it); the version ECK 3.5.0's samples use",
    },
    postgresql: {
        image: "ghcr.io/cloudnative-pg/postgresql:18.4-system-trixie",
        why: "the operand image CloudNativePG 1.30.0 defaults to, pinned so an operator upgrade does not move PostgreSQL",
    },
    mongodb: {
        image: "8.0.12",
        why: "MongoDB 8.0 (long-term support line); the operator runs quay.io/mongodb/mongodb-community-server of this version",
    },
} as const satisfies Record<string, ImagePin>;
