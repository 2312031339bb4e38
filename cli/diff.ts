// `aura diff`: plans two profiles (or one profile at a git ref and in the working tree) under mocks and
// lists what would be added, removed and changed between them — dangerous lines first: deletions (a
// renamed pool deletes a scale set), protected resources, masters, the metadata store. Secrets are
// compared by keyed fingerprint, so a changed secret shows as changed, and are always printed masked.
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import microdiff from "microdiff";
import { inputErrorMessage, stackFromProfilePath } from "./common";
import { offlineConfig } from "./main";
import { Plan, PlannedResource, runPlan } from "./plan";
import { offlineStackOutputs } from "./promote";
import { readProfileText } from "../profiles";
import { STACK_NAME_RULE, isStackName } from "../components/stackConfig";

export const DIFF_USAGE = `Usage:
  aura diff <base-profile> <head-profile> [--stack <name>] [--json | --markdown]
  aura diff --ref <git-ref> <profile> [--stack <name>] [--json | --markdown]

  Plans both sides under mocks with this checkout's program and lists the added, removed and changed
  resources with the changed inputs (old → new), dangerous changes first. --ref compares the profile
  as committed at <git-ref> (e.g. origin/main) with the working tree's file.

  --stack     stack whose Pulumi.<stack>.yaml config both plans use (default: the head profile's file name)
  --json      machine-readable diff
  --markdown  a pull request comment`;

/** One changed value: a dotted path (`tags["cluster-autoscaler-max"]`, `args[2]`) and old → new. */
export interface ValueChange {
    path: string;
    kind: "added" | "removed" | "changed";
    old?: unknown;
    new?: unknown;
    /** The value is a secret: both sides print as "[secret]". */
    secret?: boolean;
    /** `pulumi up` leaves this path alone (an `ignoreChanges` option). */
    ignored?: boolean;
}

export interface ResourceDiff {
    kind: "added" | "removed" | "changed";
    type: string;
    name: string;
    urn: string;
    /** Why a reviewer should look twice; empty for an ordinary change. */
    danger: string[];
    /** Input changes, and option changes as `options.<name>`. */
    changes: ValueChange[];
    /** The old URN, when an alias carries the resource over a rename. */
    renamedFrom?: string;
}

export interface PlanDiff {
    stack: string;
    base: string;
    head: string;
    /** What changed in the profile itself (YAML as written). */
    profile: ValueChange[];
    /** Dangerous first, then removed, changed, added. */
    resources: ResourceDiff[];
    outputs: ValueChange[];
}

/** One side of a diff: the profile file to plan and how to name it. */
export interface DiffSide {
    file: string;
    label?: string;
}

class DiffUsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// the diff itself

// Fingerprints are keyed per process: comparable between the two plans of one diff, useless outside it.
const FINGERPRINT_KEY = crypto.randomBytes(32);
const FINGERPRINT = /^\[secret:[0-9a-f]{24}\]$/;

function fingerprint(value: unknown): string {
    const digest = crypto.createHmac("sha256", FINGERPRINT_KEY).update(JSON.stringify(value) ?? "undefined").digest("hex");
    return `[secret:${digest.slice(0, 24)}]`;
}

function isSecret(value: unknown): boolean {
    return value === "[secret]" || (typeof value === "string" && FINGERPRINT.test(value));
}

/** A path as an operator reads it: `a.b[0]["x-y"]`. */
export function formatPath(segments: Array<string | number>): string {
    return segments
        .map((s, i) => (typeof s === "number" ? `[${s}]` : /^[A-Za-z_$][\w$]*$/.test(s) ? `${i ? "." : ""}${s}` : `[${JSON.stringify(s)}]`))
        .join("");
}

/** The structural changes from `before` to `after`, secrets masked. */
export function valueChanges(before: unknown, after: unknown, ignore: string[] = []): ValueChange[] {
    const wrap = (v: unknown) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>) : { value: v });
    return microdiff(wrap(before), wrap(after)).map((d) => {
        const p = formatPath(d.path);
        const change: ValueChange = { path: p, kind: d.type === "CREATE" ? "added" : d.type === "REMOVE" ? "removed" : "changed" };
        const oldValue = d.type === "CREATE" ? undefined : d.oldValue;
        const newValue = d.type === "REMOVE" ? undefined : d.value;
        const secret = isSecret(oldValue) || isSecret(newValue) || containsSecret(oldValue) || containsSecret(newValue);
        if (d.type !== "CREATE") change.old = maskSecrets(oldValue);
        if (d.type !== "REMOVE") change.new = maskSecrets(newValue);
        if (secret) change.secret = true;
        if (ignore.some((i) => p === i || p.startsWith(`${i}.`) || p.startsWith(`${i}[`))) change.ignored = true;
        return change;
    });
}

