// The `aura` command line: validate, plan and schema. No Pulumi CLI, no credentials.
// Exit codes: 0 success, 1 the profile or program refused the input, 2 usage error, 3 internal error.
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { Profile, ProfileError, environmentTaken, loadProfile, profileSchema, secureStackKeys, stackConfig, stackEnvironments } from "../profiles";
import { inputErrorMessage, profileBaseName, stackFromProfilePath } from "./common";
import { mockKeyPair } from "./mocks";
import { Plan, PlannedResource } from "./plan";
import { vcpuQuota } from "../components/infra/nodes";
import { ALERT_WEBHOOK_KEY } from "../components/system/alerting";
import { SECRET_KEY_PREFIX } from "../components/core/secrets";
import { STACK_NAME_RULE, isStackConfigKey, isStackName } from "../components/stackConfig";

/** The project folder: Pulumi.yaml and every Pulumi.<stack>.yaml. */
const PROJECT_ROOT = path.join(__dirname, "..");

export { secureStackKeys, stackConfig };

const USAGE = `Usage:
  aura validate <profile> [--stack <name>]
  aura plan <profile> [--stack <name>] [--json] [--show-secrets] [--svg <file>]
  aura diff <base-profile> <head-profile> [--stack <name>] [--json | --markdown]
  aura diff --ref <git-ref> <profile> [--stack <name>] [--json | --markdown]
  aura promote --from <stack> --to <stack> [--from-deployment] [--dry-run]
  aura promote --check [--from <stack>] --to <stack>
  aura schema

  validate   check a deployment profile; every problem is listed
  plan       run the Pulumi program under mocks and list every resource pulumi up would register
  diff       plan two profiles (or a profile at a git ref and now) and list what changes, dangerous first
  promote    write one stack's release into another stack's profile and print the diff;
             --check: exit 4 when the other stack's profile does not pin it yet
  schema     print the profile's JSON Schema (for editors)

  --stack         stack name; plan defaults to the profile's file name (dev for profiles/dev.yaml),
                  validate checks the profile on its own without it
  --json          machine-readable plan
  --show-secrets  print the mock run's placeholder secret values instead of "[secret]"
  --svg <file>    also draw the plan (stages, components, pools, masters per zone, charts) as SVG`;

class UsageError extends Error {}

interface Parsed {
    command: string;
    positional: string[];
    flags: { stack?: string; json: boolean; showSecrets: boolean; svg?: string };
}

/** The options each command takes; any other is refused, not ignored. */
const COMMAND_OPTIONS: Record<string, string[]> = {
    validate: ["--stack"],
    plan: ["--stack", "--json", "--show-secrets", "--svg"],
    schema: [],
};

function parseArgs(argv: string[]): Parsed {
    const [command, ...rest] = argv;
    const positional: string[] = [];
    const flags: Parsed["flags"] = { json: false, showSecrets: false };
    const seen = new Set<string>();
    for (let i = 0; i < rest.length; i++) {
        const arg = rest[i];
        if (arg === "--help" || arg === "-h") return { command: "help", positional: [], flags };
        const option = arg.split("=")[0];
        if (arg.startsWith("-") && COMMAND_OPTIONS[command] && !COMMAND_OPTIONS[command].includes(option)) {
            const meant = option === "-s" && COMMAND_OPTIONS[command].includes("--stack") ? ": the stack is --stack <name>" : "";
            throw new UsageError(`aura ${command} takes no ${option}${meant}${COMMAND_OPTIONS[command].length ? ` (its options: ${COMMAND_OPTIONS[command].join(", ")})` : ""}`);
        }
        if (arg.startsWith("-")) {
            if (seen.has(option)) throw new UsageError(`${option} is given twice`);
            seen.add(option);
        }
        if (arg === "--json") flags.json = true;
        else if (arg === "--show-secrets") flags.showSecrets = true;
        else if (arg === "--stack" || arg.startsWith("--stack=")) {
            const value = arg.includes("=") ? arg.slice("--stack=".length) : rest[++i];
            if (!value || value.startsWith("-")) throw new UsageError("--stack needs a stack name, e.g. --stack dev");
            if (!isStackName(value)) throw new UsageError(`--stack ${value}: ${STACK_NAME_RULE}`);
            flags.stack = value;
        } else if (arg === "--svg" || arg.startsWith("--svg=")) {
            const value = arg.includes("=") ? arg.slice("--svg=".length) : rest[++i];
            if (!value || value.startsWith("-")) throw new UsageError("--svg needs a file name, e.g. --svg plan.svg");
            // The picture replaces the file: never a profile or a stack file given by mistake.
            if (!/\.svg$/i.test(value)) throw new UsageError(`--svg ${value}: the picture replaces the file, so its name must end in .svg, e.g. --svg plan.svg`);
            flags.svg = value;
        } else if (arg.startsWith("-")) throw new UsageError(`unknown option ${arg}`);
        else positional.push(arg);
    }
    return { command: command ?? "", positional, flags };
}

