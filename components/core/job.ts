// One provisioning job (aura-bot-makeup, nlp-provisioning, …): a Kubernetes Job that runs once the
// services it provisions are available, runs again when its image or inputs change, and not on
// every `pulumi up`.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { JobProfile } from "../../profiles";
import { CONTAINER_SECURITY, POD_DEFAULTS, WorkloadInputs, labelsFor, resourcesFor, sha256, workloadConfig } from "./workload";

/**
 * How long `pulumi up` waits for a job to complete. The provider's default is 10 minutes
 * (provider/pkg/await/job.go, DefaultJobTimeoutMins); the seed's nlp-provisioning alone took 10,
 * and a cold cluster may first have to add a node.
 */
export const JOB_TIMEOUT = "30m";

export interface ProvisioningJobArgs extends WorkloadInputs {
    /** Job name (profile key); the Job object is `<job>-<spec hash>`. */
    job: string;
    /** The profile's entry for the job. */
    spec: JobProfile;
    /** The foundation and the services the job provisions (their components: available Deployments). */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

export class ProvisioningJob extends pulumi.ComponentResource {
    readonly job: k8s.batch.v1.Job;
    /** The Job object's name, `<job>-<hash of image and inputs>`. */
    readonly jobName: pulumi.Output<string>;

    constructor(name: string, args: ProvisioningJobArgs, opts: pulumi.ComponentResourceOptions & { provider: pulumi.ProviderResource }) {
        super("aura:core:ProvisioningJob", name, {}, opts);
        const { job, spec } = args;
        const opt = { parent: this, provider: opts.provider };
        const labels = labelsFor(job);

        const config = workloadConfig(name, {
            workload: job,
            profilePath: `core.jobs.${job}`,
            namespace: args.namespace,
            env: spec.env,
            secretEnv: spec.secret_env,
            databases: spec.databases,
            secrets: args.secrets,
            databaseSecrets: args.databaseSecrets,
            databasePasswords: args.databasePasswords,
            checksumKey: args.checksumKey,
            dependsOn: args.dependsOn,
        }, opt);

        // A Job's pod template is immutable, and a completed Job is not run again by re-applying it.
        // So the object's name carries a hash of everything the run depends on: the same inputs give
        // the same name and no change (no re-run on every `pulumi up`); new inputs give a new name,
        // which the provider treats as a replacement — create the new Job, wait for it to complete,
        // then delete the old one.
        // Typed, so that the compiler refuses a misspelt field (the schema validators accept unknown keys).
        const podSpec: k8s.types.input.core.v1.PodSpec = {
            restartPolicy: "Never",
            ...POD_DEFAULTS,
            containers: [
                {
                    name: job,
                    image: args.image,
                    ...(spec.command ? { command: spec.command } : {}),
                    ...(config.envFrom.length ? { envFrom: config.envFrom } : {}),
                    resources: resourcesFor(job, undefined),
                    securityContext: CONTAINER_SECURITY,
                },
            ],
        };
        this.jobName = config.checksums.apply((checksums) => jobObjectName(job, { podSpec, backoffLimit: spec.backoff_limit, checksums }));

        this.job = new k8s.batch.v1.Job(name, {
            metadata: {
                name: this.jobName,
                namespace: args.namespace,
                labels,
                annotations: {
                    // A job that failed (or never completed) is replaced, i.e. run again, on the
                    // next `pulumi up` even when nothing changed; a completed one is left alone.
                    "pulumi.com/replaceUnready": "true",
                },
            },
            spec: {
                backoffLimit: spec.backoff_limit,
                // No ttlSecondsAfterFinished: a Job the cluster deletes after finishing would be
                // missing at the next refresh and run again.
                template: { metadata: { labels }, spec: podSpec },
            },
        }, {
            ...opt,
            dependsOn: [...args.dependsOn, ...config.objects],
            // The provider waits for the Complete condition and fails the update at once when the
            // Job reports Failed (backoffLimit exhausted): "Resource '<job>-<hash>' was created but
            // failed to initialize", with the pods' errors (provider/pkg/await/job.go).
            customTimeouts: { create: JOB_TIMEOUT, update: JOB_TIMEOUT },
        });

        this.registerOutputs({ jobName: this.jobName });
    }
}

/** `<job>-<first 8 hex of the SHA-256 of the run's inputs>`: at most 63 characters for a job name of at most 54. */
export function jobObjectName(job: string, inputs: unknown): string {
    return `${job}-${sha256(JSON.stringify(inputs)).slice(0, 8)}`;
}
