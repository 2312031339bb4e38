// The platform's namespaces and their Pod Security Admission levels: the strictest level the
// workloads that run in each allow, with `warn`/`audit` one step stricter where enforcement cannot be.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** Labels on every object the system stage builds itself. */
export const PLATFORM_LABELS = { "app.kubernetes.io/part-of": "aura-platform", "app.kubernetes.io/managed-by": "pulumi" } as const;

/** A Pod Security Standards level. */
export type PodSecurityLevel = "privileged" | "baseline" | "restricted";

/** The PSA labels of one namespace. */
export interface PodSecurity {
    enforce: PodSecurityLevel;
    /** Reported to whoever applies a violating pod, and in the audit log. */
    warn: PodSecurityLevel;
}

/** The namespace that holds the per-user ServiceAccounts and their tokens; no user is bound in it. */
export const ACCESS_NAMESPACE = "aura-access";

/**
 * Why each level:
 * - core (`aura-<env>`): the platform's own services and jobs; their images are not known to run as
 *   non-root, so `baseline` is enforced (no host access, no privilege) and `restricted` is warned.
 * - system (`aura-system`): node-exporter (host network, PID, /proc) and the log shippers (hostPath
 *   /var/log) cannot run under `baseline`; everything else there is warned at `baseline`.
 * - access: only ServiceAccounts and Secrets, never a pod: `restricted`.
 */
export const POD_SECURITY = {
    core: { enforce: "baseline", warn: "restricted" },
    system: { enforce: "privileged", warn: "baseline" },
    access: { enforce: "restricted", warn: "restricted" },
} as const satisfies Record<string, PodSecurity>;

/** The `pod-security.kubernetes.io/*` labels for `level`. */
export function podSecurityLabels(level: PodSecurity): Record<string, string> {
    return {
        "pod-security.kubernetes.io/enforce": level.enforce,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/warn": level.warn,
        "pod-security.kubernetes.io/warn-version": "latest",
        "pod-security.kubernetes.io/audit": level.warn,
        "pod-security.kubernetes.io/audit-version": "latest",
    };
}

export interface NamespacesArgs {
    /** `aura-<environment>`. */
    core: string;
    /** `aura-system`. */
    system: string;
    /** Environment name, as a label. */
    environment: string;
    /** What the namespaces wait for (the API gate). */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** The core, system and access namespaces. */
export class Namespaces extends pulumi.ComponentResource {
    readonly core: k8s.core.v1.Namespace;
    readonly system: k8s.core.v1.Namespace;
    readonly access: k8s.core.v1.Namespace;

    constructor(name: string, args: NamespacesArgs, opts: pulumi.ComponentResourceOptions & { provider: k8s.Provider }) {
        super("aura:system:Namespaces", name, {}, opts);
        const make = (suffix: string, nsName: string, level: PodSecurity, role: string) =>
            new k8s.core.v1.Namespace(`${name}-${suffix}`, {
                metadata: {
                    name: nsName,
                    labels: {
                        ...podSecurityLabels(level),
                        ...PLATFORM_LABELS,
                        "aura.io/environment": args.environment,
                        "aura.io/role": role,
                    },
                },
            }, { parent: this, provider: opts.provider, dependsOn: args.dependsOn });
        this.core = make("core", args.core, POD_SECURITY.core, "core");
        this.system = make("system", args.system, POD_SECURITY.system, "system");
        this.access = make("access", ACCESS_NAMESPACE, POD_SECURITY.access, "access");
        this.registerOutputs({});
    }
}

/**
 * A NetworkPolicy letting only the pods of `namespace` reach the pods that `podLabels` select: for
 * services that answer without authentication (e.g. Alertmanager's API, which silences alerts).
 * `allowFrom` opens given ports to the pods of other namespaces (e.g. a database's port to the core
 * services). Cilium enforces it; the node itself (kubelet probes, `kubectl port-forward`) stays
 * allowed.
 */
export function namespaceOnlyIngress(
    name: string,
    args: { namespace: string; policyName: string; podLabels: Record<string, string>; allowFrom?: { namespace: string; ports: number[] }[] },
    opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy {
    const from = (namespace: string) => [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } } }];
    return new k8s.networking.v1.NetworkPolicy(name, {
        metadata: { name: args.policyName, namespace: args.namespace, labels: { ...PLATFORM_LABELS } },
        spec: {
            podSelector: { matchLabels: args.podLabels },
            policyTypes: ["Ingress"],
            ingress: [
                { from: from(args.namespace) },
                ...(args.allowFrom ?? []).map((a) => ({ from: from(a.namespace), ports: a.ports.map((port) => ({ protocol: "TCP", port })) })),
            ],
        },
    }, opts);
}