function containsSecret(value: unknown): boolean {
    if (value === null || typeof value !== "object") return false;
    return Object.values(value as Record<string, unknown>).some((v) => isSecret(v) || containsSecret(v));
}

/** Every fingerprint replaced by "[secret]": what may leave the process. */
function maskSecrets(value: unknown): unknown {
    if (typeof value === "string") return FINGERPRINT.test(value) ? "[secret]" : value;
    if (Array.isArray(value)) return value.map(maskSecrets);
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, maskSecrets(v)]));
    }
    return value;
}

/** A resource's identity across two plans of one stack: its type chain and name (the URN minus stack and project). */
function resourceKey(urn: string): string {
    return urn.split("::").slice(2).join("::");
}

const MASTER_TYPE = "azure-native:compute:VirtualMachine";
const SCALE_SET_TYPE = "azure-native:compute:VirtualMachineScaleSet";

function dangers(kind: ResourceDiff["kind"], before: PlannedResource | undefined, after: PlannedResource | undefined): string[] {
    const r = (after ?? before)!;
    const reasons: string[] = [];
    if (kind === "removed") {
        reasons.push(r.type === SCALE_SET_TYPE ? "deletes a scale set: its nodes and their pods go" : r.custom ? "deleted" : "deleted with its children");
    }
    if (kind !== "added" && (before?.options.protect || after?.options.protect)) reasons.push("protected");
    if (r.type === MASTER_TYPE || r.urn.includes("aura:infra:ControlPlane")) reasons.push("master / control plane");
    if (r.urn.includes("aura:infra:MetadataStore") && kind !== "added") reasons.push("metadata store (PKI, root kubeconfig)");
    return reasons;
}

function resourceChanges(before: PlannedResource, after: PlannedResource): ValueChange[] {
    const ignore = after.options.ignoreChanges ?? [];
    const inputs = valueChanges(before.inputs, after.inputs, ignore);
    // Dependencies and the provider reference name other resources; their changes show on those.
    const options = (o: PlannedResource["options"]) => ({ ...o, dependsOn: undefined, provider: undefined, aliases: undefined });
    const opts = valueChanges(options(before.options), options(after.options)).map((c) => ({ ...c, path: `options.${c.path}` }));
    return [...inputs, ...opts];
}

const KIND_ORDER = { removed: 0, changed: 1, added: 2 } as const;

/** Compares two plans of one stack. */
export function diffPlans(base: Plan, head: Plan, labels: { base?: string; head?: string } = {}): Omit<PlanDiff, "profile"> {
    const before = new Map(base.resources.map((r) => [resourceKey(r.urn), r]));
    const after = new Map(head.resources.map((r) => [resourceKey(r.urn), r]));
    const diffs: ResourceDiff[] = [];
    const matched = new Set<string>();

    for (const [key, r] of after) {
        let old = before.get(key);
        let renamedFrom: string | undefined;
        if (!old) {
            // An alias carries a renamed resource over: a change, not a delete + create.
            const alias = (r.options.aliases ?? []).map(resourceKey).find((k) => before.has(k) && !after.has(k));
            if (alias) {
                old = before.get(alias)!;
                renamedFrom = old.urn;
            }
        }
        if (!old) {
            diffs.push({ kind: "added", type: r.type, name: r.name, urn: r.urn, danger: dangers("added", undefined, r), changes: [] });
            continue;
        }
        matched.add(resourceKey(old.urn));
        const changes = resourceChanges(old, r);
        if (!changes.length && !renamedFrom) continue;
        // Changes pulumi up leaves alone (ignoreChanges) touch nothing, wherever they are.
        const danger = changes.some((c) => !c.ignored) || renamedFrom ? dangers("changed", old, r) : [];
        diffs.push({ kind: "changed", type: r.type, name: r.name, urn: r.urn, danger, changes, ...(renamedFrom ? { renamedFrom } : {}) });
    }
    for (const [key, r] of before) {
        if (matched.has(key) || after.has(key)) continue;
        diffs.push({ kind: "removed", type: r.type, name: r.name, urn: r.urn, danger: dangers("removed", r, undefined), changes: [] });
    }

    const order = (d: ResourceDiff) => [
        d.danger.length ? 0 : 1,
        KIND_ORDER[d.kind],
        // Among deletions, machines first: they carry the workloads.
        d.type === SCALE_SET_TYPE || d.type === MASTER_TYPE ? 0 : 1,
    ];
    diffs.sort((a, b) => {
        const [x, y] = [order(a), order(b)];
        for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
        return a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0;
    });

    return {
        stack: head.stack,
        base: labels.base ?? base.profile,
        head: labels.head ?? head.profile,
        resources: diffs,
        outputs: valueChanges(base.outputs, head.outputs),
    };
}

