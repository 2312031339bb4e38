// Loading a deployment profile: YAML → zod validation → the typed `Profile` the stages read.
// Every problem a user can cause becomes one line of a `ProfileError`, never a stack trace.
import * as fs from "fs";
import * as yaml from "js-yaml";
import type { z } from "zod";
import { InexactNumber, KeyPath, ProfileError, capProblems, closest, keyPath, problem } from "./messages";
import { DEFAULT_RELEASE, Release } from "./release";
import { POOL_KEY, ParsedProfile, SYSTEM_NAMESPACE, profileSchema } from "./schema";

export { ProfileError } from "./messages";

/** A profile is a few KB; anything much larger is a mistake or an attack. */
export const MAX_PROFILE_BYTES = 256 * 1024;
/** Values after YAML aliases are expanded: bounds an alias bomb before anything walks it. */
const MAX_VALUES = 200_000;
/** Nesting of mappings and lists (the deepest real profile key is 6 levels down). */
const MAX_DEPTH = 24;

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

/** How the stack is known: `stack` supplies the default environment name. */
export interface StackOptions {
    stack: string;
    /**
     * True when `stack` only stands in for a stack not yet named (`aura validate` without --stack):
     * then a profile without `environment:` may bind users in any one `aura-<name>` namespace.
     */
    standalone?: boolean;
}

/**
 * The last profile loaded, by everything that decides it: `aura plan` reads the profile's release
 * before it runs the program, which loads the same file again. Shared, so frozen.
 */
let lastLoaded: { key: string; profile: Profile } | undefined;

function deepFreeze<T>(value: T): T {
    if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
        Object.freeze(value);
        for (const v of Object.values(value)) deepFreeze(v);
    }
    return value;
}

/** Reads and validates the profile at `file` (a frozen object). */
export function loadProfile(file: string, opts: StackOptions): Profile {
    const text = readProfileText(file);
    const key = JSON.stringify([file, opts.stack, opts.standalone ?? false, text]);
    if (lastLoaded?.key === key) return lastLoaded.profile;
    const profile = deepFreeze(parseProfile(text, { file, ...opts }));
    lastLoaded = { key, profile };
    return profile;
}

/**
 * The text of the profile at `file`: a regular file of at most MAX_PROFILE_BYTES of UTF-8. Named pipes,
 * devices and folders are refused before anything is read (a pipe would block, /dev/zero never ends).
 */
export function readProfileText(file: string): string {
    const refuse = (why: string) => new ProfileError(file, [`cannot read the profile: ${why}`]);
    let fd: number;
    try {
        // O_NONBLOCK: opening a named pipe with no writer would otherwise wait forever.
        fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a folder, not a file" : String(code);
        throw refuse(`${why} (check the path given to aura, or aura:profile in Pulumi.<stack>.yaml)`);
    }
    try {
        const stat = fs.fstatSync(fd);
        if (stat.isDirectory()) throw refuse("is a folder, not a file");
        if (!stat.isFile()) throw refuse("is not a regular file (a pipe, device or socket); aura reads profiles from files only");
        const tooBig = () => refuse(`is larger than ${MAX_PROFILE_BYTES / 1024} KiB, the limit for a profile (a profile is a few KB)`);
        if (stat.size > MAX_PROFILE_BYTES) throw tooBig();
        // Read at most one byte past the limit: the file may grow between fstat and read.
        const buffer = Buffer.alloc(MAX_PROFILE_BYTES + 1);
        let length = 0;
        for (let n = -1; n !== 0 && length < buffer.length; length += n) {
            n = fs.readSync(fd, buffer, length, buffer.length - length, null);
        }
        if (length > MAX_PROFILE_BYTES) throw tooBig();
        try {
            return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(buffer.subarray(0, length));
        } catch {
            throw refuse("is not UTF-8 text");
        }
    } catch (e) {
        if (e instanceof ProfileError) throw e;
        throw refuse(String((e as NodeJS.ErrnoException).code ?? (e as Error).message));
    } finally {
        fs.closeSync(fd);
    }
}

