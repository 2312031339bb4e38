// Stack secrets of the core stage: which ones the profile's `secret_env` entries name, reading them
// (the entry hands in the config getter), and the error that says how to set a missing one.
import * as pulumi from "@pulumi/pulumi";
import type { Profile } from "../../profiles";

/** Config namespace and key prefix: a stack secret `x` is `aura:secrets.x`. */
export const SECRET_KEY_PREFIX = "secrets.";

/** One `secret_env` entry of the profile. */
export interface SecretUse {
    /** Profile key path of the entry: `core.services.aura-bot.secret_env.BOT_TOKEN`. */
    path: string;
    /** Environment variable the workload reads. */
    variable: string;
    /** Stack secret name: the config key is `aura:secrets.<secret>`. */
    secret: string;
}

/** Every stack secret the profile's services and jobs read, in profile order. */
export function secretUses(profile: Profile): SecretUse[] {
    const uses: SecretUse[] = [];
    const collect = (kind: "services" | "jobs", entries: Record<string, { secret_env: Record<string, string> }>) => {
        for (const [name, spec] of Object.entries(entries)) {
            for (const [variable, secret] of Object.entries(spec.secret_env)) {
                uses.push({ path: `core.${kind}.${name}.secret_env.${variable}`, variable, secret });
            }
        }
    };
    collect("services", profile.core.services);
    collect("jobs", profile.core.jobs);
    return uses;
}

/**
 * Reads every stack secret the profile needs with `get` (the entry passes
 * `key => config.getSecret(key)` of namespace `aura`). A missing one, or one stored in plain text in
 * Pulumi.<stack>.yaml (`isSecret` says which are stored encrypted), is a RunError that lists each
 * with the command that sets it; a plain-text value is never echoed.
 */
export function readStackSecrets(
    profile: Profile,
    stack: string,
    get: (key: string) => pulumi.Output<string> | undefined,
    isSecret: (key: string) => boolean,
): Record<string, pulumi.Output<string>> {
    const secrets: Record<string, pulumi.Output<string>> = {};
    const missing: SecretUse[] = [];
    const plain: SecretUse[] = [];
    for (const use of secretUses(profile)) {
        if (use.secret in secrets) continue;
        const key = `${SECRET_KEY_PREFIX}${use.secret}`;
        const value = get(key);
        if (value === undefined) missing.push(use);
        else if (!isSecret(key)) plain.push(use);
        else secrets[use.secret] = pulumi.secret(value);
    }
    if (missing.length) throw secretMissingError(missing, stack);
    if (plain.length) throw plainSecretError(plain, stack);
    return secrets;
}

/** The error for stack secrets that are not set: what reads each, and how to set it. */
export function secretMissingError(missing: SecretUse[], stack: string): pulumi.RunError {
    const line = (u: SecretUse) =>
        `${u.path}: stack secret ${configKey(u)} is not set (variable ${u.variable} of ${workloadOf(u.path)}) — set it with: ${setCommand(u, stack)}`;
    return new pulumi.RunError(
        missing.length === 1
            ? line(missing[0])
            : `${missing.length} stack secrets are not set:\n${missing.map((u) => `  - ${line(u)}`).join("\n")}`,
    );
}

/** The error for stack secrets stored in plain text in the stack file: each, what reads it, and how to encrypt it (never the value). */
function plainSecretError(plain: SecretUse[], stack: string): pulumi.RunError {
    const readers = new Map<string, SecretUse[]>();
    for (const u of plain) readers.set(u.secret, [...(readers.get(u.secret) ?? []), u]);
    const lines = [...readers.values()].map(
        (uses) =>
            `Pulumi.${stack}.yaml: ${configKey(uses[0])} is stored in plain text (read by ${uses.map((u) => u.path).join(", ")}) — ` +
            `store it encrypted: ${setCommand(uses[0], stack)}`,
    );
    return new pulumi.RunError(lines.length === 1 ? lines[0] : `${lines.length} stack secrets are stored in plain text:\n${lines.map((l) => `  - ${l}`).join("\n")}`);
}

const configKey = (u: SecretUse) => `aura:${SECRET_KEY_PREFIX}${u.secret}`;
const setCommand = (u: SecretUse, stack: string) => `pulumi config set --secret ${configKey(u)} <value> -s ${stack}`;

/** `core.services.aura-bot.secret_env.X` → `service aura-bot`. */
function workloadOf(path: string): string {
    const [, kind, name] = path.split(".");
    return `${kind === "jobs" ? "job" : "service"} ${name}`;
}