function expectProfileArg(p: Parsed): string {
    if (p.positional.length !== 1) throw new UsageError(`aura ${p.command} takes one profile path, e.g. aura ${p.command} profiles/dev.yaml`);
    return p.positional[0];
}

export async function main(argv: string[]): Promise<number> {
    // diff and promote parse their own options (cli/diff.ts, cli/promote.ts).
    const help = argv.slice(1).some((a) => a === "--help" || a === "-h");
    if (argv[0] === "diff") {
        const diff = await import("./diff");
        if (help) return process.stdout.write(`${diff.DIFF_USAGE}\n`), 0;
        return diff.diffCommand(argv.slice(1));
    }
    if (argv[0] === "promote") {
        const promote = await import("./promote");
        if (help) return process.stdout.write(`${promote.PROMOTE_USAGE}\n`), 0;
        return promote.promoteCommand(argv.slice(1));
    }
    try {
        const p = parseArgs(argv);
        switch (p.command) {
            case "validate":
                return validate(expectProfileArg(p), p.flags.stack);
            case "plan":
                return await plan(expectProfileArg(p), p.flags);
            case "schema":
                if (p.positional.length) throw new UsageError("aura schema takes no arguments");
                process.stdout.write(`${JSON.stringify(profileJsonSchema(), null, 2)}\n`);
                return 0;
            case "help":
            case "--help":
            case "-h":
                process.stdout.write(`${USAGE}\n`);
                return 0;
            default:
                throw new UsageError(p.command ? `unknown command ${p.command}` : "no command given");
        }
    } catch (e) {
        if (e instanceof UsageError) {
            process.stderr.write(`aura: ${e.message}\n\n${USAGE}\n`);
            return 2;
        }
        throw e;
    }
}

/** Stands in for the stack name when validate checks a profile on its own (a valid environment name). */
const STANDALONE_STACK = "standalone";

/**
 * For a profile path that is not there but names a stack (`aura plan dev`): the profile that
 * stack's config names, as a hint. Undefined when the file exists or no stack file helps.
 */
function missingProfile(file: string, stack: string | undefined): string | undefined {
    if (fs.existsSync(file)) return undefined;
    const name = stack ?? profileBaseName(file);
    if (!isStackName(name)) return undefined;
    let configured: string | undefined;
    try {
        configured = stackConfig(name, PROJECT_ROOT)["aura:profile"];
    } catch (e) {
        if (!(e instanceof ProfileError)) throw e;
        return undefined; // an unreadable stack file is reported where it is read
    }
    return configured ? `${file}: cannot read the profile: no such file — did you mean ${configured} (Pulumi.${name}.yaml's aura:profile)?` : undefined;
}

