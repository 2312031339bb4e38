// Per-user access: for every `access.users` entry a ServiceAccount with a long-lived token Secret,
// bound to the built-in `view`, `edit` or `admin` ClusterRole in each of its namespaces, and a
// kubeconfig built from that token. A token (unlike a client certificate) can be revoked: removing a
// user from the profile deletes the ServiceAccount and its token Secret at the next `pulumi up`, and
// the API server stops accepting the token at once.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Profile } from "../../profiles";
import { PLATFORM_LABELS } from "./namespaces";

export interface AccessArgs {
    /** `access.users` of the profile. */
    users: Profile["access"]["users"];
    /** Namespace a user gets when the profile names none (`aura-<environment>`). */
    defaultNamespace: string;
    /** Namespace that holds the ServiceAccounts and tokens (no user is bound there). */
    accountNamespace: string;
    /** Cluster name in the kubeconfigs. */
    clusterName: string;
    /** API server URL. */
    server: pulumi.Input<string>;
    /** Cluster CA (PEM). */
    caCertPem: pulumi.Input<string>;
    /** What the objects wait for (gate, namespaces). */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** A user's kubeconfig: the cluster CA, the API URL and the ServiceAccount token. */
export function userKubeconfig(args: { clusterName: string; user: string; namespace: string; server: string; caCertPem: string; token: string }): string {
    const context = `${args.clusterName}-${args.user}`;
    return JSON.stringify(
        {
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: args.clusterName, cluster: { server: args.server, "certificate-authority-data": Buffer.from(args.caCertPem).toString("base64") } }],
            users: [{ name: args.user, user: { token: args.token } }],
            contexts: [{ name: context, context: { cluster: args.clusterName, user: args.user, namespace: args.namespace } }],
            "current-context": context,
        },
        null,
        2,
    );
}

export class Access extends pulumi.ComponentResource {
    /** Kubeconfig per user name (each a secret). */
    readonly kubeconfigs: Record<string, pulumi.Output<string>> = {};

    constructor(name: string, args: AccessArgs, opts: pulumi.ComponentResourceOptions & { provider: k8s.Provider }) {
        super("aura:system:Access", name, {}, opts);
        const child = { parent: this, provider: opts.provider, dependsOn: args.dependsOn };
        const labels = { ...PLATFORM_LABELS, "aura.io/access": "user" };

        for (const user of args.users) {
            const namespaces = user.namespaces ?? [args.defaultNamespace];
            const account = new k8s.core.v1.ServiceAccount(`${name}-${user.name}`, {
                metadata: { name: user.name, namespace: args.accountNamespace, labels },
                automountServiceAccountToken: false,
            }, child);
            // A long-lived token Secret; the provider waits until the token controller has filled it.
            const token = new k8s.core.v1.Secret(`${name}-${user.name}-token`, {
                metadata: {
                    name: `${user.name}-token`,
                    namespace: args.accountNamespace,
                    labels,
                    annotations: { "kubernetes.io/service-account.name": user.name },
                },
                type: "kubernetes.io/service-account-token",
            }, { ...child, dependsOn: [...args.dependsOn, account], additionalSecretOutputs: ["data"] });

            for (const ns of namespaces) {
                new k8s.rbac.v1.RoleBinding(`${name}-${user.name}-${ns}`, {
                    metadata: { name: `aura-user-${user.name}`, namespace: ns, labels },
                    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: user.role },
                    subjects: [{ kind: "ServiceAccount", name: user.name, namespace: args.accountNamespace }],
                }, child);
            }

            this.kubeconfigs[user.name] = pulumi.secret(
                pulumi.all([args.server, args.caCertPem, token.data]).apply(([server, caCertPem, data]) =>
                    userKubeconfig({
                        clusterName: args.clusterName,
                        user: user.name,
                        namespace: namespaces[0],
                        server,
                        caCertPem,
                        token: Buffer.from(data?.token ?? "", "base64").toString(),
                    }),
                ),
            );
        }
        this.registerOutputs({});
    }
}
