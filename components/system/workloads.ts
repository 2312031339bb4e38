// What the system services (monitoring, logging, databases) share: their component arguments, where
// their pods run (node pools, tolerations, zone spread), resource figures, operator custom resources
// and the PodDisruptionBudgets the program makes itself. Charts come from charts.ts (pinnedChart).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Profile } from "../../profiles";

/** Arguments every system-service component takes (see K8S_CONTRACT: "System services"). */
export interface SystemServiceArgs {
    /** The validated deployment profile (replica counts under `system`). */
    profile: Profile;
    /** Namespace of the system services, `aura-system`. */
    namespace: string;
    /** Namespace of the core services, `aura-<environment>`. */
    coreNamespace: string;
    /** The default StorageClass (Azure Disk CSI) every PersistentVolumeClaim uses. */
    storageClassName: string;
    /** What every Kubernetes object waits for: the stage's foundation (API gate, namespaces, CSI). */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** Component options of a system service: the stage's Kubernetes provider is required. */
export type SystemServiceOptions = pulumi.ComponentResourceOptions & { provider: k8s.Provider };

/** The node label the infra stage sets on every agent pool's nodes. */
export const POOL_LABEL = "agentpool";

/** The pools the system services run on (DESIGN.md, "Placement"). */
export type SystemPool = "database" | "management";

/** Node selector for one agent pool. */
export function onPool(pool: SystemPool): Record<string, string> {
    return { [POOL_LABEL]: pool };
}

/** DaemonSets run on every node, masters included: tolerate every taint (NoSchedule and NoExecute). */
export const TOLERATE_ALL = [{ operator: "Exists" }];

/** The label Azure nodes carry with their availability zone. */
export const ZONE_KEY = "topology.kubernetes.io/zone";
/** The label that tells nodes apart (one database member per node). */
export const HOST_KEY = "kubernetes.io/hostname";

/** Requests and limits of one container. */
export interface Resources {
    requests: { cpu: string; memory: string };
    limits: { cpu: string; memory: string };
}

/** `resources(["50m", "100m"], ["256Mi", "512Mi"])`: CPU request/limit, memory request/limit. */
export function resources(cpu: [string, string], memory: [string, string]): Resources {
    return { requests: { cpu: cpu[0], memory: memory[0] }, limits: { cpu: cpu[1], memory: memory[1] } };
}

/**
 * Spread pods matching `matchLabels` over zones. ScheduleAnyway: after a zone outage a pod without
 * a volume may restart in a surviving zone instead of staying Pending (the one-per-node rule still
 * holds). A database member with a volume waits for its zone: Azure disks (LRS) are zonal; the
 * database's other members, in the other zones, keep it available.
 */
export function zoneSpread(matchLabels: Record<string, string>) {
    return [{ maxSkew: 1, topologyKey: ZONE_KEY, whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels } }];
}

/** Required anti-affinity: never two pods matching `matchLabels` on one node. */
export function onePerNode(matchLabels: Record<string, string>) {
    return {
        podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: HOST_KEY, labelSelector: { matchLabels } }],
        },
    };
}

/** Options of a Kubernetes child: parent, the stage's provider and the foundation (children do not inherit it). */
export function childOptions(
    parent: pulumi.Resource,
    opts: SystemServiceOptions,
    dependsOn: pulumi.Input<pulumi.Resource>[],
): { parent: pulumi.Resource; provider: k8s.Provider; dependsOn: pulumi.Input<pulumi.Resource>[] } {
    return { parent, provider: opts.provider, dependsOn };
}

/** One custom resource of an operator, typed by the CRD fields the program uses. */
export interface CustomResourceOf<Spec> {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    spec: Spec;
}

/** Registers a typed custom resource (its operator's chart must be in `opts.dependsOn`). */
export function customResource<Spec>(name: string, cr: CustomResourceOf<Spec>, opts: pulumi.CustomResourceOptions): k8s.apiextensions.CustomResource {
    return new k8s.apiextensions.CustomResource(name, cr as unknown as k8s.apiextensions.CustomResourceArgs, opts);
}

/** A PodDisruptionBudget the program builds (where an operator makes none). */
export function podDisruptionBudget(
    name: string,
    args: { namespace: string; objectName: string; matchLabels: Record<string, string>; minAvailable: number },
    opts: pulumi.CustomResourceOptions,
): k8s.policy.v1.PodDisruptionBudget {
    return new k8s.policy.v1.PodDisruptionBudget(name, {
        metadata: { name: args.objectName, namespace: args.namespace },
        spec: { minAvailable: args.minAvailable, selector: { matchLabels: args.matchLabels } },
    }, opts);
}

/** Members that must stay up for a majority of `n` (quorum): ⌊n/2⌋ + 1. */
export function quorum(n: number): number {
    return Math.floor(n / 2) + 1;
}