// ---------------------------------------------------------------------------------------------
// planning both sides

function readYaml(file: string): unknown {
    try {
        return yaml.load(fs.readFileSync(file, "utf8")) ?? {};
    } catch {
        return {}; // the plan reports the problem with its path
    }
}

/** Plans both sides with one stack's config and compares them. Program errors name the side's label. */
export async function runDiff(options: {
    base: DiffSide;
    head: DiffSide;
    stack: string;
    /** Stack config (`aura:key` → value); default: Pulumi.<stack>.yaml in `root`. */
    config?: Record<string, string>;
    /** The project folder whose Pulumi.<stack>.yaml holds the config; default: this project. */
    root?: string;
}): Promise<PlanDiff> {
    const { base, head, stack } = options;
    const { config, secretConfigKeys } = offlineConfig(stack, options.config, options.root);
    const planSide = async (side: DiffSide): Promise<Plan> => {
        try {
            // Sequential runs in one process: runPlan resets the mock runtime each time.
            return await runPlan({
                profile: side.file,
                stack,
                config,
                secretConfigKeys,
                maskSecret: fingerprint,
                stackOutputs: offlineStackOutputs(config, side.file, stack),
            });
        } catch (e) {
            const err = e as Error;
            if (side.label && err && typeof err.message === "string") err.message = err.message.split(side.file).join(side.label);
            throw e;
        }
    };
    const basePlan = await planSide(base);
    const headPlan = await planSide(head);
    const diff = diffPlans(basePlan, headPlan, { base: base.label ?? base.file, head: head.label ?? head.file });
    return { ...diff, profile: valueChanges(readYaml(base.file), readYaml(head.file)) };
}

/** The profile as committed at `ref`, in a temporary file (removed by `cleanup`); null when absent there. */
export function profileAtRef(ref: string, file: string): { file: string; cleanup: () => void } | null {
    const dir = path.dirname(path.resolve(file));
    const git = (...args: string[]) => spawnSync("git", ["-C", dir, ...args], { encoding: "utf8", maxBuffer: 16 << 20 });
    // The ref must name one commit (not a range, a tree or a file) in the profile's repository.
    const commit = git("rev-parse", "--verify", "--quiet", `${ref}^{commit}`);
    if (commit.error) throw new DiffUsageError(`--ref needs git: ${commit.error.message}`);
    if (commit.status !== 0) {
        const inRepo = git("rev-parse", "--git-dir").status === 0;
        throw new DiffUsageError(inRepo ? `--ref ${ref}: not a commit in the repository of ${file} (e.g. --ref origin/main or --ref HEAD~1)` : `--ref ${ref}: ${file} is not in a git repository`);
    }
    const object = `${commit.stdout.trim()}:./${path.basename(file)}`;
    const type = git("cat-file", "-t", object);
    if (type.status !== 0) return null; // the profile did not exist then
    if (type.stdout.trim() !== "blob") throw new DiffUsageError(`--ref ${ref}: ${file} was ${type.stdout.trim() === "tree" ? "a folder" : `a ${type.stdout.trim()}`} there, not a profile file`);
    const shown = git("cat-file", "blob", object);
    if (shown.status !== 0) throw new DiffUsageError(`--ref ${ref}: cannot read ${file} there (${shown.stderr.trim()})`);
    // The same base name keeps the default stack name and the profile's own messages.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aura-diff-"));
    const copy = path.join(tmp, path.basename(file));
    fs.writeFileSync(copy, shown.stdout);
    return { file: copy, cleanup: () => fs.rmSync(tmp, { recursive: true, force: true }) };
}

