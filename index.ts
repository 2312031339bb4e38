// The program `pulumi up` runs: stack config → deployment profile → the three stages → stack outputs.
import * as pulumi from "@pulumi/pulumi";
import { CoreStage, readStackSecrets } from "./components/core";
import {
    InfraStage,
    agentKubeletFloor,
    checkAgentSkew,
    checkKubernetesVersion,
    checkMasterCount,
    checkOneMasterChange,
    deployedScaleSetNames,
    parseRebuildMasters,
} from "./components/infra";
import { ALERT_WEBHOOK_KEY, SystemStage, parseApiReadyTimeout, readAlertWebhook } from "./components/system";
import { Profile, ProfileError, environmentTaken, loadProfile, stackEnvironments } from "./profiles";
import { checkPromotion, workloadImages } from "./profiles/promotion";
import { parsePromoteFrom, parseRotationLabel, unknownConfigKeys } from "./components/stackConfig";
import { dropVersionAliases } from "./components/versionAliases";

export = async () => {
    // Before the first resource: the provider SDKs' API-version aliases match nothing this program
    // ever deployed, and cost a third of the run (components/versionAliases.ts).
    pulumi.runtime.registerStackTransformation(dropVersionAliases);
    const config = new pulumi.Config("aura");
    const stack = pulumi.getStack();
    // A misspelt setting would be ignored without a word: refused before anything else.
    const unknownKeys = unknownConfigKeys(Object.keys(pulumi.runtime.allConfig()), stack);
    if (unknownKeys.length) throw new pulumi.RunError(unknownKeys.join("\n"));
    const profile = readProfile(config.require("profile"));
    const apiReadyTimeoutMinutes = parseApiReadyTimeout(config.get("apiReadyTimeoutMinutes"), stack);
    const alertWebhookUrl = runError(() =>
        readAlertWebhook(config.get("alertWebhookUrl"), isConfigSecret(ALERT_WEBHOOK_KEY), stack),
    );
    const rebuildMasters = runError(() => parseRebuildMasters(config.get("rebuildMasters"), profile.infrastructure.compute.masters.size, stack));
    const servicePrincipalRotation = runError(() => parseRotationLabel(config.get("servicePrincipalRotation"), stack));
    const promoteFrom = runError(() =>
        parsePromoteFrom(config.get("promoteFrom"), { organization: pulumi.getOrganization(), project: pulumi.getProject(), stack }),
    );
    // Every stack secret the profile's secret_env entries name, checked before anything registers.
    const secrets = readStackSecrets(profile, stack, (key) => config.getSecret(key), (key) => isConfigSecret(`aura:${key}`));

    // The master count of an existing environment never changes: compare with the last deployment
    // before registering anything.
    const self = new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${stack}`);
    // No other stack of the project (this folder's Pulumi.<stack>.yaml) may deploy the same
    // environment: both would manage its resources. A stack whose last deployment was this
    // environment already runs them (e.g. a renamed stack): the other one is the newcomer.
    const taken = environmentTaken(profile, stack, config.require("profile"), stackEnvironments(__dirname));
    if (taken && (await self.getOutputDetails("environment")).value !== profile.environment) throw new pulumi.RunError(taken);
    const previous = await self.getOutputDetails("masterCount");
    const guard = checkMasterCount(previous.value, profile.infrastructure.compute.masters.size);
    if (guard) throw new pulumi.RunError(`${profile.environment}: ${guard}`);
    // Likewise the Kubernetes version: one minor at a time, never down.
    const previousVersion = await self.getOutputDetails("kubernetesVersion");
    const versionGuard = checkKubernetesVersion(previousVersion.value, profile.kubernetes.version);
    if (versionGuard) throw new pulumi.RunError(`${profile.environment}: ${versionGuard}`);
    // And not together with a new master size.
    const previousMasterSize = await self.getOutputDetails("masterVmSize");
    const masterGuard = checkOneMasterChange(
        { version: previousVersion.value, size: previousMasterSize.value },
        { version: profile.kubernetes.version, size: profile.infrastructure.compute.masters.type },
    );
    if (masterGuard) throw new pulumi.RunError(`${profile.environment}: ${masterGuard}`);
    // And not so far ahead that the agents' oldest kubelet falls out of the supported skew.
    const previousFloor = await self.getOutputDetails("agentKubeletFloor");
    const kubeletFloor = runError(() =>
        agentKubeletFloor({ floor: previousFloor.value, version: previousVersion.value }, config.get("agentsRolledTo"), profile.kubernetes.version, stack),
    );
    const skewGuard = checkAgentSkew(kubeletFloor, profile.kubernetes.version, stack);
    if (skewGuard) throw new pulumi.RunError(`${profile.environment}: ${skewGuard}`);

    // A promoted stack (prod) deploys only the release its upstream (dev) runs: its config names the
    // upstream, and the upstream's last deployment says which release that is.
    if (promoteFrom) {
        const upstream = new pulumi.StackReference(qualifiedStack(promoteFrom));
        const running = await upstream.getOutputDetails("release");
        const runningImages = await upstream.getOutputDetails("images");
        const refusal = checkPromotion({
            stack,
            upstream: promoteFrom,
            file: config.require("profile"),
            release: profile.release,
            upstreamRelease: running.value ?? running.secretValue,
            images: workloadImages(profile),
            upstreamImages: runningImages.value ?? runningImages.secretValue,
        });
        if (refusal) throw new pulumi.RunError(refusal);
    }

    const name = `aura-${profile.environment}`;
    const infra = new InfraStage(name, {
        profile,
        sshPublicKey: config.require("sshPublicKey"),
        servicePrincipalRotation,
        // Scale sets that exist already: their live capacity and load-balancer wiring are kept.
        deployedScaleSets: deployedScaleSetNames((await self.getOutputDetails("pools")).value),
        rebuildMasters,
    });
    const system = new SystemStage(name, {
        profile,
        kubeconfig: infra.adminKubeconfig,
        cluster: infra.cluster,
        pools: infra.agentPools.pools,
        apiReadyTimeoutMinutes,
        alertWebhookUrl,
    }, { dependsOn: [infra] });
    const core = new CoreStage(name, {
        profile,
        namespace: system.coreNamespace,
        provider: system.provider,
        dependsOn: system.foundation,
        databaseSecrets: system.databaseSecrets,
        databasePasswords: system.databasePasswords,
        databaseReady: system.databaseReady,
        secrets,
    }, { dependsOn: [system] });

    return {
        environment: profile.environment,
        masterCount: profile.infrastructure.compute.masters.size,
        // The next run's guards compare with these.
        masterVmSize: profile.infrastructure.compute.masters.type,
        agentKubeletFloor: kubeletFloor,
        kubernetesVersion: profile.kubernetes.version,
        // What a downstream stack's promotion check reads.
        release: profile.release,
        images: workloadImages(profile),
        ...infra.outputs,
        kubeconfigs: system.kubeconfigs,
        /** The platform's public address: the Azure load balancer in front of nginx. */
        publicAddress: core.publicAddress,
    };
};

/** `org/project/stack` for a stack of this project named in config (a qualified name is kept). */
function qualifiedStack(stack: string): string {
    return stack.includes("/") ? stack : `${pulumi.getOrganization()}/${pulumi.getProject()}/${stack}`;
}

/**
 * Whether a stack config value is stored as a secret. The SDK knows (the CLI passes the secret keys)
 * but marks the function internal, hence the cast; an SDK without it counts every value as secret.
 */
function isConfigSecret(key: string): boolean {
    const runtime = pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean };
    return runtime.isConfigSecret ? runtime.isConfigSecret(key) : true;
}

/** A stack config check's refusal ends the run with its message and no stack trace. */
function runError<T>(check: () => T): T {
    try {
        return check();
    } catch (e) {
        throw new pulumi.RunError((e as Error).message);
    }
}

/** Loads the stack's profile; a bad one ends the run with its problems and no stack trace. */
function readProfile(file: string): Profile {
    try {
        return loadProfile(file, { stack: pulumi.getStack() });
    } catch (e) {
        if (e instanceof ProfileError) throw new pulumi.RunError(e.message);
        throw e;
    }
}
