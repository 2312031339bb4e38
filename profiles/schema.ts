// The deployment profile: its zod schema, defaults and the seed's rules.
// The schema is the single description of the profile: `loadProfile` validates with it, `aura schema`
// turns it into JSON Schema for editors, and the stages read its typed output.
import { z } from "zod";
import { cidrContains, cidrsOverlap, parseCidr } from "./cidr";
import { imageProblem } from "./release";

/** A DNS-1123 label: what Kubernetes namespaces, service names and Azure name parts accept. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dnsLabel = (what: string, max = 63) =>
    z
        .string()
        .max(max, { error: `${what} must be at most ${max} characters` })
        .regex(DNS_LABEL, {
            error: `${what} must be a DNS label: lowercase letters, digits and '-', starting and ending with a letter or digit`,
        });

const vmSize = z
    .string()
    .regex(/^Standard_[A-Za-z0-9_]+$/, { error: "must be an Azure VM size such as Standard_DS2_v2" })
    .describe("Azure VM size, e.g. Standard_DS2_v2");

const count = (what: string) => z.int({ error: `${what} must be a whole number` });

const cidr = z
    .string()
    .refine((v) => parseCidr(v) !== undefined, { error: "must be an IPv4 CIDR such as 10.240.0.0/16" });

const cpuQuantity = z
    .string()
    .regex(/^([0-9]+m|[0-9]+(\.[0-9]+)?)$/, { error: "must be a Kubernetes CPU quantity such as 100m or 1" });
const memoryQuantity = z
    .string()
    .regex(/^[0-9]+(Ki|Mi|Gi|Ti|K|M|G|T)?$/, { error: "must be a Kubernetes memory quantity such as 256Mi or 1Gi" });

// ---------------------------------------------------------------------------------------------
// infrastructure

export const mastersSchema = z
    .strictObject({
        size: count("masters.size")
            .min(3, { error: "must be at least 3 (etcd needs three members to survive the loss of one)" })
            .refine((n) => n % 2 === 1, { error: "must be odd (etcd needs a majority of an odd number of members)" })
            .describe("Number of master VMs: odd, 3 in preproduction, 5 in production. Never change it on an existing environment."),
        type: vmSize,
    })
    .describe("The control plane: one VM per master, spread over the zones");

export const poolSchema = z
    .strictObject({
        min_size: count("min_size")
            .min(0, { error: "must be 0 or more (0 lets the autoscaler scale the pool to zero)" })
            .describe("Fewest nodes; the initial size. 0 lets the cluster-autoscaler scale the pool to zero."),
        max_size: count("max_size")
            .min(1, { error: "must be at least 1" })
            .max(1000, { error: "must be at most 1000 (the VM scale set limit)" })
            .describe("Most nodes the cluster-autoscaler may add"),
        type: vmSize,
    })
    .superRefine((p, ctx) => {
        if (p.min_size > p.max_size) {
            ctx.addIssue({ code: "custom", path: ["min_size"], message: `must not exceed max_size (${p.max_size})` });
        }
    })
    .describe("An agent pool: one VM scale set, scaled by the cluster-autoscaler between min_size and max_size");

/** Pool keys under `compute` are `<name>_nodes`; the name becomes the VMSS name part and the `agentpool` label. */
export const POOL_KEY = /^([a-z][a-z0-9]{0,10})_nodes$/;
export const REQUIRED_POOLS = ["common", "database", "management"] as const;

const computeSchema = z
    .object({
        masters: mastersSchema,
        common_nodes: poolSchema,
        database_nodes: poolSchema.refine((p) => p.min_size >= 3, {
            error: "must be at least 3 (PostgreSQL runs one primary and two followers on this pool)",
            path: ["min_size"],
        }),
        management_nodes: poolSchema,
    })
    // Further pools are checked here rather than by catchall(poolSchema), so that a key that is not
    // <name>_nodes reads as an unknown key, and so that it is reported beside every other problem.
    .catchall(z.unknown())
    .superRefine(
        (compute, ctx) => {
            if (typeof compute !== "object" || compute === null) return;
            for (const [key, value] of Object.entries(compute)) {
                if (key === "masters" || REQUIRED_POOLS.some((p) => key === `${p}_nodes`)) continue;
                if (!POOL_KEY.test(key)) {
                    ctx.addIssue({
                        code: "custom",
                        path: [key],
                        message:
                            "unknown key (agent pools are named <name>_nodes, the name 1-11 lowercase letters and digits, starting with a letter)",
                    });
                    continue;
                }
                const pool = poolSchema.safeParse(value);
                for (const issue of pool.success ? [] : pool.error.issues) {
                    ctx.addIssue({ ...issue, path: [key, ...issue.path] } as Parameters<typeof ctx.addIssue>[0]);
                }
            }
        },
        { when: () => true },
    )
    .describe("Masters and agent pools. Any <name>_nodes key is an agent pool named <name>.");