// ---------------------------------------------------------------------------------------------
// rendering

const WIDTH = 90;

/** A value on one line; a long one cut to `from` (where two long values first differ). */
function show(value: unknown, secret?: boolean, from = 0): string {
    if (secret) return "[secret]";
    if (value === undefined) return "(none)";
    const text = JSON.stringify(value);
    if (text.length <= WIDTH) return text;
    const start = Math.max(0, from - 20);
    return `${start ? "…" : ""}${text.slice(start, start + WIDTH - 10)}… (${text.length} chars)`;
}

function firstDifference(a: unknown, b: unknown): number {
    const [x, y] = [JSON.stringify(a) ?? "", JSON.stringify(b) ?? ""];
    let i = 0;
    while (i < x.length && i < y.length && x[i] === y[i]) i++;
    return i;
}

function changeLine(c: ValueChange): string {
    const note = c.ignored ? "   (ignoreChanges: pulumi up leaves it)" : "";
    if (c.kind === "added") return `+ ${c.path}: ${show(c.new, c.secret)}${note}`;
    if (c.kind === "removed") return `- ${c.path}: ${show(c.old, c.secret)}${note}`;
    const at = firstDifference(c.old, c.new);
    const both = c.secret ? "[secret] → [secret] (changed)" : `${show(c.old, false, at)} → ${show(c.new, false, at)}`;
    return `~ ${c.path}: ${both}${note}`;
}

const SIGN = { added: "+", removed: "-", changed: "~" } as const;

function counts(d: PlanDiff): string {
    const n = (k: ResourceDiff["kind"]) => d.resources.filter((r) => r.kind === k).length;
    const dangerous = d.resources.filter((r) => r.danger.length).length;
    return `${n("added")} to add, ${n("removed")} to delete, ${n("changed")} to change${dangerous ? ` (${dangerous} dangerous)` : ""}`;
}

/** Diff lines (`+`/`-`/`~` first), shared by the text and Markdown renderings. */
function bodyLines(d: PlanDiff): string[] {
    const lines: string[] = [];
    lines.push(`Profile: ${d.profile.length ? `${d.profile.length} change${d.profile.length === 1 ? "" : "s"}` : "no change"}`);
    for (const c of d.profile) lines.push(`  ${changeLine(c)}`);
    lines.push("", `Resources: ${d.resources.length ? counts(d) : "no change"}`);
    for (const r of d.resources) {
        const danger = r.danger.length ? `   !! ${r.danger.join("; ")}` : "";
        lines.push(`${SIGN[r.kind]} ${r.type}  ${r.name}${danger}`);
        if (r.renamedFrom) lines.push(`      (renamed from ${r.renamedFrom}, kept by alias)`);
        for (const c of r.changes) lines.push(`      ${changeLine(c)}`);
    }
    if (d.outputs.length) {
        lines.push("", "Outputs:");
        for (const c of d.outputs) lines.push(`  ${changeLine(c)}`);
    }
    return lines;
}

export function renderText(d: PlanDiff): string {
    return `${[`aura diff, stack ${d.stack}: ${d.base} → ${d.head}`, "", ...bodyLines(d)].join("\n")}\n`;
}

/** Room for several stacks in one pull request comment (GitHub refuses bodies over 65,536 characters). */
const MARKDOWN_BUDGET = 20_000;

