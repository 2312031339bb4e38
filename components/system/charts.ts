// Every third-party Helm chart the platform installs, pinned in one place with the reason it was
// chosen. Upgrading one is a one-line change here, reviewed in the plan diff of a pull request.
// No Bitnami charts: since August 2025 the Bitnami catalog publishes no free versioned images.

import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

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
    cilium: {
        chart: "cilium",
        version: "1.19.6",
        repo: "https://helm.cilium.io/",
        why: "CNI: VXLAN overlay over the VNet with its own pod range, and Kubernetes NetworkPolicy enforcement",
    },
    cloudProviderAzure: {
        chart: "cloud-provider-azure",
        version: "1.36.0",
        repo: "https://raw.githubusercontent.com/kubernetes-sigs/cloud-provider-azure/master/helm/repo",
        why: "External Azure cloud provider (cloud-controller-manager + cloud-node-manager); picks the image matching the cluster's minor version",
    },
    azureDiskCsi: {
        chart: "azuredisk-csi-driver",
        version: "1.34.5",
        repo: "https://raw.githubusercontent.com/kubernetes-sigs/azuredisk-csi-driver/master/charts",
        why: "Persistent volumes on Azure Managed Disks; reads the cloud config Secret",
    },
    clusterAutoscaler: {
        chart: "cluster-autoscaler",
        version: "9.51.0",
        repo: "https://kubernetes.github.io/autoscaler",
        why: "The official chart; it runs the autoscaler release of the cluster's minor version (AUTOSCALER_IMAGE_TAGS in autoscaler.ts)",
    },
    metricsServer: {
        chart: "metrics-server",
        version: "3.13.1",
        repo: "https://kubernetes-sigs.github.io/metrics-server/",
        why: "Resource metrics for HPAs and kubectl top; verifies kubelet serving certificates",
    },
    kubeletCsrApprover: {
        chart: "kubelet-csr-approver",
        version: "1.2.14",
        repo: "https://postfinance.github.io/kubelet-csr-approver",
        why: "Approves kubelet serving-certificate requests only for the cluster's node names and subnets (serverTLSBootstrap)",
    },
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

export interface PinnedChartArgs {
    /** Which pinned chart. */
    chart: ChartKey;
    /** Helm release name (default: the chart's name); the charts name their objects after it. */
    release?: string;
    /** Namespace the release goes to. */
    namespace: pulumi.Input<string>;
    /** Chart values (only what differs from the chart's defaults). */
    values: pulumi.Inputs;
}

/**
 * A Helm v4 Chart from the pinned list. Its opts must carry the provider and a `dependsOn` that
 * includes the API gate: a chart's objects do not inherit its parent's dependencies.
 */
export function pinnedChart(
    name: string,
    args: PinnedChartArgs,
    opts: pulumi.ComponentResourceOptions & { provider: k8s.Provider; dependsOn: pulumi.Input<pulumi.Resource>[] },
): k8s.helm.v4.Chart {
    const pin: ChartPin = CHARTS[args.chart];
    return new k8s.helm.v4.Chart(name, {
        // The release is named after the chart, so its objects read `cluster-autoscaler`, `metrics-server`…
        name: args.release ?? pin.chart,
        chart: pin.chart,
        version: pin.version,
        repositoryOpts: { repo: pin.repo },
        namespace: args.namespace,
        values: args.values,
    }, opts);
}

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
