// Loading a deployment profile: YAML → zod validation → the typed `Profile` the stages read.
// Every problem a user can cause becomes one line of a `ProfileError`, never a stack trace.
import * as fs from "fs";
import * as yaml from "js-yaml";
import type { z } from "zod";
import { DEFAULT_RELEASE, Release } from "./release";
import { POOL_KEY, ParsedProfile, profileSchema } from "./schema";

/** One agent pool, from a `<name>_nodes` key. */
export interface AgentPool {
    /** The pool name: VMSS name part, `agentpool` node label and `poolName` tag. */
    name: string;
    minSize: number;
    maxSize: number;
    vmSize: string;
}

/** The validated profile with the stack-dependent defaults applied. */
export interface Profile extends Omit<ParsedProfile, "environment" | "release"> {
    /** Environment name (the profile's, or the stack name). */
    environment: string;
    /** The release deployed: the profile's, or the installer's DEFAULT_RELEASE. Always set. */
    release: Release;
    /** Where `release` came from: the profile, or the installer's default. */
    releaseSource: "profile" | "installer default";
    /** True when the profile has no `environment:` key, so the stack name is the environment name. */
    environmentFromStack: boolean;
    /** Namespaces the stages create and use. */
    namespaces: { core: string; system: string };
    /** Agent pools in a stable order (by name). */
    pools: AgentPool[];
}

