// One core platform service: its Deployment, Service, HorizontalPodAutoscaler and
// PodDisruptionBudget (a singleton gets no HPA), plus its ConfigMap and Secret (workload.ts).
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceProfile } from "../../profiles";
import { METRICS_PORT_NAME } from "../system/monitoring";
import { CONTAINER_SECURITY, POD_DEFAULTS, WorkloadInputs, labelsFor, resourcesFor, workloadConfig } from "./workload";

/**
 * How long `pulumi up` waits for a Deployment (or the entry Service's load balancer) to become
 * available. The provider's default is 10 minutes; on a cold cluster the pods stay Pending until the
 * cluster-autoscaler has added nodes (VM create, boot, kubeadm join, image pull), so allow 20.
 */
export const ROLLOUT_TIMEOUT = "20m";

/** Port of every ClusterIP/LoadBalancer Service; it forwards to the container's `http` port. */
export const SERVICE_PORT = 80;

export interface PlatformServiceArgs extends WorkloadInputs {
    /** Service name: the name of its Deployment, Service, HPA and PDB and its pods' `app` label. */
    service: string;
    /** The profile's entry for the service. */
    spec: ServiceProfile;
    /** HPA policy (profile core.hpa); ignored for a singleton. */
    hpa: { cpuTargetPercent: number; maxFactor: number };
    /** One replica, strategy Recreate, no HPA (e.g. insights-loader). */
    singleton: boolean;
    /** Exposed through a LoadBalancer Service: the platform's entry point. */
    public: boolean;
    /** What every object waits for (the system stage's foundation). */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

export class PlatformService extends pulumi.ComponentResource {
    readonly deployment: k8s.apps.v1.Deployment;
    readonly service: k8s.core.v1.Service;
    readonly hpa?: k8s.autoscaling.v2.HorizontalPodAutoscaler;
    readonly pdb: k8s.policy.v1.PodDisruptionBudget;
    /** External IP (or host name) of the LoadBalancer Service; undefined unless `public`. */
    readonly publicAddress?: pulumi.Output<string | undefined>;

    constructor(name: string, args: PlatformServiceArgs, opts: pulumi.ComponentResourceOptions & { provider: pulumi.ProviderResource }) {
        super("aura:core:PlatformService", name, {}, opts);
        const { service, spec, namespace } = args;
        const opt = { parent: this, provider: opts.provider };
        const labels = labelsFor(service);
        const selector = { matchLabels: { app: service } };

        const config = workloadConfig(name, {
            workload: service,
            profilePath: `core.services.${service}`,
            namespace,
            env: spec.env,
            secretEnv: spec.secret_env,
            databases: spec.databases,
            secrets: args.secrets,
            databaseSecrets: args.databaseSecrets,
            databasePasswords: args.databasePasswords,
            checksumKey: args.checksumKey,
            dependsOn: args.dependsOn,
        }, opt);

        const probe = spec.readiness_probe;
        this.deployment = new k8s.apps.v1.Deployment(name, {
            metadata: { name: service, namespace, labels },
            spec: {
                // Server-side apply (the provider's default in 4.x) sends only the fields the program
                // sets and the API server records which manager owns each. With `replicas` absent
                // Pulumi never owns it: the API server defaults it to 1 at creation, the HPA's scale
                // writes own it from then on, and a later `pulumi up` leaves it alone instead of
                // scaling a busy service back down. (Removing a field Pulumi did own resets it to the
                // default, so `replicas` must never be set on a Deployment that an HPA scales.)
                // https://kubernetes.io/docs/reference/using-api/server-side-apply/#transferring-ownership
                ...(args.singleton ? { replicas: 1 } : {}),
                selector,
                revisionHistoryLimit: 5,
                // A singleton must never run twice (the seed's insights-loader race), even for the
                // length of a rollout; every other service keeps its full capacity while rolling.
                strategy: args.singleton
                    ? { type: "Recreate" }
                    : { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "25%" } },
                template: {
                    metadata: { labels, annotations: config.checksums.apply((c) => (Object.keys(c).length ? c : undefined)) },
                    spec: {
                        ...POD_DEFAULTS,
                        topologySpreadConstraints: spreadConstraints(service),
                        containers: [
                            {
                                name: service,
                                image: args.image,
                                ports: [
                                    { name: "http", containerPort: spec.port, protocol: "TCP" },
                                    // The system stage's PodMonitor scrapes a port of this name (METRICS_PORT_NAME).
                                    ...(spec.metrics_port !== undefined
                                        ? [{ name: METRICS_PORT_NAME, containerPort: spec.metrics_port, protocol: "TCP" }]
                                        : []),
                                ],
                                ...(config.envFrom.length ? { envFrom: config.envFrom } : {}),
                                resources: resourcesFor(service, spec.resources),
                                securityContext: CONTAINER_SECURITY,
                                ...(probe
                                    ? {
                                          readinessProbe: {
                                              httpGet: { path: probe.path, port: probe.port ?? "http" },
                                              initialDelaySeconds: probe.initial_delay_seconds,
                                              periodSeconds: probe.period_seconds,
                                          },
                                      }
                                    : {}),
                            },
                        ],
                    },
                },
            },
        }, {
            ...opt,
            dependsOn: [...args.dependsOn, ...config.objects],
            // The provider's timeout error reads "'<metadata.name>' timed out waiting to be Ready"
            // (provider/pkg/await/error.go) under this resource's name: both name the service.
            customTimeouts: { create: ROLLOUT_TIMEOUT, update: ROLLOUT_TIMEOUT },
        });

