// The CNI: Cilium from its upstream chart. Nodes stay NotReady until it runs, so it is the first
// chart. A VXLAN overlay carries pod traffic between nodes (Azure's VNet never sees pod addresses,
// so no route table is needed), pods get addresses from the profile's pod_cidr, and Kubernetes
// NetworkPolicy is enforced. kubeadm's kube-proxy stays; Cilium does not replace it.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { pinnedChart } from "./charts";

/** Per-node pod range size carved out of pod_cidr (a /24: 254 pods, above the kubelet's 110). */
export const NODE_POD_MASK_SIZE = 24;

export interface CniArgs {
    /** The profile's pod_cidr (infrastructure.network.pod_cidr). */
    podCidr: string;
    /** What the chart waits for (the API gate). */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** How long `pulumi up` waits for a Cilium DaemonSet's rollout (pulumi-kubernetes' annotation). */
const DAEMONSET_ROLLOUT_TIMEOUT = { "pulumi.com/timeoutSeconds": "3600" };

/** Cilium values: overlay over pod_cidr, policy enforcement on. Keys of chart 1.19.6's values.yaml. */
export function ciliumValues(podCidr: string): Record<string, unknown> {
    return {
        routingMode: "tunnel",
        tunnelProtocol: "vxlan",
        ipam: {
            mode: "cluster-pool",
            operator: { clusterPoolIPv4PodCIDRList: [podCidr], clusterPoolIPv4MaskSize: NODE_POD_MASK_SIZE },
        },
        ipv4: { enabled: true },
        ipv6: { enabled: false },
        kubeProxyReplacement: "false",
        // Traffic from pods to the VNet and the internet leaves with the node's address.
        enableIPv4Masquerade: true,
        // Pod traffic passes the host's netfilter, where the nodes' nftables rule drops pods' packets
        // to the instance metadata endpoint (infra cloudinit, pod-imds-block.nft). Cilium's eBPF host
        // routing would bypass it; today's settings fall back to legacy routing anyway: pinned, so a
        // later change to masquerading or kube-proxy replacement cannot open the endpoint unnoticed.
        bpf: { hostLegacyRouting: true },
        // NetworkPolicy (and CiliumNetworkPolicy) is enforced for every pod a policy selects.
        policyEnforcementMode: "default",
        // Requests for every container (the chart sets none but the CNI installer's): the scheduler
        // counts them, and the policy pack's container-cpu-requests sees the rendered objects. No
        // CPU limit on the datapath (throttling drops packets) and no memory limit that could kill
        // the node's networking.
        resources: { requests: { cpu: "100m", memory: "512Mi" } },
        initResources: { requests: { cpu: "100m", memory: "64Mi" } },
        envoy: { resources: { requests: { cpu: "50m", memory: "64Mi" } }, annotations: DAEMONSET_ROLLOUT_TIMEOUT },
        // On the agent's top-level objects (the DaemonSet's own metadata, not its pods: no extra roll):
        // a roll goes two nodes at a time, which outlasts the provider's default 10 minutes on a big cluster.
        annotations: DAEMONSET_ROLLOUT_TIMEOUT,
        // The operator's two replicas may run on agents: with a budget, the autoscaler can move
        // them when it empties a node, one at a time.
        operator: { podDisruptionBudget: { enabled: true, maxUnavailable: 1 }, resources: { requests: { cpu: "50m", memory: "128Mi" } } },
    };
}

export class Cni extends pulumi.ComponentResource {
    readonly chart: k8s.helm.v4.Chart;

    constructor(name: string, args: CniArgs, opts: pulumi.ComponentResourceOptions & { provider: k8s.Provider }) {
        super("aura:system:Cni", name, {}, opts);
        this.chart = pinnedChart(`${name}-cilium`, { chart: "cilium", namespace: "kube-system", values: ciliumValues(args.podCidr) }, {
            parent: this,
            provider: opts.provider,
            dependsOn: args.dependsOn,
        });
        this.registerOutputs({});
    }
}
