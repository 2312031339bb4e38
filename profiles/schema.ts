// The deployment profile: its zod schema, defaults and the seed's rules.
// The schema is the single description of the profile: `loadProfile` validates with it, `aura schema`
// turns it into JSON Schema for editors, and the stages read its typed output.
import { z } from "zod";
import { AZURE_REGIONS, AZURE_VM_SIZES, bootableVmSizes, masterSizeProblem, unbootableSize } from "./azure";
import { cidrContains, cidrProblem, cidrsOverlap, parseCidr } from "./cidr";
import { closest } from "./messages";
import { imageProblem, registryProblem } from "./release";
import { nearMisses, parseQuantity, quantityProblem } from "./values";
import { DEFAULT_KUBERNETES_VERSION, kubernetesVersionProblem } from "./versions";

// A run parses one profile: compiling zod's fast path for it (`new Function`) costs more than the
// one parse it speeds up (measured: 17 ms with it, 10 ms without). The results are the same.
z.config({ jitless: true });

type Ctx = z.core.$RefinementCtx;
/** Adds a custom problem at `path` (relative to the refined value). */
function refuse(ctx: Ctx, path: PropertyKey[], message: string, params?: Record<string, unknown>): void {
    ctx.addIssue({ code: "custom", path, message, ...(params ? { params } : {}) } as Parameters<Ctx["addIssue"]>[0]);
}
/** The plain mapping `v`, or undefined: refinements that run beside other problems read input defensively. */
export function mapping(v: unknown): Record<string, unknown> | undefined {
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

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
    .superRefine((v, ctx) => {
        const unbootable = AZURE_VM_SIZES.has(v) ? unbootableSize(v) : undefined;
        if (AZURE_VM_SIZES.has(v) && !unbootable) return;
        if (unbootable) {
            refuse(ctx, [], `${unbootable.why}, so use another size${unbootable.instead ? ` such as ${unbootable.instead}` : ""}`);
            return;
        }
        // Compared case-insensitively, with the Standard_ prefix a short form leaves out; nothing is like "".
        const like = v.trim() !== "" && v.length <= 40 ? closest(/^standard_/i.test(v) ? v : `Standard_${v}`, bootableVmSizes(), 3) : undefined;
        refuse(ctx, [], `is not a known Azure VM size (${like ? `did you mean ${like}?` : "such as Standard_D4s_v5"}; the list is in profiles/azure.ts)`);
    })
    .describe("Azure VM size, e.g. Standard_D4s_v5 (the known sizes are listed in profiles/azure.ts)");

// `what` names the field in the JSON Schema's sense only; messages already carry the key path.
// The error map speaks for the type only: a bound without its own message is said by the profile
// loader ("must be at most 100"), not as "must be a whole number".
const count = (_what: string) => z.int({ error: (issue) => (issue.code === "invalid_type" ? "must be a whole number" : undefined) });

const cidr = z.string().superRefine((v, ctx) => {
    const why = cidrProblem(v);
    if (why) refuse(ctx, [], why);
});

/** A CPU or memory quantity as Kubernetes accepts it: `cpu: 2`, `"500m"`, `1.5Gi`; kept as text. */
const quantity = (kind: "cpu" | "memory") =>
    z
        .union([z.string().max(40), z.number()], { error: `must be a Kubernetes ${kind} quantity` })
        .transform((v) => String(v))
        .superRefine((v, ctx) => {
            const why = quantityProblem(v, kind);
            if (why) refuse(ctx, [], why);
        });
const cpuQuantity = quantity("cpu");
const memoryQuantity = quantity("memory");

// ---------------------------------------------------------------------------------------------
// infrastructure

/** etcd's own advice: more than 7 members slow every write and buy no useful tolerance. */
export const MAX_MASTERS = 7;
/** Agent pools (VM scale sets) a profile may define, the three required ones included. */
export const MAX_POOLS = 12;
const MAX_SERVICES = 100;
const MAX_JOBS = 50;
/** Addresses Azure keeps in every subnet (network, gateway, two DNS, broadcast). */
const AZURE_RESERVED_ADDRESSES = 5;
/** Pod range each node gets from pod_cidr (kube-controller-manager's default node CIDR mask). */
const NODE_POD_PREFIX = 24;

export const mastersSchema = z
    .strictObject({
        size: count("masters.size")
            .min(3, { error: "must be at least 3 (etcd needs three members to survive the loss of one)" })
            .max(MAX_MASTERS, { error: `must be at most ${MAX_MASTERS} (every etcd member adds write latency; 5 survive two failures)` })
            .refine((n) => n % 2 === 1, { error: "must be odd (etcd needs a majority of an odd number of members)" })
            .describe("Number of master VMs: odd, 3 in preproduction, 5 in production. Never change it on an existing environment."),
        type: vmSize.superRefine((v, ctx) => {
            const why = AZURE_VM_SIZES.has(v) ? masterSizeProblem(v) : undefined;
            if (why) refuse(ctx, [], why);
        }),
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
        custom: z
            .boolean()
            .optional()
            .describe("true marks a new pool name as deliberate: a name close to common, database or management is otherwise refused as a typo"),
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
/** Names no pool may take: the control plane is `masters`, not a pool. */
const RESERVED_POOLS = ["master", "masters"];

const computeSchema = z
    .object({
        masters: mastersSchema,
        common_nodes: poolSchema,
        database_nodes: poolSchema.refine((p) => typeof p?.min_size !== "number" || p.min_size >= 3, {
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
            if (!mapping(compute)) return;
            const pools: string[] = [];
            const known = ["masters", ...REQUIRED_POOLS.map((p) => `${p}_nodes`)];
            for (const [key, value] of Object.entries(compute)) {
                if (known.includes(key)) {
                    if (key !== "masters") pools.push(POOL_KEY.exec(key)![1]);
                    continue;
                }
                const name = POOL_KEY.exec(key)?.[1];
                if (name === undefined) {
                    const like = closest(key, known);
                    refuse(
                        ctx,
                        [key],
                        like
                            ? `unknown key (typos are not ignored): did you mean ${like}?`
                            : "unknown key (agent pools are named <name>_nodes, the name 1-11 lowercase letters and digits, starting with a letter)",
                        { hideValue: true },
                    );
                    continue;
                }
                if (RESERVED_POOLS.includes(name)) {
                    refuse(ctx, [key], "is not a pool: the control plane is the masters: key, and no agent pool may be named master");
                    continue;
                }
                pools.push(name);
                // Beyond the limit (refused below) a pool is counted, not checked: a misspelt size is
                // compared with every known one for a hint.
                if (pools.length > MAX_POOLS) continue;
                const pool = poolSchema.safeParse(value);
                for (const issue of pool.success ? [] : pool.error.issues) {
                    ctx.addIssue({ ...issue, path: [key, ...issue.path] } as Parameters<typeof ctx.addIssue>[0]);
                }
            }
            const custom = (name: string) => mapping(compute[`${name}_nodes`])?.custom === true;
            for (const { name, like } of nearMisses(pools, [...REQUIRED_POOLS, ...RESERVED_POOLS], custom, MAX_POOLS)) {
                refuse(
                    ctx,
                    [`${name}_nodes`],
                    `is not a known pool: did you mean ${RESERVED_POOLS.includes(like) ? "masters" : `${like}_nodes`}? (a new pool with a name this close needs custom: true)`,
                    { hideValue: true },
                );
            }
            if (pools.length > MAX_POOLS) {
                refuse(ctx, [], `defines ${pools.length} agent pools: at most ${MAX_POOLS} (each is a VM scale set the autoscaler manages)`);
            }
        },
        { when: () => true },
    )
    .describe("Masters and agent pools. Any <name>_nodes key is an agent pool named <name>.");

const DEFAULT_NETWORK = {
    masters_subnet: "10.240.0.0/24",
    agents_subnet: "10.240.16.0/20",
    pod_cidr: "10.244.0.0/16",
} as const;

const networkSchema = z
    .strictObject({
        vnet_cidr: cidr.default("10.240.0.0/16").describe("Address space of the virtual network"),
        masters_subnet: cidr.default(DEFAULT_NETWORK.masters_subnet).describe("Subnet of the master VMs, inside vnet_cidr"),
        agents_subnet: cidr.default(DEFAULT_NETWORK.agents_subnet).describe("Subnet of the agent pools, inside vnet_cidr"),
        pod_cidr: cidr.default(DEFAULT_NETWORK.pod_cidr).describe("Pod network (CNI); must not overlap the VNet"),
        service_cidr: cidr.default("10.96.0.0/12").describe("Kubernetes service network; must not overlap the VNet or pods"),
        api_allowed_cidrs: z
            .array(cidr)
            .min(1, { error: "must list at least one CIDR, or the API server is unreachable" })
            .max(100, { error: "must list at most 100 ranges (one network security rule holds them)" })
            .default(["0.0.0.0/0"])
            .describe("Source ranges allowed to reach the API server on 6443 (the other opening to the internet is nginx's load balancer, port 80, which the cloud provider adds)"),
    })
    // zod runs this even when a range above was refused, so every range is parsed again here.
    .superRefine((n, ctx) => {
        const prefix = (v: string) => parseCidr(v)?.prefix;
        for (const key of ["masters_subnet", "agents_subnet"] as const) {
            if ((prefix(n[key]) ?? 0) > 29) {
                refuse(ctx, [key], "must be /29 or larger (Azure's smallest subnet; it keeps 5 addresses of each)");
            }
            if (parseCidr(n[key]) && parseCidr(n.vnet_cidr) && !cidrContains(n.vnet_cidr, n[key])) {
                refuse(ctx, [key], `must lie inside vnet_cidr ${n.vnet_cidr}`);
            }
        }
        if (cidrsOverlap(n.masters_subnet, n.agents_subnet)) {
            refuse(ctx, ["agents_subnet"], `must not overlap masters_subnet ${n.masters_subnet}`);
        }
        if (cidrsOverlap(n.pod_cidr, n.vnet_cidr)) {
            refuse(ctx, ["pod_cidr"], `must not overlap vnet_cidr ${n.vnet_cidr} (pod traffic is routed)`);
        }
        if (cidrsOverlap(n.service_cidr, n.vnet_cidr) || cidrsOverlap(n.service_cidr, n.pod_cidr)) {
            refuse(ctx, ["service_cidr"], "must not overlap vnet_cidr or pod_cidr");
        }
        const service = prefix(n.service_cidr);
        if (service !== undefined && (service < 12 || service > 28)) {
            refuse(ctx, ["service_cidr"], "must be between /12 and /28 (kube-apiserver refuses a larger service range; a smaller one leaves no room for services)");
        }
        if ((prefix(n.pod_cidr) ?? 0) > NODE_POD_PREFIX) {
            refuse(ctx, ["pod_cidr"], `must be /${NODE_POD_PREFIX} or larger (each node takes a /${NODE_POD_PREFIX} of it for its pods)`);
        }
    });

const infrastructureSchema = z.strictObject({
    region: z
        .string()
        .superRefine((v, ctx) => {
            if (AZURE_REGIONS.includes(v)) return;
            const like = v.length <= 40 ? closest(v.toLowerCase().replace(/[\s_-]/g, ""), AZURE_REGIONS, 3) : undefined;
            refuse(ctx, [], `is not an Azure region (${like ? `did you mean ${like}?` : "such as westeurope or northeurope"}; the list is in profiles/azure.ts)`);
        })
        .describe("Azure region, e.g. westeurope (the known regions are listed in profiles/azure.ts)"),
    zones: z
        .array(z.enum(["1", "2", "3"], { error: 'must be an availability zone: "1", "2" or "3"' }))
        .refine((zs) => new Set(zs).size === zs.length, { error: "must not repeat a zone" })
        .default(["1", "2", "3"])
        .describe("Availability zones that masters and pools spread over; [] in a region without zones (no zonal resources, LRS storage)"),
    network: networkSchema.prefault({}),
    compute: computeSchema,
})
    // The network must hold what compute asks for; read defensively so it is reported beside other problems.
    .superRefine(
        (infra, ctx) => {
            const network = mapping(infra?.network) ?? {};
            const compute = mapping(infra?.compute);
            if (!compute) return;
            const size = (v: unknown) => (Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : 0);
            const masters = size(mapping(compute.masters)?.size);
            const agents = Object.entries(compute)
                .filter(([key]) => POOL_KEY.test(key))
                .reduce((sum, [, pool]) => sum + size(mapping(pool)?.max_size), 0);
            const text = (key: string, def: string) => (network[key] === undefined ? def : network[key]);
            // With zones, each range is split into one subnet per zone (components/infra/network.ts:
            // the next power of two of equal parts), and each zone's nodes must fit its own part.
            // The busiest zone is the first: it takes the remainder of every split.
            const zones = Array.isArray(infra?.zones) ? new Set(infra.zones).size : 3;
            const splitBits = zones > 1 ? Math.ceil(Math.log2(zones)) : 0;
            const busiest = (total: number) => Math.ceil(total / Math.max(zones, 1));
            const busiestAgents = Object.entries(compute)
                .filter(([key]) => POOL_KEY.test(key))
                .reduce((sum, [, pool]) => sum + busiest(size(mapping(pool)?.max_size)), 0);
            const firstZone = Array.isArray(infra?.zones) && typeof infra.zones[0] === "string" ? infra.zones[0] : "1";
            /** Usable addresses in each of the range's zonal subnets, and their prefix; undefined (and refused) if it cannot be split. */
            const room = (key: "agents_subnet" | "masters_subnet"): { capacity: number; prefix: number } | undefined => {
                const range = text(key, DEFAULT_NETWORK[key]);
                const parsed = typeof range === "string" ? parseCidr(range) : undefined;
                if (!parsed || parsed.prefix > 29) return undefined; // refused on its own
                const prefix = parsed.prefix + splitBits;
                if (prefix > 29) {
                    refuse(
                        ctx,
                        ["network", key],
                        `is too small to split into ${zones} zonal subnets of at least a /29 (one per zone in zones): give it a /${29 - splitBits} or larger range`,
                    );
                    return undefined;
                }
                return { capacity: 2 ** (32 - prefix) - AZURE_RESERVED_ADDRESSES, prefix };
            };
            const zonal = (prefix: number) => `in each zone's subnet (the range is split into one /${prefix} per zone, and Azure keeps 5 addresses of each)`;
            const agentsRoom = room("agents_subnet");
            if (agentsRoom && splitBits === 0 && agents > agentsRoom.capacity) {
                refuse(
                    ctx,
                    ["network", "agents_subnet"],
                    `has room for ${agentsRoom.capacity} nodes (Azure keeps 5 addresses) but the pools' max_size add up to ${agents}: widen the subnet or lower max_size`,
                );
            } else if (agentsRoom && splitBits > 0 && busiestAgents > agentsRoom.capacity) {
                refuse(
                    ctx,
                    ["network", "agents_subnet"],
                    `has room for ${agentsRoom.capacity} nodes ${zonal(agentsRoom.prefix)} but the pools' max_size put up to ${busiestAgents} nodes in zone ${firstZone}: widen the subnet or lower max_size`,
                );
            }
            // The first zone's subnet also holds the API server's internal load balancer (its last
            // usable address, components/infra/controlPlane.ts: internalApiAddress).
            const mastersRoom = room("masters_subnet");
            if (mastersRoom && splitBits === 0 && masters + 1 > mastersRoom.capacity) {
                refuse(
                    ctx,
                    ["network", "masters_subnet"],
                    `has room for ${mastersRoom.capacity} addresses (Azure keeps 5) but the ${masters} masters and the API server's internal load balancer need ${masters + 1}: widen the subnet`,
                );
            } else if (mastersRoom && splitBits > 0 && busiest(masters) + 1 > mastersRoom.capacity) {
                refuse(
                    ctx,
                    ["network", "masters_subnet"],
                    `has room for ${mastersRoom.capacity} addresses ${zonal(mastersRoom.prefix)} but zone ${firstZone}'s needs ${busiest(masters) + 1}: ${busiest(masters)} of the ${masters} masters and the API server's internal load balancer: widen the subnet`,
                );
            }
            const pods = text("pod_cidr", DEFAULT_NETWORK.pod_cidr);
            const podPrefix = typeof pods === "string" ? parseCidr(pods)?.prefix : undefined;
            if (podPrefix !== undefined && podPrefix <= NODE_POD_PREFIX && masters + agents > 2 ** (NODE_POD_PREFIX - podPrefix)) {
                refuse(
                    ctx,
                    ["network", "pod_cidr"],
                    `holds ${2 ** (NODE_POD_PREFIX - podPrefix)} node pod ranges (/${NODE_POD_PREFIX} each) but the cluster may grow to ${masters + agents} nodes (masters and every pool's max_size)`,
                );
            }
        },
        { when: () => true },
    );

// ---------------------------------------------------------------------------------------------
// kubernetes, system

const kubernetesSchema = z.strictObject({
    version: z
        .string()
        .superRefine((v, ctx) => {
            const why = kubernetesVersionProblem(v);
            if (why) refuse(ctx, [], why);
        })
        .default(DEFAULT_KUBERNETES_VERSION)
        .describe("Kubernetes version installed on every node (kubeadm, kubelet, control plane); bounds in profiles/versions.ts"),
});

const replicas = (def: number, min = 1, max = 50) =>
    z.strictObject({
        replicas: count("replicas")
            .min(min, { error: `must be at least ${min}` })
            .max(max, { error: `must be at most ${max}` })
            .default(def),
    });

const systemSchema = z.strictObject({
    prometheus: z
        .strictObject({
            replicas: count("replicas")
                .min(2, { error: "must be at least 2 (each replica holds all metrics; fewer loses high availability)" })
                .max(5, { error: "must be at most 5 (each replica scrapes and stores every metric)" })
                .default(2),
        })
        .prefault({}),
    alertmanager: z
        .strictObject({
            replicas: count("replicas")
                .min(2, { error: "must be at least 2 (Alertmanager runs clustered: a single replica drops alerts while it restarts)" })
                .max(5, { error: "must be at most 5" })
                .default(2),
        })
        .prefault({}),
    elasticsearch: z
        .strictObject({
            replicas: count("replicas")
                .min(1, { error: "must be at least 1" })
                .max(50, { error: "must be at most 50" })
                .refine((n) => n !== 2, {
                    error: "must be 1, or 3 or more (every node is master-eligible: of two, the one that holds the vote cannot be lost, so the second adds no availability)",
                })
                .default(3),
            log_retention_days: count("log_retention_days")
                .min(1, { error: "must be at least 1" })
                .max(365, { error: "must be at most 365 (the daily indices live on the Elasticsearch disks)" })
                .default(14)
                .describe("Days the daily log indices (logs-YYYY.MM.DD) are kept; older ones are deleted"),
        })
        .prefault({}),
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

const resourcesSchema = z
    .strictObject({
        requests: z.strictObject({ cpu: cpuQuantity, memory: memoryQuantity }),
        limits: z.strictObject({ cpu: cpuQuantity, memory: memoryQuantity }),
    })
    // zod runs this even when a quantity above was refused: read them defensively.
    .superRefine((r, ctx) => {
        for (const kind of ["cpu", "memory"] as const) {
            const read = (v: unknown) => (typeof v === "string" ? parseQuantity(v) : undefined);
            const [request, limit] = [read(r?.requests?.[kind]), read(r?.limits?.[kind])];
            if (request === undefined || limit === undefined) continue;
            if (limit === 0) refuse(ctx, ["limits", kind], "must be more than 0 (a zero limit lets the container start nothing)");
            else if (request > limit) refuse(ctx, ["requests", kind], `must not exceed limits.${kind} (${r.limits[kind]}): Kubernetes refuses a request above its limit`);
        }
    });
export type Resources = z.infer<typeof resourcesSchema>;

const envName = z
    .string()
    .max(128, { error: "must be at most 128 characters" })
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: "must be an environment variable name" });

/**
 * The last word of a variable name that says it holds a secret (`DB_PASSWORD`, `SMTP_PASS`,
 * `GIT_CREDENTIALS`, `SENTRY_DSN`, `API_TOKEN`, `STORAGE_KEY`): its value belongs in secret_env,
 * never in the profile.
 */
const SECRET_WORDS = new Set([
    "PASSWORD", "PASSWORDS", "PASSWD", "PASS", "PWD", "PASSPHRASE", "TOKEN", "TOKENS", "SECRET", "SECRETS", "KEY", "KEYS",
    "APIKEY", "ACCESSKEY", "PRIVATEKEY", "SECRETKEY", "CREDENTIAL", "CREDENTIALS", "CREDS", "DSN", "AUTHTOKEN", "ACCESSTOKEN",
]);
/** Pairs that name a secret wherever they stand (`SECRET_KEY_BASE`, `STORAGE_ACCOUNT_KEY`), unless a describing word ends the name. */
const SECRET_PAIRS = /(^|_)(SECRET_KEY|PRIVATE_KEY|API_KEY|ACCESS_KEY|ACCOUNT_KEY|CLIENT_SECRET|CONNECTION_?STRING)(_|$)/;
/** Words before a secret word that make it a setting: `PUBLIC_KEY`, `PARTITION_KEY`, `MAX_TOKENS`. */
const NOT_SECRET_BEFORE = new Set(["PUBLIC", "PARTITION", "SORT", "PRIMARY", "FOREIGN", "CACHE", "MAX", "MIN", "NUM"]);
/** Last words that describe a secret instead of holding one: `SECRET_NAME`, `TOKEN_URL`, `PASSWORD_MIN_LENGTH`. */
const DESCRIBING = new Set([
    "NAME", "URL", "URI", "ENDPOINT", "PATH", "FILE", "DIR", "ID", "REF", "PREFIX", "HEADER", "TTL", "EXPIRY", "ISSUER",
    "AUDIENCE", "LENGTH", "POLICY", "TIMEOUT", "ENABLED", "ALGORITHM", "TYPE", "VERSION", "FORMAT",
]);

/**
 * Whether an environment variable's name says it holds a secret, by its words (snake or camel case,
 * trailing digits aside): it ends in a secret word, or in a compound of one (`PGPASSWORD`,
 * `JWTSECRET`, `JWTTOKEN`), or holds a secret pair; a describing last word (`KEY_VAULT_NAME`,
 * `TOKEN_URL`) or a setting's word before the secret one (`PUBLIC_KEY`, `MAX_TOKENS`) makes it a
 * setting. `MONKEY`, `KEYCLOAK_URL`, `TOKENIZER_PATH`, `SECRETARY_EMAIL` are settings too.
 */
export function secretLookingName(name: string): boolean {
    const words = name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase().split(/_+/).map((w) => w.replace(/\d+$/, "")).filter(Boolean);
    const last = words[words.length - 1] ?? "";
    if (DESCRIBING.has(last)) return false;
    if (SECRET_PAIRS.test(words.join("_"))) return true;
    const before = words[words.length - 2];
    if (before !== undefined && NOT_SECRET_BEFORE.has(before)) return false;
    return SECRET_WORDS.has(last) || /(PASSWORD|PASSWD|SECRET|TOKEN)$/.test(last);
}

/** A URL with a password in it (`postgres://app:hunter2@db/app`, `redis://:pw@cache`): a secret whatever the variable's name. */
// Anchored on the scheme's last character: a scheme pattern of its own would be tried from every
// letter of a long value (quadratic: seconds for a few aliased 8 KB values).
const URL_WITH_PASSWORD = /[a-z0-9+.-]:\/\/[^\s/@:]*:[^\s/@]+@/i;

/** Plain environment variables: bounded, and none whose name says it is a secret. */
const plainEnv = z
    .record(envName, z.string().max(8192, { error: "must be at most 8192 characters (a profile holds settings, not files)" }))
    .superRefine((env, ctx) => {
        const names = Object.keys(env);
        if (names.length > 100) refuse(ctx, [], `sets ${names.length} variables: at most 100`, { hideValue: true });
        const secret = names.filter((n) => secretLookingName(n) || URL_WITH_PASSWORD.test(env[n]));
        for (const name of secret.slice(0, 10)) {
            refuse(
                ctx,
                [name],
                `${secretLookingName(name) ? "looks like a secret" : "holds a URL with a password"}, and env values are stored and shown in clear text: move it to secret_env ` +
                    `(secret_env: { ${name}: <secret-name> }) and store the value with pulumi config set --secret aura:secrets.<secret-name> <value>`,
                { hideValue: true },
            );
        }
    });

/** An image reference pinned to a tag or digest (see imageProblem). */
const imageRef = z
    .string()
    .min(1)
    .superRefine((v, ctx) => {
        const why = imageProblem(v);
        if (why) refuse(ctx, [], why);
    });

/** Credentials a workload receives from the system stage's database Secrets (envFrom, prefixed). */
export const DATABASES = ["postgresql", "mongodb"] as const;
const databasesSchema = z
    .array(z.enum(DATABASES, { error: "must be postgresql or mongodb" }))
    .refine((dbs) => new Set(dbs).size === dbs.length, { error: "must not repeat a database" })
    .default([])
    .describe("Databases whose credentials the workload receives as POSTGRESQL_* / MONGODB_* variables (HOST, PORT, USERNAME, PASSWORD, DATABASE, URI)");

const secretEnvSchema = z
    .record(envName, z.string().max(253).regex(/^[a-zA-Z0-9][-a-zA-Z0-9_.]*$/, { error: "must name a stack config secret" }))
    .default({})
    .describe("Environment variables read from a Kubernetes Secret; the value names the stack config secret (aura:secrets.<name>)");

const port = (what: string) => count(what).min(1, { error: "must be a port, 1-65535" }).max(65535, { error: "must be a port, 1-65535" });

const readinessProbeSchema = z
    .strictObject({
        path: z.string().max(1024).regex(/^\//, { error: "must be an HTTP path starting with /" }),
        port: port("port").optional().describe("Default: the service's port"),
        initial_delay_seconds: count("initial_delay_seconds").min(0).max(3600).default(5),
        period_seconds: count("period_seconds").min(1).max(3600).default(10),
    })
    .describe("HTTP GET readiness probe: the Service sends traffic only to pods that answer 2xx/3xx");

/** Refuses a variable set both in env and in secret_env. */
function refuseEnvTwice(w: { env?: unknown; secret_env?: unknown } | undefined, ctx: Ctx): void {
    const env = mapping(w?.env) ?? {};
    for (const name of Object.keys(mapping(w?.secret_env) ?? {}).filter((n) => Object.prototype.hasOwnProperty.call(env, n))) {
        refuse(ctx, ["secret_env", name], "is also set in env: a variable comes from env or from secret_env, not both", { hideValue: true });
    }
}

const customName = z
    .boolean()
    .optional()
    .describe("true marks a new name as deliberate: a name close to a platform default is otherwise refused as a typo");

const serviceSchema = z
    .strictObject({
        service_replicas: count("service_replicas")
            .min(1, { error: "must be at least 1 (it is the HPA's minReplicas)" })
            .max(100, { error: "must be at most 100 (the HPA scales up to max_factor times this)" })
            .default(2)
            .describe("Replicas at rest; the HPA scales between this and max_factor times this"),
        image: imageRef.optional().describe("Container image, pinned by tag or digest; default <release.registry>/<name>:<release.version>"),
        port: port("port").default(8080).describe("Container port the Service (port 80) forwards to"),
        metrics_port: port("metrics_port")
            .optional()
            .describe("Container port serving Prometheus metrics on /metrics; Prometheus scrapes it (named `metrics`)"),
        env: plainEnv.default({}).describe("Plain environment variables (no secrets: names that say secret, e.g. DB_PASSWORD, API_TOKEN, SMTP_PASS, SENTRY_DSN, and URLs with a password are refused; TOKEN_URL, MAX_TOKENS, PUBLIC_KEY are settings)"),
        secret_env: secretEnvSchema,
        databases: databasesSchema,
        readiness_probe: readinessProbeSchema.optional(),
        resources: resourcesSchema.optional().describe("Container requests and limits; defaults from the platform's figures"),
        custom: customName,
    })
    .superRefine(refuseEnvTwice)
    .superRefine((svc, ctx) => {
        if (svc.metrics_port !== undefined && svc.metrics_port === svc.port) {
            refuse(ctx, ["metrics_port"], `must differ from port (${svc.port}): a container declares each port once; leave metrics_port out if metrics are not on a port of their own`);
        }
    });
export type ServiceProfile = z.infer<typeof serviceSchema>;

const jobSchema = z
    .strictObject({
        image: imageRef.optional().describe("Container image, pinned by tag or digest; default <release.registry>/<name>:<release.version>"),
        command: z.array(z.string().max(4096)).max(100, { error: "must have at most 100 arguments" }).optional(),
        env: plainEnv.default({}),
        secret_env: secretEnvSchema,
        databases: databasesSchema,
        after: z
            .array(dnsLabel("a service name"))
            .max(100)
            .optional()
            .describe("Core services that must be available before the job runs; default: every core service"),
        backoff_limit: count("backoff_limit").min(0).max(100, { error: "must be at most 100" }).default(3),
        custom: customName,
    })
    .superRefine(refuseEnvTwice);
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

/** Refuses names in `entries` that read as typos of `known` ones, unless marked custom: true. */
function refuseNearMisses(ctx: Ctx, entries: Record<string, unknown>, known: readonly string[], what: string, max: number): void {
    const custom = (name: string) => mapping(entries[name])?.custom === true;
    for (const { name, like } of nearMisses(Object.keys(entries), known, custom, max).slice(0, 10)) {
        refuse(ctx, [name], `is not a known ${what}: did you mean ${like}? (a new ${what} with a name this close needs custom: true)`, { hideValue: true });
    }
}

// A Service name is a DNS-1035 label: it must start with a letter.
const SERVICE_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const serviceMap = z
    .record(
        z
            .string()
            .max(63, { error: "a service name must be at most 63 characters" })
            .regex(SERVICE_NAME, {
                error: "a service name must be a DNS label that starts with a letter (it names a Kubernetes Service): lowercase letters, digits and '-'",
            }),
        serviceSchema,
    )
    .superRefine(
        (services, ctx) => {
            // Runs even when other services are wrong, so it reads the input defensively.
            if (!mapping(services)) return;
            for (const name of SINGLETON_SERVICES) {
                const replicas = mapping(services[name])?.service_replicas;
                if (replicas !== undefined && replicas !== 1) {
                    refuse(ctx, [name, "service_replicas"], "must be exactly 1 (two loaders race to load the same insight files)");
                }
            }
            refuseNearMisses(ctx, services, Object.keys(DEFAULT_SERVICES), "service", MAX_SERVICES);
            const n = Object.keys(services).length;
            if (n > MAX_SERVICES) refuse(ctx, [], `lists ${n} services: at most ${MAX_SERVICES}`, { hideValue: true });
        },
        { when: () => true },
    );

// At most 54 characters: the Job object is named <job>-<8-character spec hash>.
const jobMap = z.record(dnsLabel("a job name", 54), jobSchema).superRefine(
    (jobs, ctx) => {
        if (!mapping(jobs)) return;
        refuseNearMisses(ctx, jobs, DEFAULT_JOBS, "job", MAX_JOBS);
        const n = Object.keys(jobs).length;
        if (n > MAX_JOBS) refuse(ctx, [], `lists ${n} jobs: at most ${MAX_JOBS}`, { hideValue: true });
    },
    { when: () => true },
);

const coreSchema = z
    .strictObject({
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
        .describe("Core services by name; absent means the platform's default set. A new name close to a default one needs custom: true."),
    jobs: jobMap
        .prefault(() => Object.fromEntries(DEFAULT_JOBS.map((name) => [name, {}])))
        .describe("Provisioning jobs by name. A new name close to a default one needs custom: true."),
    })
    .superRefine((core, ctx) => {
        // A job waits for the services it provisions: each must be one the profile deploys.
        // Refinements may run beside other problems, so it reads the input defensively.
        const services = mapping(core?.services) ?? {};
        // nginx is the platform's entry point: its Service is the public load balancer (stack output publicAddress).
        if (mapping(core?.services) && !Object.prototype.hasOwnProperty.call(services, "nginx")) {
            refuse(ctx, ["services"], "must include nginx, the platform's entry point (its Service is the public load balancer): add nginx: { service_replicas: 2 }", { hideValue: true });
        }
        for (const [job, spec] of Object.entries(mapping(core?.jobs) ?? {})) {
            // A job's pods carry app=<name> and read <name>-env: under a service's name they would join
            // its Service (traffic), HPA and PDB, and share its ConfigMap and Secret.
            if (Object.prototype.hasOwnProperty.call(services, job)) {
                refuse(ctx, ["jobs", job], `has the name of a core service: its pods would carry the service's label app=${job} (its Service would send them traffic, its HPA and PodDisruptionBudget count them) and share ${job}-env and ${job}-secret-env: give the job another name (e.g. ${job}-setup)`, { hideValue: true });
            }
            const after = mapping(spec)?.after;
            (Array.isArray(after) ? after : []).slice(0, 100).forEach((service, i) => {
                if (typeof service !== "string" || !Object.prototype.hasOwnProperty.call(services, service)) {
                    refuse(ctx, ["jobs", job, "after", i], `names no core service (known: ${Object.keys(services).slice(0, 20).join(", ")})`);
                }
            });
        }
    });

// ---------------------------------------------------------------------------------------------
// access, release, the whole profile

const userSchema = z.strictObject({
    name: dnsLabel("a user name"),
    role: z.enum(["view", "edit", "admin"], { error: "must be view, edit or admin" }),
    namespaces: z
        .array(dnsLabel("a namespace"))
        .min(1)
        .max(10)
        .optional()
        .describe("Namespaces the role applies in: aura-<environment> (the default) and/or aura-system"),
});

const accessSchema = z.strictObject({
    users: z
        .array(userSchema)
        .max(200, { error: "must list at most 200 users" })
        .default([])
        .superRefine((users, ctx) => {
            const seen = new Set<string>();
            users.forEach((u, i) => {
                // aura-system holds every platform credential and runs privileged pods: edit there
                // (read its Secrets, run a pod as its operators' accounts or on a master's host) is
                // cluster admin in effect.
                const system = (u?.namespaces ?? []).indexOf(SYSTEM_NAMESPACE);
                if (system >= 0 && u.role !== "view") {
                    refuse(ctx, [i, "namespaces", system], `gives ${u.role} in ${SYSTEM_NAMESPACE}, which holds the platform's credentials and runs privileged pods (cluster admin in effect): a user gets view there; break-glass work uses the root kubeconfig`);
                }
                if (typeof u?.name !== "string") return;
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
        .max(255)
        .superRefine((v, ctx) => {
            const why = registryProblem(v);
            if (why) refuse(ctx, [], why);
        })
        .describe("Registry the core images come from"),
});

/** The namespace the system stage owns; no environment may take it for its core namespace. */
export const SYSTEM_NAMESPACE = "aura-system";

export const profileSchema = z
    .strictObject({
        environment: dnsLabel("environment", 20)
            .refine((e) => `aura-${e}` !== SYSTEM_NAMESPACE, { error: `would make the core namespace ${SYSTEM_NAMESPACE}, the system stage's own` })
            .optional()
            .describe("Environment name; default: the stack name. Namespace aura-<environment>."),
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
            // Prometheus and Alertmanager run one replica per management node (hard anti-affinity): a
            // replica more than the pool can grow to would stay Pending, and pulumi up would not notice.
            const management = mapping(mapping(mapping(p?.infrastructure)?.compute)?.management_nodes)?.max_size;
            for (const service of ["prometheus", "alertmanager"] as const) {
                const replicas = mapping(mapping(p?.system)?.[service])?.replicas;
                if (typeof management === "number" && typeof replicas === "number" && replicas > management) {
                    refuse(ctx, ["system", service, "replicas"], `must be at most infrastructure.compute.management_nodes.max_size (${management}): each replica needs a management node of its own`);
                }
            }
            if (p?.tier !== "production") return;
            const masters = mapping(mapping(mapping(p.infrastructure)?.compute)?.masters)?.size;
            if (typeof masters === "number" && masters < 5) {
                refuse(ctx, ["infrastructure", "compute", "masters", "size"], "must be at least 5 when tier is production (survives two master failures)");
            }
            if (!p.release) {
                refuse(ctx, ["release"], "is required when tier is production (production runs a pinned release: set version and registry)");
            }
        },
        { when: () => true },
    )
    .describe("Aura Platform deployment profile");

/** What the YAML holds once validated, before the stack-dependent defaults are applied. */
export type ParsedProfile = z.infer<typeof profileSchema>;