const networkSchema = z
    .strictObject({
        vnet_cidr: cidr.default("10.240.0.0/16").describe("Address space of the virtual network"),
        masters_subnet: cidr.default("10.240.0.0/24").describe("Subnet of the master VMs, inside vnet_cidr"),
        agents_subnet: cidr.default("10.240.16.0/20").describe("Subnet of the agent pools, inside vnet_cidr"),
        pod_cidr: cidr.default("10.244.0.0/16").describe("Pod network (CNI); must not overlap the VNet"),
        service_cidr: cidr.default("10.96.0.0/12").describe("Kubernetes service network; must not overlap the VNet or pods"),
        api_allowed_cidrs: z
            .array(cidr)
            .min(1, { error: "must list at least one CIDR, or the API server is unreachable" })
            .default(["0.0.0.0/0"])
            .describe("Source ranges allowed to reach the API server on 6443; nothing else is open to the internet"),
    })
    .superRefine((n, ctx) => {
        for (const key of ["masters_subnet", "agents_subnet"] as const) {
            if (!cidrContains(n.vnet_cidr, n[key])) {
                ctx.addIssue({ code: "custom", path: [key], message: `must lie inside vnet_cidr ${n.vnet_cidr}` });
            }
        }
        if (cidrsOverlap(n.masters_subnet, n.agents_subnet)) {
            ctx.addIssue({ code: "custom", path: ["agents_subnet"], message: `must not overlap masters_subnet ${n.masters_subnet}` });
        }
        if (cidrsOverlap(n.pod_cidr, n.vnet_cidr)) {
            ctx.addIssue({ code: "custom", path: ["pod_cidr"], message: `must not overlap vnet_cidr ${n.vnet_cidr} (pod traffic is routed)` });
        }
        if (cidrsOverlap(n.service_cidr, n.vnet_cidr) || cidrsOverlap(n.service_cidr, n.pod_cidr)) {
            ctx.addIssue({ code: "custom", path: ["service_cidr"], message: "must not overlap vnet_cidr or pod_cidr" });
        }
    });

const infrastructureSchema = z.strictObject({
    region: z
        .string()
        .regex(/^[a-z][a-z0-9]+$/, { error: "must be an Azure region name such as westeurope" })
        .describe("Azure region, e.g. westeurope"),
    zones: z
        .array(z.enum(["1", "2", "3"], { error: 'must be an availability zone: "1", "2" or "3"' }))
        .refine((zs) => new Set(zs).size === zs.length, { error: "must not repeat a zone" })
        .default(["1", "2", "3"])
        .describe("Availability zones that masters and pools spread over; [] in a region without zones (no zonal resources, LRS storage)"),
    network: networkSchema.prefault({}),
    compute: computeSchema,
});

// ---------------------------------------------------------------------------------------------
// kubernetes, system

const kubernetesSchema = z.strictObject({
    version: z
        .string()
        .regex(/^1\.(3[1-9]|[4-9][0-9])\.[0-9]+$/, {
            error: "must be a Kubernetes version MAJOR.MINOR.PATCH, 1.31.0 or newer (kubeadm config v1beta4), such as 1.33.5",
        })
        .default("1.33.5")
        .describe("Kubernetes version installed on every node (kubeadm, kubelet, control plane)"),
});

const replicas = (def: number, min = 1) =>
    z.strictObject({
        replicas: count("replicas")
            .min(min, { error: `must be at least ${min}` })
            .default(def),
    });

const systemSchema = z.strictObject({
    prometheus: z
        .strictObject({
            replicas: count("replicas")
                .min(2, { error: "must be at least 2 (each replica holds all metrics; fewer loses high availability)" })
                .default(2),
        })
        .prefault({}),
    alertmanager: replicas(2).prefault({}),
    elasticsearch: replicas(3).prefault({}),
    fluent_bit_aggregator: replicas(3).prefault({}),
    mongodb: z
        .strictObject({
            replicas: count("replicas")
                .refine((n) => n === 3, { error: "must be 3 (mongodb runs as a three-member replica set)" })
                .default(3),
        })
        .prefault({}),
    kube_state_metrics: z
        .strictObject({
            replicas: count("replicas")
                .refine((n) => n === 1, { error: "must be exactly 1 (a second replica duplicates every metric in Prometheus)" })
                .default(1),
        })
        .prefault({}),
});

