// cloud-provider-azure: the cloud-controller-manager (load balancers, node lifecycle) and the
// cloud-node-manager DaemonSet (node addresses and zones from the instance metadata service, on the
// host network; it initialises each node and clears the `uninitialized` taint kubelets start with
// under `cloud-provider=external` — the chart runs the controller manager without that controller). The controller manager reads the cloud config Secret, never a host file, and
// reloads it when it changes: a service principal rotation needs no restart.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { pinnedChart } from "./charts";
import { CLOUD_CONFIG_SECRET } from "./cloudConfig";

export interface CloudProviderArgs {
    /** The cluster name: prefix of the load balancers the controller manager creates. */
    clusterName: string;
    /** The profile's pod_cidr. */
    podCidr: string;
    /** What the chart waits for (gate, cloud config Secret, CNI). */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** Taints a control-plane pod must tolerate on a new cluster. */
export const CONTROL_PLANE_TOLERATIONS = [
    { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
    { key: "node-role.kubernetes.io/master", operator: "Exists", effect: "NoSchedule" },
];

/** Values of chart 1.36.0 (helm/cloud-provider-azure/values.yaml). */
export function cloudProviderValues(args: { clusterName: string; podCidr: string }): Record<string, unknown> {
    return {
        infra: { clusterName: args.clusterName },
        cloudControllerManager: {
            // An empty --cloud-config plus dynamic reloading makes the manager read (and watch) the Secret.
            cloudConfig: "",
            cloudConfigSecretName: CLOUD_CONFIG_SECRET.name,
            enableDynamicReloading: "true",
            // kube-controller-manager (kubeadm's podSubnet) allocates node CIDRs; the overlay needs no routes.
            allocateNodeCidrs: "false",
            configureCloudRoutes: "false",
            clusterCIDR: args.podCidr,
            replicas: 1,
            // The chart's tolerations plus `uninitialized`: a new master carries it until its cloud-node-manager pod runs.
            tolerations: [
                ...CONTROL_PLANE_TOLERATIONS,
                { key: "node-role.kubernetes.io/etcd", operator: "Exists", effect: "NoExecute" },
                { key: "node.cloudprovider.kubernetes.io/uninitialized", operator: "Exists", effect: "NoSchedule" },
            ],
            nodeSelector: { "node-role.kubernetes.io/control-plane": "" },
        },
        cloudNodeManager: {
            useInstanceMetadata: "true",
        },
    };
}

export class CloudProvider extends pulumi.ComponentResource {
    readonly chart: k8s.helm.v4.Chart;

    constructor(name: string, args: CloudProviderArgs, opts: pulumi.ComponentResourceOptions & { provider: k8s.Provider }) {
        super("aura:system:CloudProvider", name, {}, opts);
        this.chart = pinnedChart(`${name}-azure`, {
            chart: "cloudProviderAzure",
            namespace: "kube-system",
            values: cloudProviderValues(args),
        }, { parent: this, provider: opts.provider, dependsOn: args.dependsOn });
        this.registerOutputs({});
    }
}
