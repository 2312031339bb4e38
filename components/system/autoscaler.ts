// The cluster-autoscaler (official chart): one replica on a master, one node group per agent scale
// set with the profile's bounds, Azure credentials from a Secret this program writes, and a pod
// annotation that changes with those credentials so a rotation restarts it; and a disruption budget
// for kubeadm's CoreDNS, so that the autoscaler can empty the nodes it runs on.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PoolInfo } from "../infra/agentPools";
import { pinnedChart } from "./charts";
import { keyedChecksum } from "../checksum";
import { ResolvedFacts, resolveFacts } from "./cloudConfig";
import type { ClusterFacts } from "../infra";
import { CONTROL_PLANE_TOLERATIONS } from "./cloudProvider";
import { PLATFORM_LABELS } from "./namespaces";
import { podDisruptionBudget, resources } from "./workloads";

/** The autoscaler's credentials Secret in kube-system (keys the chart's deployment reads). */
export const AUTOSCALER_SECRET = "cluster-autoscaler-azure";
/** The label the runbook selects the pod by: `kubectl get po -l app=cluster-autoscaler -n kube-system`. */
export const AUTOSCALER_LABEL = { app: "cluster-autoscaler" };

/** One node group: a scale set and its bounds (`--nodes=<min>:<max>:<vmss>`). */
export interface NodeGroup {
    name: string;
    minSize: number;
    maxSize: number;
}

/** A node group per scale set the infra stage built (one per pool, or per pool and zone). */
export function nodeGroups(pools: PoolInfo[]): NodeGroup[] {
    return pools.map((p) => ({ name: p.scaleSetName, minSize: p.minSize, maxSize: p.maxSize }));
}

/** The Secret's keys: those chart 9.51.0's deployment template reads (Azure, service principal). */
const CREDENTIAL_KEYS = ["ClientID", "ClientSecret", "ResourceGroup", "SubscriptionID", "TenantID", "VMType"] as const;

/** The Secret's data. */
export function autoscalerCredentials(f: ResolvedFacts): Record<(typeof CREDENTIAL_KEYS)[number], string> {
    return {
        ClientID: f.clientId,
        ClientSecret: f.clientSecret,
        ResourceGroup: f.resourceGroup,
        SubscriptionID: f.subscriptionId,
        TenantID: f.tenantId,
        VMType: "vmss",
    };
}

/**
 * The cluster-autoscaler release for each Kubernetes minor the installer supports (profiles/
 * versions.ts): the autoscaler is built and tested against the scheduler of its own minor, and the
 * chart's default image is the 1.33 one whatever the cluster runs. The newest patch of each
 * (kubernetes/autoscaler tags cluster-autoscaler-1.<minor>.<patch>).
 */
export const AUTOSCALER_IMAGE_TAGS: Readonly<Record<number, string>> = Object.freeze({
    31: "v1.31.5",
    32: "v1.32.7",
    33: "v1.33.6",
    34: "v1.34.5",
});

/** The autoscaler image tag for a cluster at `kubernetesVersion` (MAJOR.MINOR.PATCH). */
export function autoscalerImageTag(kubernetesVersion: string): string {
    const minor = Number(kubernetesVersion.split(".")[1]);
    const tag = AUTOSCALER_IMAGE_TAGS[minor];
    if (!tag) throw new Error(`no cluster-autoscaler release is pinned for Kubernetes 1.${minor}: add it to AUTOSCALER_IMAGE_TAGS`);
    return tag;
}

/** Values of chart 9.51.0 (charts/cluster-autoscaler/values.yaml). */
export function autoscalerValues(groups: NodeGroup[], credentialsChecksum: pulumi.Input<string>, kubernetesVersion: string): Record<string, unknown> {
    return {
        cloudProvider: "azure",
        image: { tag: autoscalerImageTag(kubernetesVersion) },
        // Deployment `cluster-autoscaler`, as the runbook's pods read (the chart would say azure-cluster-autoscaler).
        fullnameOverride: "cluster-autoscaler",
        azureVMType: "vmss",
        // Read the program's Secret; the chart then renders none of its own.
        secretKeyRefNameOverride: AUTOSCALER_SECRET,
        autoscalingGroups: groups,
        replicaCount: 1,
        nodeSelector: { "node-role.kubernetes.io/control-plane": "" },
        tolerations: CONTROL_PLANE_TOLERATIONS,
        podLabels: AUTOSCALER_LABEL,
        // The chart sets none (values.yaml: resources: {}).
        resources: resources(["100m", "1"], ["300Mi", "1Gi"]),
        podAnnotations: { "checksum/azure-credentials": credentialsChecksum },
        extraArgs: {
            logtostderr: true,
            stderrthreshold: "info",
            v: 4,
            // The database and management pools may span zones: keep their node groups level.
            "balance-similar-node-groups": true,
        },
    };
}

export interface AutoscalerArgs {
    /** The cluster's Azure facts and service principal. */
    facts: ClusterFacts;
    /** The agent scale sets (infra stage). */
    pools: PoolInfo[];
    /** The cluster's Kubernetes version (profile): the autoscaler release of the same minor runs. */
    kubernetesVersion: string;
    /** Key of the credentials' checksum (components/checksum.ts). */
    checksumKey: pulumi.Input<string>;
    /** What the objects wait for (foundation). */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

export class ClusterAutoscaler extends pulumi.ComponentResource {
    readonly secret: k8s.core.v1.Secret;
    readonly chart: k8s.helm.v4.Chart;

    constructor(name: string, args: AutoscalerArgs, opts: pulumi.ComponentResourceOptions & { provider: k8s.Provider }) {
        super("aura:system:ClusterAutoscaler", name, {}, opts);
        const child = { parent: this, provider: opts.provider };
        const credentials = pulumi.secret(resolveFacts(args.facts).apply(autoscalerCredentials));
        this.secret = new k8s.core.v1.Secret(`${name}-azure`, {
            metadata: {
                name: AUTOSCALER_SECRET,
                namespace: "kube-system",
                labels: { ...AUTOSCALER_LABEL, ...PLATFORM_LABELS },
            },
            type: "Opaque",
            // One secret leaf per key, so the plan (and the schema check) sees the Secret's shape.
            stringData: Object.fromEntries(
                CREDENTIAL_KEYS.map((k) => [k, credentials.apply((c) => c[k])]),
            ),
        }, { ...child, dependsOn: args.dependsOn });
        this.chart = pinnedChart(`${name}-chart`, {
            chart: "clusterAutoscaler",
            namespace: "kube-system",
            values: autoscalerValues(nodeGroups(args.pools), keyedChecksum(args.checksumKey, credentials), args.kubernetesVersion),
        }, { ...child, dependsOn: [...args.dependsOn, this.secret] });
        // A kube-system pod without a disruption budget holds its node for an hour before the
        // autoscaler may empty it (--blocking-system-pod-distruption-timeout). kubeadm's CoreDNS
        // (two replicas, on any node) comes without one; the charts' kube-system pods either have
        // one or stay on the masters.
        podDisruptionBudget(`${name}-coredns`, {
            namespace: "kube-system",
            objectName: "coredns",
            matchLabels: { "k8s-app": "kube-dns" },
            minAvailable: 1,
        }, { ...child, dependsOn: args.dependsOn });
        this.registerOutputs({});
    }
}
