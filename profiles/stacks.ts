// The project's stack files as the Pulumi CLI reads them (Pulumi.<stack>.yaml: the `aura:*` config
// the program gets), which environment each stack deploys (aura:profile → environment:, else the
// stack name), and a profile that would deploy another stack's: a copy that kept `environment: dev`
// makes two stacks manage dev's resource groups, VMs and namespace.
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { Profile, parseYaml, readProfileText } from "./load";
import { ProfileError, problem } from "./messages";
import { mapping } from "./schema";

/** Whether `value` is a `secure:` value of a stack file (encrypted; only `pulumi up` reads it): a mapping of that one key, as Pulumi reads it. */
function isSecureValue(value: unknown): value is { secure: unknown } {
    return value !== null && typeof value === "object" && !Array.isArray(value) && Object.keys(value).length === 1 && "secure" in value;
}

/**
 * The text of a top-level `config:` value of a stack file as written, when it is a plain (unquoted,
 * single-line) scalar; undefined for a quoted, block, tagged or anchored one.
 */
function plainScalarText(source: string, key: string): string | undefined {
    const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const line = new RegExp(`^[ \\t]+(?:${escaped}|"${escaped}"|'${escaped}')[ \\t]*:[ \\t]+(.*)$`, "m").exec(source);
    if (!line) return undefined;
    const text = line[1].replace(/[ \t]+#.*$/, "").trim();
    return text === "" || /^['"|>&!*[{]/.test(text) ? undefined : text;
}

/**
 * What the Pulumi CLI's YAML reader (Go yaml.v3) makes of a plain scalar where it and YAML 1.2
 * (js-yaml) disagree: integers in every base it reads (`010` is 8, `0B101`, `1_000`, beyond 2^53
 * exactly), and dates (`2026-11-27` reaches the program as Go prints the time). Undefined where they
 * agree; an error where the program would not get what the file seems to say.
 */
function pulumiScalar(text: string): string | Error | undefined {
    const int = /^([-+]?)(0[bB][01_]+|0[oO][0-7_]+|0[xX][0-9a-fA-F_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(text);
    if (int) {
        const digits = int[2].replace(/_/g, "");
        const literal = /^0[0-7]+$/.test(digits) ? `0o${digits.slice(1)}` : digits;
        // Underscores alone after a prefix (`0x_`) are no number to either reader: a string.
        if (!/^(0[bBoOxX])?[0-9a-fA-F]+$/.test(literal)) return undefined;
        return (BigInt(literal) * (int[1] === "-" ? -1n : 1n)).toString();
    }
    const date = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(text);
    if (date) return `${date[1]}-${date[2].padStart(2, "0")}-${date[3].padStart(2, "0")} 00:00:00 +0000 UTC`;
    if (/^\d{4}-\d{1,2}-\d{1,2}([Tt]|[ \t]+)\d/.test(text)) return new Error("is a timestamp, which pulumi up passes on in Go's own format: quote it");
    if (/^[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$/.test(text)) return new Error("is not a number pulumi up can read: quote it");
    return undefined;
}

/**
 * The `config` map of Pulumi.<stack>.yaml in `root` ({} when the file does not exist), each value as
 * the Pulumi CLI gives it to the program: a string as written, a number or boolean as its typed
 * value's text (`0x10` is "16", `1.0` is "1", `010` is "8", `True` is "true"), null as "", a list or
 * mapping as JSON; `secure:` values as they are. A file Pulumi could not read either is refused,
 * naming it.
 */
function stackConfigEntries(stack: string, root: string): [string, unknown][] {
    const name = `Pulumi.${stack}.yaml`;
    const file = path.join(root, name);
    const refuse = (why: string) => new ProfileError(name, [why]);
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT") return [];
        throw refuse(`cannot read the stack's config: ${code === "EISDIR" ? "is a folder, not a file" : code ?? String(e)}`);
    }
    let doc: unknown;
    try {
        doc = yaml.load(text, { schema: yaml.CORE_SCHEMA, filename: name });
    } catch (e) {
        const reason = e instanceof yaml.YAMLException ? `${e.reason}${e.mark ? ` (line ${e.mark.line + 1}, column ${e.mark.column + 1})` : ""}` : String(e);
        throw refuse(`is not valid YAML: ${reason} (fix the file; pulumi config set writes it)`);
    }
    if (doc === undefined || doc === null) return [];
    if (typeof doc !== "object" || Array.isArray(doc)) throw refuse("must be a mapping with a config: key (see Pulumi.dev.yaml)");
    const config = (doc as Record<string, unknown>).config;
    if (config === undefined || config === null) return [];
    if (typeof config !== "object" || Array.isArray(config)) throw refuse("config: must be a mapping of keys such as aura:profile (see Pulumi.dev.yaml)");
    const entries = Object.entries(config)
        .filter(([key]) => key.startsWith("aura:"))
        .map(([key, value]): [string, unknown] => {
            if (isSecureValue(value)) {
                if (typeof value.secure !== "string" || value.secure === "") {
                    throw refuse(`config.${key}.secure: must be the ciphertext pulumi config set --secret writes — set it again: pulumi config set --secret ${key} <value> -s ${stack}`);
                }
                return [key, value];
            }
            if (value === null) return [key, ""];
            if (typeof value === "number" || typeof value === "string") {
                const plain = plainScalarText(text, key);
                const pulumi = plain === undefined ? undefined : pulumiScalar(plain);
                if (pulumi instanceof Error) throw refuse(`config.${key}: ${plain} ${pulumi.message} (e.g. ${key}: "${plain}")`);
                if (pulumi !== undefined) return [key, pulumi];
            }
            if (typeof value === "number" || typeof value === "boolean" || typeof value === "string") return [key, String(value)];
            return [key, JSON.stringify(value)];
        })
        // Pulumi reads the legacy spelling `aura:config:<key>` as `aura:<key>`.
        .map(([key, value]): [string, unknown] => [key.replace(/^aura:config:/, "aura:"), value]);
    return entries;
}

/**
 * Plain `aura:*` values of Pulumi.<stack>.yaml in `root`, when it exists, as Pulumi gives them to the
 * program: a scalar as its text, a list or mapping as JSON; secure values are not read.
 */
export function stackConfig(stack: string, root: string): Record<string, string> {
    return Object.fromEntries(
        stackConfigEntries(stack, root).flatMap(([key, value]): Array<[string, string]> =>
            typeof value === "string" ? [[key, value]] : [],
        ),
    );
}

/** `aura:*` keys of Pulumi.<stack>.yaml in `root` whose values are stored as secrets (`secure:`), unreadable offline. */
export function secureStackKeys(stack: string, root: string): string[] {
    return stackConfigEntries(stack, root)
        .filter(([, value]) => isSecureValue(value))
        .map(([key]) => key);
}

/** The environment each stack deploys, by stack name, and the profile that says so. */
export type StackEnvironments = Record<string, { environment: string; profile?: string }>;

/**
 * The environment each stack of the project in `dir` deploys, by stack name, with the profile that
 * says so. A stack whose files cannot be read counts as deploying its own name (the default).
 */
export function stackEnvironments(dir: string): StackEnvironments {
    let entries: string[];
    try {
        entries = fs.readdirSync(dir);
    } catch {
        return {};
    }
    const out: StackEnvironments = {};
    for (const stack of entries.flatMap((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1] ?? []).sort()) {
        out[stack] = { environment: stack };
        // Another stack's unreadable files are its own `pulumi up`'s to refuse, not this one's: it
        // counts as deploying its own name, the default.
        try {
            const profile = stackConfig(stack, dir)["aura:profile"];
            if (!profile) continue;
            const file = path.resolve(dir, profile);
            const doc = mapping(parseYaml(readProfileText(file), file));
            out[stack] = { environment: typeof doc?.environment === "string" ? doc.environment : stack, profile };
        } catch (e) {
            if (!(e instanceof ProfileError)) throw e;
        }
    }
    return out;
}

/**
 * Why `profile`, deployed as `stack`, would manage another stack's environment; undefined when no
 * other stack deploys it.
 */
export function environmentTaken(profile: Profile, stack: string, file: string, stacks: StackEnvironments): string | undefined {
    const env = profile.environment;
    const other = Object.keys(stacks).find((s) => s !== stack && stacks[s].environment === env);
    if (other === undefined) return undefined;
    const where = stacks[other].profile ? `Pulumi.${other}.yaml → ${stacks[other].profile}` : `Pulumi.${other}.yaml`;
    // The environment named after this stack is this stack's to keep: the other one took it.
    const fix = env === stack
        ? `give stack ${other}'s profile its own environment: (e.g. environment: ${other})`
        : `give this profile environment: ${stack} (or leave it out: the stack name is the default)`;
    return `${file}: ${problem(
        ["environment"],
        `stack ${other} deploys environment ${env} too (${where}): stacks ${other} and ${stack} would manage the same Azure resources and namespace (aura-${env}-rg, aura-${env}) — ${fix}`,
        { value: env },
    )}`;
}
