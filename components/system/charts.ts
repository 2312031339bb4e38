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
        why: "The official chart; its default image is cluster-autoscaler 1.33, the cluster's minor version",
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
} as const satisfies Record<string, ChartPin>;

export type ChartKey = keyof typeof CHARTS;

export interface PinnedChartArgs {
    /** Which pinned chart. */
    chart: ChartKey;
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
        name: pin.chart,
        chart: pin.chart,
        version: pin.version,
        repositoryOpts: { repo: pin.repo },
        namespace: args.namespace,
        values: args.values,
    }, opts);
}