// ---------------------------------------------------------------------------------------------
// core

const resourcesSchema = z.strictObject({
    requests: z.strictObject({ cpu: cpuQuantity, memory: memoryQuantity }),
    limits: z.strictObject({ cpu: cpuQuantity, memory: memoryQuantity }),
});
export type Resources = z.infer<typeof resourcesSchema>;

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "must be an environment variable name" });

/** An image reference pinned to a tag or digest (see imageProblem). */
const imageRef = z
    .string()
    .min(1)
    .superRefine((image, ctx) => {
        const problem = imageProblem(image);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
    });

/** Credentials a workload receives from the system stage's database Secrets (envFrom, prefixed). */
export const DATABASES = ["postgresql", "mongodb"] as const;
const databasesSchema = z
    .array(z.enum(DATABASES, { error: "must be postgresql or mongodb" }))
    .refine((dbs) => new Set(dbs).size === dbs.length, { error: "must not repeat a database" })
    .default([])
    .describe("Databases whose credentials the workload receives as POSTGRESQL_* / MONGODB_* variables (HOST, PORT, USERNAME, PASSWORD, DATABASE, URI)");

const secretEnvSchema = z
    .record(envName, z.string().regex(/^[a-zA-Z0-9][-a-zA-Z0-9_.]*$/, { error: "must name a stack config secret" }))
    .default({})
    .describe("Environment variables read from a Kubernetes Secret; the value names the stack config secret (aura:secrets.<name>)");

const port = (what: string) => count(what).min(1, { error: "must be a port, 1-65535" }).max(65535, { error: "must be a port, 1-65535" });

