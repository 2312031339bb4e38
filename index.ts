// The program `pulumi up` runs: stack config → deployment profile → the three stages → stack outputs.
import * as pulumi from "@pulumi/pulumi";
import { CoreStage } from "./components/core";
import { InfraStage, checkMasterCount } from "./components/infra";
import { SystemStage, parseApiReadyTimeout } from "./components/system";
import { Profile, ProfileError, loadProfile } from "./profiles";

export = async () => {
    const config = new pulumi.Config("aura");
    const profile = readProfile(config.require("profile"));

    // The master count of an existing environment never changes: compare with the last deployment
    // before registering anything.
    const self = new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`);
    const previous = await self.getOutputDetails("masterCount");
    const guard = checkMasterCount(previous.value, profile.infrastructure.compute.masters.size);
    if (guard) throw new pulumi.RunError(`${profile.environment}: ${guard}`);

    const name = `aura-${profile.environment}`;
    const infra = new InfraStage(name, {
        profile,
        sshPublicKey: config.require("sshPublicKey"),
        servicePrincipalRotation: config.get("servicePrincipalRotation") ?? "1",
    });
    const system = new SystemStage(name, {
        profile,
        kubeconfig: infra.adminKubeconfig,
        cluster: infra.cluster,
        pools: infra.agentPools.pools,
        apiReadyTimeoutMinutes: parseApiReadyTimeout(config.get("apiReadyTimeoutMinutes")),
    }, { dependsOn: [infra] });
    new CoreStage(name, { profile, namespace: system.coreNamespace }, { dependsOn: [system] });

    return {
        environment: profile.environment,
        masterCount: profile.infrastructure.compute.masters.size,
        ...infra.outputs,
        kubeconfigs: system.kubeconfigs,
    };
};

/** Loads the stack's profile; a bad one ends the run with its problems and no stack trace. */
function readProfile(file: string): Profile {
    try {
        return loadProfile(file, { stack: pulumi.getStack() });
    } catch (e) {
        if (e instanceof ProfileError) throw new pulumi.RunError(e.message);
        throw e;
    }
}