/** Validates profile text; `file` only names the source in messages. */
export function parseProfile(text: string, opts: { file: string } & StackOptions): Profile {
    const { file, stack } = opts;
    if (text.length > MAX_PROFILE_BYTES) {
        throw new ProfileError(file, [`(top level): the profile is larger than ${MAX_PROFILE_BYTES / 1024} KiB, the limit for a profile`]);
    }
    const doc = parseYaml(text, file);
    if (doc === undefined || doc === null) {
        throw new ProfileError(file, [
            "the profile is empty: it needs at least infrastructure.region and infrastructure.compute (see profiles/dev.yaml)",
        ]);
    }
    if (typeof doc !== "object" || Array.isArray(doc)) {
        throw new ProfileError(file, [problem([], "must be a mapping of keys such as infrastructure:", { value: doc })]);
    }
    const hostile = inspect(doc);
    if (hostile.length) throw new ProfileError(file, capProblems(hostile));

    const result = profileSchema.safeParse(doc);
    if (!result.success) throw new ProfileError(file, formatIssues(result.error.issues, doc));
    const parsed = result.data;

    const environment = parsed.environment ?? stack;
    if (parsed.environment === undefined && !/^[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?$/.test(stack)) {
        throw new ProfileError(file, [
            problem(["environment"], `the stack name ${JSON.stringify(stack)} cannot serve as the environment name (a DNS label of at most 20 characters): set environment: in the profile`),
        ]);
    }
    const namespaces = { core: `aura-${environment}`, system: SYSTEM_NAMESPACE };
    const late: string[] = [];
    if (namespaces.core === SYSTEM_NAMESPACE) {
        late.push(problem(["environment"], `the stack name ${JSON.stringify(stack)} would make the core namespace ${SYSTEM_NAMESPACE}, the system stage's own: set environment: in the profile`));
    }

    // Without a stack name, the first aura-<name> namespace a user names stands for the core namespace.
    let core = namespaces.core;
    if (opts.standalone && parsed.environment === undefined) {
        const named = parsed.access.users.flatMap((u) => u.namespaces ?? []).find((ns) => ns !== SYSTEM_NAMESPACE);
        if (named && /^aura-[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?$/.test(named)) core = named;
    }
    parsed.access.users.forEach((user, i) =>
        (user.namespaces ?? []).forEach((ns, j) => {
            if (ns !== core && ns !== namespaces.system) {
                late.push(problem(["access", "users", i, "namespaces", j], `is not a namespace the platform creates (${core} or ${namespaces.system})`, { value: ns }));
            }
        }),
    );
    if (late.length) throw new ProfileError(file, capProblems(late));

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
        namespaces,
        pools,
    };
}

// ---------------------------------------------------------------------------------------------
// parsing

// YAML integers beyond 2^53 keep their text (InexactNumber) instead of silently rounding.
const exactInt = yaml.defineScalarTag<number | InexactNumber>(yaml.intCoreTag.tagName, {
    implicit: true,
    implicitFirstChars: yaml.intCoreTag.implicitFirstChars,
    resolve(source, isExplicit, tagName) {
        const n = yaml.intCoreTag.resolve(source, isExplicit, tagName);
        return typeof n === "number" && !Number.isSafeInteger(n) ? new InexactNumber(source) : n;
    },
    identify: () => false,
});
const SCHEMA = yaml.CORE_SCHEMA.withTags(exactInt);

/** The one YAML document of a profile's text, read as profiles are (CORE schema, exact integers, bounded); a syntax error is a ProfileError naming `file`. */
export function parseYaml(text: string, file: string): unknown {
    let docs: unknown[];
    try {
        docs = yaml.loadAll(text, { filename: file, schema: SCHEMA, maxDepth: MAX_DEPTH, maxAliases: 200 });
    } catch (e) {
        if (e instanceof yaml.YAMLException) {
            const mark = (e as yaml.YAMLException & { mark?: { line: number; column: number } }).mark;
            if (/complex keys/.test(e.reason ?? "")) {
                // js-yaml marks the document's start for this one: name the first explicit key (`? `) instead.
                const line = text.split(/\r?\n/).findIndex((l) => /^\s*\?(\s|$)/.test(l));
                throw new ProfileError(file, [`YAML syntax error${line >= 0 ? ` at line ${line + 1}` : ""}: a key that is a list or a mapping (\`? [a, b]\`, \`{x: 1}: …\`) — keys are plain names`]);
            }
            const where = mark ? `line ${mark.line + 1}, column ${mark.column + 1}` : "unknown position";
            // js-yaml's words for a key whose colon is missing on the line above (`kubernetes` then an indented `version: …`).
            const hint = /multiline key may not be an implicit key/.test(e.reason ?? "") ? " (is the colon after a key on the line before missing?)" : "";
            throw new ProfileError(file, [`YAML syntax error at ${where}: ${e.reason ?? e.message}${hint}`]);
        }
        // js-yaml documents that it may throw other errors (e.g. a stack overflow on odd input).
        throw new ProfileError(file, [`cannot parse the profile: ${e instanceof RangeError ? "nested too deeply" : String((e as Error)?.message ?? e).slice(0, 200)}`]);
    }
    if (docs.length > 1) {
        throw new ProfileError(file, [`(top level): the file holds ${docs.length} YAML documents (separated by ---): a profile is one`]);
    }
    return docs[0];
}

/**
 * What no schema rule can see: the size of the value after aliases are expanded (an alias bomb is a few
 * lines that expand to billions of values), the nesting depth, and `__proto__` keys (which JavaScript
 * objects drop or turn into prototypes). Stops at the first bound, so it is bounded itself.
 */
function inspect(doc: unknown): string[] {
    const problems: string[] = [];
    let values = 0;
    const walk = (v: unknown, path: KeyPath): boolean => {
        if (++values > MAX_VALUES) {
            problems.push(problem([], `the profile expands to more than ${MAX_VALUES} values (YAML aliases such as *name repeat whole subtrees): a profile has a few hundred`));
            return false;
        }
        if (v === null || typeof v !== "object" || v instanceof InexactNumber) return true;
        if (path.length > MAX_DEPTH) {
            problems.push(problem(path, `is nested more than ${MAX_DEPTH} levels deep`));
            return false;
        }
        const entries: Array<[string | number, unknown]> = Array.isArray(v) ? v.map((item, i) => [i, item]) : Object.entries(v);
        for (const [key, child] of entries) {
            if (key === "__proto__") problems.push(problem([...path, key], "is not allowed (a reserved JavaScript name that would be dropped silently)"));
            if (!walk(child, [...path, key])) return false;
        }
        return true;
    };
    walk(doc, []);
    return problems;
}

// ---------------------------------------------------------------------------------------------
// messages

type Issue = z.core.$ZodIssue;

/** One line per problem, capped (a file with 20,000 unknown keys lists 40 and counts the rest). */
function formatIssues(issues: Issue[], doc: unknown): string[] {
    const lines: string[] = [];
    let total = 0;
    // A value of the wrong type gets that said once: zod also measures it against the bounds of the
    // type it should have been ("at most 10 characters" for a string where a list of 10 belongs).
    const wrongType = new Set(issues.filter((i) => i.code === "invalid_type").map((i) => JSON.stringify(i.path)));
    issues = issues.filter((i) => !((i.code === "too_small" || i.code === "too_big") && wrongType.has(JSON.stringify(i.path))));
    for (const issue of issues) {
        const keys = issue.code === "unrecognized_keys" ? issue.keys.length : 1;
        if (lines.length <= MAX_LINES) lines.push(...formatIssue(issue, doc, MAX_LINES + 1 - lines.length));
        total += keys;
    }
    const unique = [...new Set(lines)];
    return capProblems(unique.slice(0, MAX_LINES), Math.max(total - (lines.length - unique.length), unique.length));
}
const MAX_LINES = 40;

function formatIssue(issue: Issue, doc: unknown, room: number): string[] {
    const path = issue.path as Array<string | number>;
    // A huge integer is kept as an object (InexactNumber), which a mapping's schema would otherwise
    // take for a mapping with one unknown key: it is a number where a mapping belongs.
    for (let i = 0; i <= path.length; i++) {
        const value = valueAt(doc, path.slice(0, i));
        if (value instanceof InexactNumber && (i < path.length || issue.code === "unrecognized_keys")) {
            return [problem(path.slice(0, i), "must be a mapping", { value })];
        }
    }
    if (issue.code === "unrecognized_keys") {
        const known = knownKeys(path.map(String));
        return issue.keys.slice(0, room).map((key) => {
            if (key === "<<") return `${keyPath([...path, key])}: YAML merge keys are not supported (a YAML 1.1 extension): write the keys out, or use an alias for a whole value`;
            const hint = closest(key, known);
            const why = hint ? ` — did you mean ${hint}?` : known.length && known.length <= 12 ? ` (allowed here: ${known.join(", ")})` : "";
            return `${keyPath([...path, key])}: unknown key (typos are not ignored)${why}`;
        });
    }
    if (issue.code === "invalid_key") {
        const why = issue.issues[0]?.message ?? "this name is not allowed";
        return [`${keyPath(path)}: ${why}`];
    }
    const value = valueAt(doc, path);
    if (value === undefined) {
        // Nothing written here: say so, and point at a near-miss key beside it that may be the misspelling.
        const parent = valueAt(doc, path.slice(0, -1));
        const last = path[path.length - 1];
        const siblings = parent && typeof parent === "object" && !Array.isArray(parent) ? Object.keys(parent).filter((k) => k !== last) : [];
        const typo = typeof last === "string" ? closest(last, siblings) : undefined;
        const hint = typo ? ` (is ${keyPath([typo])} a misspelling of it?)` : "";
        if (issue.code === "invalid_type") return [`${keyPath(path)}: is required — missing${hint}`];
        const message = issue.message.startsWith("is required") ? `${issue.message} — missing` : `${issue.message} — not set, so the default applies`;
        return [`${keyPath(path)}: ${message}${hint}`];
    }
    let message = issue.message;
    if (issue.code === "invalid_type" && message.startsWith("Invalid input")) {
        message = `must be ${article(issue.expected)}`;
        // `version: 2026.10` is the number 2026.1 to YAML: the fix is quotes, and the value shown is not what the file says.
        if (issue.expected === "string" && (typeof value === "number" || typeof value === "boolean")) {
            message += ` (YAML read the unquoted value as ${typeof value === "number" ? "a number" : "true or false"}: put it in quotes)`;
        }
    } else if (issue.code === "invalid_value" && message.startsWith("Invalid option")) {
        message = `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    } else if (issue.code === "invalid_union") {
        message = "has the wrong type";
    } else if ((issue.code === "too_small" || issue.code === "too_big") && /^Too (small|big)/.test(message)) {
        message = sizeMessage(issue);
    }
    // `zones: [1, 2]` where the choices are the strings "1" and "2": likewise quotes.
    if (issue.code === "invalid_value" && (typeof value === "number" || typeof value === "boolean") && issue.values.map(String).includes(String(value)) && !issue.values.includes(value)) {
        message += ` (YAML read the unquoted value as ${typeof value === "number" ? "a number" : "true or false"}: put it in quotes)`;
    }
    if (issue.code === "custom" && (issue.params as { hideValue?: boolean } | undefined)?.hideValue) return [problem(path, message)];
    return [problem(path, message, { value })];
}

/** A size limit zod states in its own words ("Too small: expected string to have >=1 characters"), in ours. */
function sizeMessage(issue: Issue & { code: "too_small" | "too_big" }): string {
    const small = issue.code === "too_small";
    const limit = Number(small ? (issue as { minimum: number | bigint }).minimum : (issue as { maximum: number | bigint }).maximum);
    const bound = issue.inclusive === false ? (small ? limit + 1 : limit - 1) : limit;
    const unit = (n: number, one: string) => `${n} ${one}${n === 1 ? "" : "s"}`;
    switch (issue.origin) {
        case "string":
            return small && bound === 1 ? "must not be empty" : `must be at ${small ? "least" : "most"} ${unit(bound, "character")}`;
        case "array":
        case "set":
            return small && bound === 1 ? "must list at least one item" : `must list at ${small ? "least" : "most"} ${unit(bound, "item")}`;
        default:
            return `must be at ${small ? "least" : "most"} ${bound}`;
    }
}

function valueAt(doc: unknown, path: ReadonlyArray<string | number>): unknown {
    let v: unknown = doc;
    for (const p of path) {
        if (v === null || typeof v !== "object") return undefined;
        if (!Object.prototype.hasOwnProperty.call(v, p)) return undefined;
        v = (v as Record<string, unknown>)[p];
    }
    return v;
}

function article(expected: string): string {
    const names: Record<string, string> = { object: "a mapping", record: "a mapping", array: "a list", string: "a string", number: "a number", int: "a whole number", boolean: "true or false" };
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
