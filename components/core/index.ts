// The core stage (Kubernetes): per platform service a Deployment, Service, HPA and
// PodDisruptionBudget, plus the provisioning jobs. This change registers the stage itself; its
// workloads land with the core-stage issue.
import * as pulumi from "@pulumi/pulumi";
import type { Profile } from "../../profiles";

export interface CoreStageArgs {
    /** The validated deployment profile. */
    profile: Profile;
    /** Namespace the system stage created for the core services. */
    namespace: pulumi.Input<string>;
}

export class CoreStage extends pulumi.ComponentResource {
    constructor(name: string, args: CoreStageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aura:core:CoreStage", name, {}, opts);
        void args;
        this.registerOutputs(undefined);
    }
}