/** Everything wrong with a profile, one `key.path: reason — got X` line each. */
export class ProfileError extends Error {
    constructor(
        readonly file: string,
        readonly problems: string[],
    ) {
        super(
            problems.length === 1
                ? `${file}: ${problems[0]}`
                : `${file}: ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
        );
        this.name = "ProfileError";
    }
}

/** Reads and validates the profile at `file`; `stack` supplies the default environment name. */
export function loadProfile(file: string, opts: { stack: string }): Profile {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a folder, not a file" : String(code);
        throw new ProfileError(file, [`cannot read the profile: ${why} (check the path given to aura, or aura:profile in Pulumi.<stack>.yaml)`]);
    }
    return parseProfile(text, { file, stack: opts.stack });
}

/** Validates profile text; `file` only names the source in messages. */
export function parseProfile(text: string, opts: { file: string; stack: string }): Profile {
    const { file, stack } = opts;
    let doc: unknown;
    try {
        doc = yaml.load(text, { filename: file });
    } catch (e) {
        const err = e as yaml.YAMLException;
        const where = err.mark ? `line ${err.mark.line + 1}, column ${err.mark.column + 1}` : "unknown position";
        throw new ProfileError(file, [`YAML syntax error at ${where}: ${err.reason ?? err.message}`]);
    }
    if (doc === undefined || doc === null) {
        throw new ProfileError(file, [
            "the profile is empty: it needs at least infrastructure.region and infrastructure.compute (see profiles/dev.yaml)",
        ]);
    }
    if (typeof doc !== "object" || Array.isArray(doc)) {
        throw new ProfileError(file, [`(top level): must be a mapping of keys such as infrastructure: — got ${describe(doc)}`]);
    }

    const result = profileSchema.safeParse(doc);
    if (!result.success) {
        throw new ProfileError(file, result.error.issues.flatMap((issue) => formatIssue(issue, doc)));
    }
    const parsed = result.data;

    const environment = parsed.environment ?? stack;
    if (parsed.environment === undefined && !/^[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?$/.test(stack)) {
        throw new ProfileError(file, [
            `environment: the stack name "${stack}" cannot serve as the environment name (a DNS label of at most 20 characters) — set environment: in the profile`,
        ]);
    }

    const compute = parsed.infrastructure.compute as Record<string, unknown>;
    const pools: AgentPool[] = Object.keys(compute)
        .filter((key) => POOL_KEY.test(key))
        .sort()
        .map((key) => {
            const p = compute[key] as { min_size: number; max_size: number; type: string };
            return { name: POOL_KEY.exec(key)![1], minSize: p.min_size, maxSize: p.max_size, vmSize: p.type };
        });

    return {
        ...parsed,
        environment,
        release: parsed.release ?? { ...DEFAULT_RELEASE },
        releaseSource: parsed.release ? "profile" : "installer default",
        environmentFromStack: parsed.environment === undefined,
        namespaces: { core: `aura-${environment}`, system: "aura-system" },
        pools,
    };
}

// ---------------------------------------------------------------------------------------------
// messages

type Issue = z.core.$ZodIssue;

function formatIssue(issue: Issue, doc: unknown): string[] {
    const path = issue.path.map(String);
    if (issue.code === "unrecognized_keys") {
        return issue.keys.map((key) => {
            const known = knownKeys(path);
            const hint = suggest(key, known);
            const why = hint ? ` — did you mean ${hint}?` : known.length ? ` (allowed here: ${known.join(", ")})` : "";
            return `${keyPath([...path, key])}: unknown key (typos are not ignored)${why}`;
        });
    }
    const value = valueAt(doc, path);
    if (issue.code === "invalid_type" && value === undefined) {
        return [`${keyPath(path)}: is required — missing`];
    }
    let message = issue.message;
    if (issue.code === "invalid_key") {
        const why = issue.issues[0]?.message ?? "this name is not allowed";
        return [`${keyPath(path)}: ${why} — got ${JSON.stringify(path[path.length - 1])}`];
    }
    if (value === undefined) {
        return [`${keyPath(path)}: ${message}${message.startsWith("is required") ? " — missing" : " (the default value)"}`];
    }
    if (issue.code === "invalid_type" && message.startsWith("Invalid input")) {
        message = `must be ${article(issue.expected)}`;
    } else if (issue.code === "invalid_value" && message.startsWith("Invalid option")) {
        message = `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    }
    return [`${keyPath(path)}: ${message} — got ${describe(value)}`];
}

function keyPath(path: string[]): string {
    return path.length === 0 ? "(top level)" : path.map((p) => (/^\d+$/.test(p) ? `[${p}]` : p)).join(".").replace(/\.\[/g, "[");
}

function valueAt(doc: unknown, path: string[]): unknown {
    let v: unknown = doc;
    for (const p of path) {
        if (v === null || typeof v !== "object") return undefined;
        v = (v as Record<string, unknown>)[p];
    }
    return v;
}

function describe(value: unknown): string {
    if (value === undefined) return "nothing";
    if (value === null) return "null";
    if (Array.isArray(value)) return `a list (${JSON.stringify(value).slice(0, 60)})`;
    if (typeof value === "object") return "a mapping";
    return JSON.stringify(value);
}

function article(expected: string): string {
    const names: Record<string, string> = { object: "a mapping", array: "a list", string: "a string", number: "a number", int: "a whole number", boolean: "true or false" };
    return names[expected] ?? expected;
}

/** The keys the schema allows at `path` (through defaults, optionals and records). */
function knownKeys(path: string[]): string[] {
    let schema: unknown = profileSchema;
    for (const segment of [...path, ""]) {
        // Unwrap the wrappers that carry no keys of their own.
        for (;;) {
            const def = (schema as { _zod?: { def: Record<string, unknown> } })._zod?.def;
            if (!def) return [];
            if (["default", "prefault", "optional", "nullable", "readonly", "catch"].includes(def.type as string)) {
                schema = def.innerType;
            } else if (def.type === "pipe") {
                schema = def.in;
            } else break;
        }
        const def = (schema as { _zod: { def: Record<string, unknown> } })._zod.def;
        if (segment === "") {
            return def.type === "object" ? Object.keys(def.shape as object) : [];
        }
        if (def.type === "object") schema = (def.shape as Record<string, unknown>)[segment] ?? def.catchall;
        else if (def.type === "record") schema = def.valueType;
        else if (def.type === "array") schema = def.element;
        else return [];
        if (!schema) return [];
    }
    return [];
}

/** The closest allowed key within two edits, if any. */
function suggest(key: string, known: string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = 3;
    for (const k of known) {
        const d = editDistance(key.toLowerCase(), k);
        if (d < bestDistance) [best, bestDistance] = [k, d];
    }
    return best;
}

function editDistance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
        let prev = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const tmp = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
            prev = tmp;
        }
    }
    return row[b.length];
}