        this.service = new k8s.core.v1.Service(name, {
            metadata: { name: service, namespace, labels },
            spec: {
                // The entry point: cloud-provider-azure creates the Azure load balancer for it.
                type: args.public ? "LoadBalancer" : "ClusterIP",
                selector: { app: service },
                ports: [{ name: "http", port: SERVICE_PORT, targetPort: "http", protocol: "TCP" }],
            },
        }, {
            ...opt,
            dependsOn: args.dependsOn,
            // The Service await waits for ready endpoints (and a LoadBalancer's address): the pods' time.
            customTimeouts: { create: ROLLOUT_TIMEOUT, update: ROLLOUT_TIMEOUT },
        });
        if (args.public) {
            this.publicAddress = this.service.status.apply((s) => s?.loadBalancer?.ingress?.[0]?.ip ?? s?.loadBalancer?.ingress?.[0]?.hostname);
        }

        if (!args.singleton) {
            const minReplicas = spec.service_replicas;
            this.hpa = new k8s.autoscaling.v2.HorizontalPodAutoscaler(name, {
                metadata: { name: service, namespace, labels },
                spec: {
                    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: service },
                    minReplicas,
                    maxReplicas: minReplicas * args.hpa.maxFactor,
                    metrics: [
                        { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: args.hpa.cpuTargetPercent } } },
                    ],
                },
            }, { ...opt, dependsOn: args.dependsOn });
        }

        // maxUnavailable 1 for every service: a drain evicts one pod at a time, and a one-replica
        // service (a singleton, or service_replicas 1) can still be evicted — minAvailable 1 on a
        // single pod would block every node drain and the autoscaler's scale-down.
        this.pdb = new k8s.policy.v1.PodDisruptionBudget(name, {
            metadata: { name: service, namespace, labels },
            spec: {
                maxUnavailable: 1,
                selector,
                // A crash-looping pod must not block a drain either.
                unhealthyPodEvictionPolicy: "AlwaysAllow",
            },
        }, { ...opt, dependsOn: args.dependsOn });

        this.registerOutputs(undefined);
    }
}

/**
 * Spread a service's pods over zones, then nodes. ScheduleAnyway: a zone's scale set may be at its
 * max_size share, or the autoscaler may not add a node in that zone in time, and a hard constraint
 * could leave pods Pending for good; the scheduler still prefers the spread layout. matchLabelKeys
 * counts only the current ReplicaSet's pods, so a rollout does not skew against the old ones.
 */
export function spreadConstraints(app: string): k8s.types.input.core.v1.TopologySpreadConstraint[] {
    return ["topology.kubernetes.io/zone", "kubernetes.io/hostname"].map((topologyKey) => ({
        topologyKey,
        maxSkew: 1,
        whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: { matchLabels: { app } },
        matchLabelKeys: ["pod-template-hash"],
    }));
}
