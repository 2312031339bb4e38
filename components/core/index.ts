// The core stage (Kubernetes), replacing `./aura deploy_core`: one PlatformService per core service
// (Deployment, Service, HPA, PodDisruptionBudget; singletons without HPA; nginx behind an Azure load
// balancer) and the provisioning jobs, which run after the services they provision.
import * as pulumi from "@pulumi/pulumi";
import { Profile, SINGLETON_SERVICES, imageFor } from "../../profiles";
import { createChecksumKey } from "../checksum";
import { ProvisioningJob } from "./job";
import { PlatformService } from "./service";
import { secretMissingError, secretUses } from "./secrets";
import type { DatabasePasswords, DatabaseReady, DatabaseSecrets } from "./workload";

export { PlatformService } from "./service";
export { ProvisioningJob } from "./job";
export { readStackSecrets, secretUses } from "./secrets";

/** The service exposed through a LoadBalancer: the platform's entry point. */
export const ENTRY_SERVICE = "nginx";

export interface CoreStageArgs {
    /** The validated deployment profile. */
    profile: Profile;
    /** Namespace the system stage created for the core services (`aura-<environment>`). */
    namespace: pulumi.Input<string>;
    /** The system stage's Kubernetes provider. */
    provider: pulumi.ProviderResource;
    /** What every workload waits for: the system stage's foundation (API gate, CNI, cloud provider, namespaces). */
    dependsOn: pulumi.Input<pulumi.Resource>[];
    /** Names of the system stage's database Secrets in the core namespace. */
    databaseSecrets: DatabaseSecrets;
    /** The databases' passwords (secret), for the pods' fingerprints. */
    databasePasswords: DatabasePasswords;
    /** What a workload that connects to each database waits for: its credential Secret and the database, ready. */
    databaseReady: DatabaseReady;
    /** Stack secrets (`aura:secrets.<name>`) by name: every one the profile's `secret_env` entries name. */
    secrets: Record<string, pulumi.Output<string>>;
}

export class CoreStage extends pulumi.ComponentResource {
    readonly services: Record<string, PlatformService> = {};
    readonly jobs: Record<string, ProvisioningJob> = {};
    /** Public address of the entry service's load balancer (undefined without nginx). */
    readonly publicAddress: pulumi.Output<string | undefined>;

    constructor(name: string, args: CoreStageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aura:core:CoreStage", name, {}, opts);
        const { profile, provider } = args;
        const missing = secretUses(profile).filter((u) => !(u.secret in args.secrets));
        if (missing.length) throw secretMissingError(missing, pulumi.getStack());

        // Key of the HMAC that fingerprints secret values in pod annotations (kept in state, secret).
        const checksumKey = createChecksumKey(`${name}-checksum-key`, { parent: this });
        const shared = { namespace: args.namespace, secrets: args.secrets, databaseSecrets: args.databaseSecrets, databasePasswords: args.databasePasswords, checksumKey };
        // A workload that connects to a database depends on it: in a run that creates the database
        // (or changes it while not ready) it waits until the database is ready (a job would
        // otherwise spend its retries while the replica set is still being built).
        const databases = (names: readonly (keyof DatabaseSecrets)[]) => names.flatMap((db) => args.databaseReady[db]);

        for (const [service, spec] of Object.entries(profile.core.services)) {
            this.services[service] = new PlatformService(`${name}-${service}`, {
                ...shared,
                service,
                spec,
                image: imageFor(service, spec.image, profile.release),
                hpa: { cpuTargetPercent: profile.core.hpa.cpu_target_percent, maxFactor: profile.core.hpa.max_factor },
                singleton: SINGLETON_SERVICES.includes(service),
                public: service === ENTRY_SERVICE,
                dependsOn: [...args.dependsOn, ...databases(spec.databases)],
            }, { parent: this, provider });
        }

        for (const [job, spec] of Object.entries(profile.core.jobs)) {
            // The services it provisions must be available first (a component in dependsOn waits for
            // all its children, so for the Deployment's rollout); by default every core service.
            const after = (spec.after ?? Object.keys(this.services)).map((s) => this.services[s]);
            this.jobs[job] = new ProvisioningJob(`${name}-${job}`, {
                ...shared,
                job,
                spec,
                image: imageFor(job, spec.image, profile.release),
                dependsOn: [...args.dependsOn, ...databases(spec.databases), ...after],
            }, { parent: this, provider });
        }

        this.publicAddress = this.services[ENTRY_SERVICE]?.publicAddress ?? pulumi.output(undefined);
        this.registerOutputs({ publicAddress: this.publicAddress });
    }
}