function validate(file: string, stack?: string): number {
    const missing = missingProfile(file, stack);
    if (missing) {
        process.stderr.write(`${missing}\n`);
        return 1;
    }
    let profile: Profile;
    try {
        // A file name is no stack name: without --stack, everything but the stack-derived
        // environment name is checked, and the summary says what a stack name must be.
        profile = loadProfile(file, { stack: stack ?? STANDALONE_STACK, standalone: stack === undefined });
    } catch (e) {
        if (e instanceof ProfileError) {
            process.stderr.write(`${e.message}\n`);
            return 1;
        }
        throw e;
    }
    // Another stack of the project deploying the same environment (pulumi up refuses it too, unless
    // this stack's last deployment was that environment).
    const taken = stack === undefined ? undefined : environmentTaken(profile, stack, file, stackEnvironments(PROJECT_ROOT));
    if (taken) {
        process.stderr.write(`${taken}\n`);
        return 1;
    }
    process.stdout.write(`${file}: valid — ${summary(profile, stack === undefined)}\n`);
    process.stdout.write(`${quotaLine(profile)}\n`);
    if (stack !== undefined) {
        let config: Record<string, string> = {};
        try {
            config = stackConfig(stack, PROJECT_ROOT);
        } catch (e) {
            // A stack file that cannot be read is aura plan's to report; validate checks the profile.
            if (!(e instanceof ProfileError)) throw e;
        }
        const note = otherProfileNote(stack, file, config);
        if (note) process.stderr.write(`${note}\n`);
    }
    return 0;
}

/** The vCPU quota the profile needs in its region (README: Deploy an environment). */
export function quotaLine(p: Profile): string {
    const masters = p.infrastructure.compute.masters;
    const q = vcpuQuota([
        { vmSize: masters.type, minCount: masters.size, maxCount: masters.size },
        ...p.pools.map((pool) => ({ vmSize: pool.vmSize, minCount: pool.minSize, maxCount: pool.maxSize })),
    ]);
    const sizes = Object.entries(q.bySize).map(([size, need]) => `${size} ${need.min}-${need.max}`).join(", ");
    const unknown = q.unknownSizes.length ? `; vCPUs of ${q.unknownSizes.join(", ")} unknown here, add them` : "";
    return `vCPU quota needed in ${p.infrastructure.region}: ${q.min} at min_size, ${q.max} at max_size (${sizes})${unknown}`;
}

function summary(p: Profile, standalone: boolean): string {
    const pools = p.pools.map((pool) => `${pool.name} ${pool.minSize}-${pool.maxSize}`).join(", ");
    const environment =
        standalone && p.environmentFromStack
            ? "environment from the stack name (no environment: key; a stack for this profile needs a name that is a DNS label of at most 20 characters, e.g. dev, or set environment:)"
            : `environment ${p.environment}`;
    return (
        `${environment} (${p.tier}), ${p.infrastructure.region}, ` +
        `${p.infrastructure.compute.masters.size} masters, pools ${pools}, ` +
        `${Object.keys(p.core.services).length} core services, Kubernetes ${p.kubernetes.version}, ` +
        `release ${p.release.version} from ${p.release.registry}${p.releaseSource === "profile" ? "" : " (the installer's default)"}`
    );
}

/** The profile's JSON Schema, as editors read it. */
export function profileJsonSchema(): object {
    return z.toJSONSchema(profileSchema, { io: "input", unrepresentable: "any" });
}

// ---------------------------------------------------------------------------------------------
// plan

/** What the plan uses for a stack secret it cannot decrypt: the stack's webhook is shown, never read. */
export const PLACEHOLDER_ALERT_WEBHOOK = "https://alerts.invalid/aura-plan-placeholder";
/** Likewise for a workload's stack secret (`aura:secrets.<name>`). */
export const PLACEHOLDER_STACK_SECRET = "aura-plan-placeholder";

/** Stack config for a plan without credentials, and what in it stands in for what only `pulumi up` reads. */
export interface OfflineConfig {
    config: Record<string, string>;
    /** Keys whose values are secrets (the placeholders of encrypted values). */
    secretConfigKeys: string[];
    /** The keys that hold placeholders, as the plan's header names them. */
    placeholders: string[];
}

/**
 * Stack config for an offline plan: the plain `aura:*` values of Pulumi.<stack>.yaml (or `given`);
 * an encrypted value, which only `pulumi up` can read, is a secret placeholder of the right shape;
 * an unset SSH key a placeholder key.
 */
