// The system stage (Kubernetes): namespaces, CNI, cloud provider, autoscaler, monitoring, logging,
// databases and access. This change registers the stage itself; its workloads land with the
// system-stage issue.
import * as pulumi from "@pulumi/pulumi";
import type { Profile } from "../../profiles";

export interface SystemStageArgs {
    /** The validated deployment profile. */
    profile: Profile;
    /** Admin kubeconfig from the infra stage (secret); the Kubernetes provider is built from it. */
    kubeconfig: pulumi.Input<string>;
}

export class SystemStage extends pulumi.ComponentResource {
    /** Namespace of the core services, `aura-<environment>`. */
    readonly coreNamespace: string;

    constructor(name: string, args: SystemStageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aura:system:SystemStage", name, {}, opts);
        this.coreNamespace = args.profile.namespaces.core;
        this.registerOutputs({ coreNamespace: this.coreNamespace });
    }
}
