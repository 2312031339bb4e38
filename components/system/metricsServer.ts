// metrics-server (HPAs, `kubectl top nodes`) with verifiable kubelet serving certificates: kubelets
// request their serving certificate from the cluster CA (KubeletConfiguration serverTLSBootstrap,
// components/infra/cloudinit.ts), kubelet-csr-approver approves only requests from the cluster's
// node names and subnets, and metrics-server verifies kubelets against the cluster CA (no
// --kubelet-insecure-tls).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { masterName } from "../infra/names";
import { pinnedChart } from "./charts";
import { CONTROL_PLANE_TOLERATIONS } from "./cloudProvider";
import { HOST_KEY, zoneSpread } from "./workloads";

export interface MetricsServerArgs {
    /** Environment name: node names derive from it. */
    environment: string;
    /** The masters' and agents' subnets: the only addresses a serving certificate may name. */
    nodeSubnets: string[];
    /** What the objects wait for (foundation). */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

/**
 * Node names a kubelet serving certificate may be for: the masters (`aura-<env>-master-<n>`) and the
 * scale set instances (`<env>-<pool>-<6 characters>`, components/infra/names.ts).
 */
export function nodeNameRegex(environment: string): string {
    const master = masterName(environment, 0).replace(/0$/, "[0-9]+");
    return `^(${master}|${environment}-[a-z0-9-]+)$`;
}

/** Values of kubelet-csr-approver chart 1.2.14. */
export function csrApproverValues(args: { environment: string; nodeSubnets: string[] }): Record<string, unknown> {
    return {
        providerRegex: nodeNameRegex(args.environment),
        providerIpPrefixes: args.nodeSubnets,
        // The node name and the subnet are checked; the Azure host names need the nodes' DNS suffix,
        // which pods do not search.
        bypassDnsResolution: true,
        replicas: 2,
        // On the masters: on an agent, a kube-system pod without a disruption budget would hold
        // the node against scale-down.
        nodeSelector: { "node-role.kubernetes.io/control-plane": "" },
        tolerations: CONTROL_PLANE_TOLERATIONS,
    };
}

/** The chart's selector labels (`metrics-server.selectorLabels`) for a release named after the chart. */
export const METRICS_SERVER_LABELS = { "app.kubernetes.io/name": "metrics-server", "app.kubernetes.io/instance": "metrics-server" };

/**
 * Values of metrics-server chart 3.13.1: the chart's defaults verify kubelet certificates. The two
 * replicas prefer different nodes and zones, so one node's loss does not stop every HPA; a
 * preference, not a rule, so a one-node pool does not scale up for a second copy.
 */
export function metricsServerValues(): Record<string, unknown> {
    return {
        replicas: 2,
        podDisruptionBudget: { enabled: true, maxUnavailable: 1 },
        topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: HOST_KEY, whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: METRICS_SERVER_LABELS } },
            ...zoneSpread(METRICS_SERVER_LABELS),
        ],
    };
}

export class MetricsServer extends pulumi.ComponentResource {
    readonly approver: k8s.helm.v4.Chart;
    readonly chart: k8s.helm.v4.Chart;

    constructor(name: string, args: MetricsServerArgs, opts: pulumi.ComponentResourceOptions & { provider: k8s.Provider }) {
        super("aura:system:MetricsServer", name, {}, opts);
        const child = { parent: this, provider: opts.provider };
        this.approver = pinnedChart(`${name}-csr-approver`, {
            chart: "kubeletCsrApprover",
            namespace: "kube-system",
            values: csrApproverValues(args),
        }, { ...child, dependsOn: args.dependsOn });
        // metrics-server is ready only once it has scraped kubelets, which needs approved certificates.
        this.chart = pinnedChart(`${name}-chart`, {
            chart: "metricsServer",
            namespace: "kube-system",
            values: metricsServerValues(),
        }, { ...child, dependsOn: [...args.dependsOn, this.approver] });
        this.registerOutputs({});
    }
}