export function offlineConfig(stack: string, given?: Record<string, string>, root: string = PROJECT_ROOT): OfflineConfig {
    const config = { ...(given ?? stackConfig(stack, root)) };
    const secretConfigKeys: string[] = [];
    const placeholders: string[] = [];
    // A stack name with no stack file (a typo, or a stack not created yet) plans with no stack config: say so.
    if (!given && !fs.existsSync(path.join(root, `Pulumi.${stack}.yaml`))) placeholders.push(`all of it: there is no Pulumi.${stack}.yaml (check --stack, or create the stack: pulumi stack init ${stack})`);
    for (const key of given ? [] : secureStackKeys(stack, root)) {
        const value =
            key === ALERT_WEBHOOK_KEY ? PLACEHOLDER_ALERT_WEBHOOK
            : key.startsWith(`aura:${SECRET_KEY_PREFIX}`) ? PLACEHOLDER_STACK_SECRET
            : key === "aura:sshPublicKey" ? placeholderSshKey()
            : undefined;
        if (value === undefined && isStackConfigKey(key)) {
            placeholders.push(`${key} (a secret the plan cannot read: left unset)`);
            continue;
        }
        // A secure key the program does not know (a typo) is passed on, for the program to refuse it as `pulumi up` does.
        config[key] = value ?? PLACEHOLDER_STACK_SECRET;
        secretConfigKeys.push(key);
        placeholders.push(`${key} (a secret)`);
    }
    // Only an unset key: an empty one is refused by the program, as under `pulumi up`.
    if (config["aura:sshPublicKey"] === undefined) {
        config["aura:sshPublicKey"] = placeholderSshKey();
        placeholders.push("aura:sshPublicKey");
    }
    return { config, secretConfigKeys, placeholders };
}

/** An OpenSSH-format Ed25519 public key derived from a fixed seed: a stand-in for the plan. */
export function placeholderSshKey(): string {
    const spki = Buffer.from(mockKeyPair("ssh").publicKeyPem.replace(/-----[A-Z ]+-----|\s/g, ""), "base64");
    const raw = spki.subarray(spki.length - 32);
    const len = (n: number) => {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(n);
        return b;
    };
    const type = Buffer.from("ssh-ed25519");
    const blob = Buffer.concat([len(type.length), type, len(raw.length), raw]);
    return `ssh-ed25519 ${blob.toString("base64")} aura-plan-placeholder`;
}

/**
 * A note when the stack's config names another profile than `file` (`--stack prod` given dev's
 * profile): `pulumi up -s <stack>` deploys the one its config names.
 */
export function otherProfileNote(stack: string, file: string, config: Record<string, string>, root: string = PROJECT_ROOT): string | undefined {
    const configured = config["aura:profile"];
    if (!configured || path.resolve(root, configured) === path.resolve(file)) return undefined;
    return `aura: note: Pulumi.${stack}.yaml's aura:profile is ${configured}, not ${file}: pulumi up -s ${stack} deploys that profile, not this one`;
}

async function plan(file: string, flags: Parsed["flags"]): Promise<number> {
    const missing = missingProfile(file, flags.stack);
    if (missing) {
        process.stderr.write(`${missing}\n`);
        return 1;
    }
    let result: Plan;
    let placeholders: string[];
    let stack: string;
    try {
        stack = flags.stack ?? stackFromProfilePath(file);
        const offline = offlineConfig(stack);
        const { config, secretConfigKeys } = offline;
        placeholders = offline.placeholders;
        const note = otherProfileNote(stack, file, config);
        if (note) process.stderr.write(`${note}\n`);
        const { runPlan } = await import("./plan");
        const { offlineStackOutputs } = await import("./promote");
        if (config["aura:promoteFrom"]) placeholders.push(`${config["aura:promoteFrom"]}'s release and images (assumed to be this profile's)`);
        result = await runPlan({ profile: file, stack, config, secretConfigKeys, showSecrets: flags.showSecrets, stackOutputs: offlineStackOutputs(config, file, stack) });
    } catch (e) {
        const message = inputErrorMessage(e);
        if (message === undefined) throw e;
        process.stderr.write(`${message}\n`);
        return 1;
    }

    if (flags.json) {
        process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    } else {
        process.stdout.write(renderTree(result, placeholders));
    }
    if (flags.svg) return writePicture(result, flags.svg);
    return 0;
}