export function renderMarkdown(d: PlanDiff): string {
    const dangerous = d.resources.filter((r) => r.danger.length);
    const out: string[] = [`### Stack \`${d.stack}\`: ${d.resources.length ? counts(d) : "no resource changes"}`, ""];
    out.push(`\`${d.base}\` → \`${d.head}\``, "");
    if (dangerous.length) {
        out.push("> [!CAUTION]", "> Review these before merging:");
        for (const r of dangerous) out.push(`> - **${r.kind === "removed" ? "delete" : r.kind === "added" ? "add" : "change"}** \`${r.type}\` \`${r.name}\`: ${r.danger.join("; ")}`);
        out.push("");
    }
    let body = bodyLines(d).join("\n").replace(/`{3,}/g, "'''");
    if (body.length > MARKDOWN_BUDGET) body = `${body.slice(0, MARKDOWN_BUDGET)}\n… (cut: run \`npx aura diff\` locally for the rest)`;
    out.push("```diff", body, "```", "");
    return out.join("\n");
}

// ---------------------------------------------------------------------------------------------
// the command

interface DiffArgs {
    positional: string[];
    stack?: string;
    ref?: string;
    format: "text" | "json" | "markdown";
}

function parseDiffArgs(args: string[]): DiffArgs {
    const parsed: DiffArgs = { positional: [], format: "text" };
    const value = (flag: string, arg: string, next: () => string | undefined): string => {
        const v = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : next();
        if (!v || v.startsWith("-")) throw new DiffUsageError(`${flag} needs a value`);
        return v;
    };
    for (let i = 0; i < args.length; i++) {
        const arg = args[i];
        const next = () => args[++i];
        if (arg === "--json" || arg === "--markdown") {
            const format = arg === "--json" ? "json" : "markdown";
            if (parsed.format !== "text" && parsed.format !== format) throw new DiffUsageError("choose one of --json and --markdown");
            parsed.format = format;
        } else if (arg === "--stack" || arg.startsWith("--stack=")) {
            parsed.stack = value("--stack", arg, next);
            if (!isStackName(parsed.stack)) throw new DiffUsageError(`--stack ${parsed.stack}: ${STACK_NAME_RULE}`);
        } else if (arg === "--ref" || arg.startsWith("--ref=")) parsed.ref = value("--ref", arg, next);
        else if (arg.startsWith("-")) throw new DiffUsageError(`unknown option ${arg}`);
        else parsed.positional.push(arg);
    }
    if (parsed.ref && parsed.positional.length !== 1) throw new DiffUsageError("aura diff --ref <git-ref> takes one profile path, e.g. aura diff --ref origin/main profiles/prod.yaml");
    if (!parsed.ref && parsed.positional.length !== 2) throw new DiffUsageError("aura diff takes two profile paths (base, head), or --ref <git-ref> and one profile");
    return parsed;
}

function render(d: PlanDiff, format: DiffArgs["format"]): string {
    if (format === "json") return `${JSON.stringify(d, null, 2)}\n`;
    return format === "markdown" ? renderMarkdown(d) : renderText(d);
}

/** `aura diff …`; returns the exit code. */
export async function diffCommand(args: string[]): Promise<number> {
    let parsed: DiffArgs;
    try {
        parsed = parseDiffArgs(args);
    } catch (e) {
        if (!(e instanceof DiffUsageError)) throw e;
        process.stderr.write(`aura: ${e.message}\n\n${DIFF_USAGE}\n`);
        return 2;
    }
    const headFile = parsed.positional[parsed.positional.length - 1];
    let cleanup = () => {};
    try {
        const stack = parsed.stack ?? stackFromProfilePath(headFile);
        let d: PlanDiff;
        if (parsed.ref) {
            // Refused as every profile is (a missing file, a folder, a pipe): an input error, exit 1.
            readProfileText(headFile);
            const atRef = profileAtRef(parsed.ref, headFile);
            if (atRef) {
                cleanup = atRef.cleanup;
                d = await runDiff({ base: { file: atRef.file, label: `${parsed.ref}:${headFile}` }, head: { file: headFile }, stack });
            } else {
                d = await diffFromNothing(`${parsed.ref}:${headFile} (absent)`, headFile, stack);
            }
        } else {
            d = await runDiff({ base: { file: parsed.positional[0] }, head: { file: headFile }, stack });
        }
        process.stdout.write(render(d, parsed.format));
        return 0;
    } catch (e) {
        const message = e instanceof DiffUsageError ? e.message : inputErrorMessage(e);
        if (message === undefined) throw e;
        process.stderr.write(`${message}\n`);
        return e instanceof DiffUsageError ? 2 : 1;
    } finally {
        cleanup();
    }
}

/** The diff of a profile that the base does not have: its whole plan is new. */
async function diffFromNothing(label: string, headFile: string, stack: string): Promise<PlanDiff> {
    const { config, secretConfigKeys } = offlineConfig(stack);
    const headPlan = await runPlan({ profile: headFile, stack, config, secretConfigKeys, maskSecret: fingerprint, stackOutputs: offlineStackOutputs(config, headFile, stack) });
    const empty: Plan = { stack, profile: label, resources: [], outputs: {} };
    return { ...diffPlans(empty, headPlan, { base: label, head: headFile }), profile: valueChanges({}, readYaml(headFile)) };
}
