// The system stage (Kubernetes): namespaces, CNI, cloud provider, autoscaler, monitoring, logging,
// databases and access. This change registers the stage and the fields K8S_CONTRACT.md fixes for the
// core stage (provider, namespaces, foundation, database Secrets); its workloads land with the
// system-stage issue.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Profile } from "../../profiles";

export interface SystemStageArgs {
    /** The validated deployment profile. */
    profile: Profile;
    /** Admin kubeconfig from the infra stage (secret); the Kubernetes provider is built from it. */
    kubeconfig: pulumi.Input<string>;
}

export class SystemStage extends pulumi.ComponentResource {
    /** The one Kubernetes provider, built from the infra stage's admin kubeconfig (secret). */
    readonly provider: k8s.Provider;
    /** Namespace of the core services, `aura-<environment>`. */
    readonly coreNamespace: string;
    /** Namespace of the system services, `aura-system`. */
    readonly systemNamespace: string;
    /** What every workload waits for (API gate, CNI, cloud provider, CSI, namespaces). */
    readonly foundation: pulumi.Resource[];
    /** Secrets with database credentials in the core namespace (keys HOST, PORT, USERNAME, PASSWORD, DATABASE, URI). */
    readonly databaseSecrets: { postgresql: string; mongodb: string };

    constructor(name: string, args: SystemStageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aura:system:SystemStage", name, {}, opts);
        this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: args.kubeconfig }, { parent: this });
        this.coreNamespace = args.profile.namespaces.core;
        this.systemNamespace = args.profile.namespaces.system;
        this.foundation = [];
        this.databaseSecrets = { postgresql: "aura-postgresql", mongodb: "aura-mongodb" };
        this.registerOutputs({ coreNamespace: this.coreNamespace });
    }
}