/** Draws the plan into `file` (aura plan --svg). */
async function writePicture(result: Plan, file: string): Promise<number> {
    const { planToSvg } = await import("./picture");
    const svg = await planToSvg(result);
    try {
        fs.writeFileSync(file, svg);
    } catch (e) {
        process.stderr.write(`--svg ${file}: cannot write the picture: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
        return 1;
    }
    process.stderr.write(`aura: drew the plan into ${file}\n`);
    return 0;
}

/**
 * What a reviewer looks for in a resource, on its line of the tree: sizes and zones, pool bounds,
 * chart versions, autoscaling bounds, disruption budgets. The JSON plan has everything.
 */
export function resourceFacts(r: PlannedResource): string {
    const i = r.inputs as Record<string, any>;
    const zone = Array.isArray(i.zones) && i.zones.length ? `, zone ${i.zones.join(", ")}` : "";
    switch (r.type) {
        case "azure-native:compute:VirtualMachine":
            return `${i.hardwareProfile?.vmSize}${zone}`;
        case "azure-native:compute:VirtualMachineScaleSet":
            return `${i.sku?.name}${zone}, ${i.tags?.min}..${i.tags?.max} nodes, now ${i.sku?.capacity}`;
        case "kubernetes:helm.sh/v4:Chart":
            return `chart ${i.chart} ${i.version}`;
        case "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": {
            const cpu = (i.spec?.metrics as any[] | undefined)?.find((m) => m.resource?.name === "cpu")?.resource?.target?.averageUtilization;
            return `${i.spec?.minReplicas}..${i.spec?.maxReplicas} replicas${cpu ? ` at ${cpu}% CPU` : ""}`;
        }
        case "kubernetes:apps/v1:Deployment":
            return i.spec?.replicas === undefined ? "replicas from its HPA" : `${i.spec.replicas} replica${i.spec.replicas === 1 ? "" : "s"}`;
        case "kubernetes:policy/v1:PodDisruptionBudget":
            return i.spec?.minAvailable !== undefined ? `minAvailable ${i.spec.minAvailable}` : `maxUnavailable ${i.spec?.maxUnavailable}`;
        default:
            return "";
    }
}

function renderTree(plan: Plan, placeholders: string[]): string {
    const lines: string[] = [`Plan for stack ${plan.stack} (${plan.profile}): ${plan.resources.length} resources`];
    if (placeholders.length) lines.push(`(placeholder values for stack config that is unset or unreadable offline: ${placeholders.join(", ")})`);
    const children = new Map<string | null, PlannedResource[]>();
    for (const r of plan.resources) {
        const list = children.get(r.parent) ?? [];
        list.push(r);
        children.set(r.parent, list);
    }
    const walk = (parent: string | null, prefix: string) => {
        const list = children.get(parent) ?? [];
        list.forEach((r, i) => {
            const last = i === list.length - 1;
            const flags: string[] = [];
            if (r.options.protect) flags.push("protect");
            if (r.options.ignoreChanges) flags.push(`ignoreChanges: ${r.options.ignoreChanges.join(", ")}`);
            const flagText = flags.length ? `  [${flags.join("; ")}]` : "";
            const facts = resourceFacts(r);
            lines.push(`${prefix}${last ? "└─ " : "├─ "}${r.type}  ${r.name}${facts ? `  (${facts})` : ""}${flagText}`);
            walk(r.urn, `${prefix}${last ? "   " : "│  "}`);
        });
    };
    walk(null, "");
    lines.push("", "Outputs:");
    for (const [key, value] of Object.entries(plan.outputs)) {
        lines.push(`  ${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
    }
    return `${lines.join("\n")}\n`;
}