const readinessProbeSchema = z
    .strictObject({
        path: z.string().regex(/^\//, { error: "must be an HTTP path starting with /" }),
        port: port("port").optional().describe("Default: the service's port"),
        initial_delay_seconds: count("initial_delay_seconds").min(0).default(5),
        period_seconds: count("period_seconds").min(1).default(10),
    })
    .describe("HTTP GET readiness probe: the Service sends traffic only to pods that answer 2xx/3xx");

const serviceSchema = z.strictObject({
    service_replicas: count("service_replicas")
        .min(1, { error: "must be at least 1 (it is the HPA's minReplicas)" })
        .default(2)
        .describe("Replicas at rest; the HPA scales between this and max_factor times this"),
    image: imageRef.optional().describe("Container image, pinned by tag or digest; default <release.registry>/<name>:<release.version>"),
    port: port("port").default(8080).describe("Container port the Service (port 80) forwards to"),
    env: z.record(envName, z.string()).default({}).describe("Plain environment variables"),
    secret_env: secretEnvSchema,
    databases: databasesSchema,
    readiness_probe: readinessProbeSchema.optional(),
    resources: resourcesSchema.optional().describe("Container requests and limits; defaults from the platform's figures"),
});
export type ServiceProfile = z.infer<typeof serviceSchema>;

const jobSchema = z.strictObject({
    image: imageRef.optional().describe("Container image, pinned by tag or digest; default <release.registry>/<name>:<release.version>"),
    command: z.array(z.string()).optional(),
    env: z.record(envName, z.string()).default({}),
    secret_env: secretEnvSchema,
    databases: databasesSchema,
    after: z
        .array(dnsLabel("a service name"))
        .optional()
        .describe("Core services that must be available before the job runs; default: every core service"),
    backoff_limit: count("backoff_limit").min(0).default(3),
});
export type JobProfile = z.infer<typeof jobSchema>;

/** The seed's core services and replica counts, used when the profile names none. */
export const DEFAULT_SERVICES: Record<string, number> = {
    "aog-bridge": 2,
    "api-gw": 2,
    "aura-bot": 2,
    "authentication-api": 2,
    nginx: 2,
    nlp: 2,
    "user-helper": 2,
    "web-sdk": 2,
    "insights-loader": 1,
};
export const DEFAULT_JOBS = ["aura-bot-makeup", "nlp-provisioning"];
/** Services that must run exactly one replica and get no HPA (the seed's race conditions). */
export const SINGLETON_SERVICES = ["insights-loader"];

const serviceMap = z.record(dnsLabel("a service name"), serviceSchema).superRefine(
    (services, ctx) => {
        // Runs even when other services are wrong, so it reads the input defensively.
        for (const name of SINGLETON_SERVICES) {
            const replicas = (services?.[name] as { service_replicas?: unknown } | undefined)?.service_replicas;
            if (replicas !== undefined && replicas !== 1) {
                ctx.addIssue({
                    code: "custom",
                    path: [name, "service_replicas"],
                    message: "must be exactly 1 (two loaders race to load the same insight files)",
                });
            }
        }
    },
    { when: () => true },
);

const coreSchema = z.strictObject({
    hpa: z
        .strictObject({
            cpu_target_percent: count("cpu_target_percent").min(1).max(100).default(80),
            max_factor: count("max_factor").min(1).max(10).default(3),
        })
        .prefault({})
        .describe("Horizontal Pod Autoscaler policy shared by every core service"),
    // prefault: the default set is parsed like a written one, so every per-service default applies.
    services: serviceMap
        .prefault(() => Object.fromEntries(Object.entries(DEFAULT_SERVICES).map(([name, n]) => [name, { service_replicas: n }])))
        .describe("Core services by name; absent means the platform's default set"),
    jobs: z
        // At most 54 characters: the Job object is named <job>-<8-character spec hash>.
        .record(dnsLabel("a job name", 54), jobSchema)
        .prefault(() => Object.fromEntries(DEFAULT_JOBS.map((name) => [name, {}])))
        .describe("Provisioning jobs by name"),
}).superRefine((core, ctx) => {
    // A job waits for the services it provisions: each must be one the profile deploys.
    // Refinements may run beside other problems, so it reads the input defensively.
    const services = core?.services ?? {};
    for (const [job, spec] of Object.entries(core?.jobs ?? {})) {
        (Array.isArray(spec?.after) ? spec.after : []).forEach((service, i) => {
            if (!(service in services)) {
                ctx.addIssue({
                    code: "custom",
                    path: ["jobs", job, "after", i],
                    message: `names no core service (known: ${Object.keys(services).join(", ")})`,
                });
            }
        });
    }
});

// ---------------------------------------------------------------------------------------------
// access, release, the whole profile

const userSchema = z.strictObject({
    name: dnsLabel("a user name"),
    role: z.enum(["view", "edit", "admin"], { error: "must be view, edit or admin" }),
    namespaces: z.array(dnsLabel("a namespace")).min(1).optional().describe("Default: the core namespace aura-<environment>"),
});

const accessSchema = z.strictObject({
    users: z
        .array(userSchema)
        .default([])
        .superRefine((users, ctx) => {
            const seen = new Set<string>();
            users.forEach((u, i) => {
                if (seen.has(u.name)) ctx.addIssue({ code: "custom", path: [i, "name"], message: "is listed twice" });
                seen.add(u.name);
            });
        }),
});

const releaseSchema = z.strictObject({
    version: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, { error: "must be a release tag such as 2026.11.1" })
        .refine((v) => v !== "latest", { error: "must be a fixed release: the tag latest moves between pulls" })
        .describe("Platform release; the image tag of every core service"),
    registry: z
        .string()
        .regex(/^[a-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._-]+)*$/, { error: "must be a container registry such as auraplatform.azurecr.io" })
        .describe("Registry the core images come from"),
});

export const profileSchema = z
    .strictObject({
        environment: dnsLabel("environment", 20).optional().describe("Environment name; default: the stack name. Namespace aura-<environment>."),
        tier: z.enum(["preproduction", "production"], { error: "must be preproduction or production" }).default("preproduction"),
        infrastructure: infrastructureSchema,
        kubernetes: kubernetesSchema.prefault({}),
        system: systemSchema.prefault({}),
        core: coreSchema.prefault({}),
        access: accessSchema.prefault({}),
        release: releaseSchema.optional(),
    })
    // Runs even when other keys are wrong (all problems at once), so it reads the input defensively.
    .superRefine(
        (p, ctx) => {
            if (p?.tier !== "production") return;
            const masters = (p.infrastructure as { compute?: { masters?: { size?: unknown } } } | undefined)?.compute?.masters?.size;
            if (typeof masters === "number" && masters < 5) {
                ctx.addIssue({
                    code: "custom",
                    path: ["infrastructure", "compute", "masters", "size"],
                    message: "must be at least 5 when tier is production (survives two master failures)",
                });
            }
            if (!p.release) {
                ctx.addIssue({
                    code: "custom",
                    path: ["release"],
                    message: "is required when tier is production (production runs a pinned release: set version and registry)",
                });
            }
        },
        { when: () => true },
    )
    .describe("Aura Platform deployment profile");

/** What the YAML holds once validated, before the stack-dependent defaults are applied. */
export type ParsedProfile = z.infer<typeof profileSchema>;
