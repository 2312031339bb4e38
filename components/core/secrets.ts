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
 * `key => config.getSecret(key)` of namespace `aura`). A missing one is a RunError that lists each,
 * with the command that sets it.
 */
export function readStackSecrets(
    profile: Profile,
    stack: string,
    get: (key: string) => pulumi.Output<string> | undefined,
): Record<string, pulumi.Output<string>> {
    const secrets: Record<string, pulumi.Output<string>> = {};
    const missing: SecretUse[] = [];
    for (const use of secretUses(profile)) {
        if (use.secret in secrets) continue;
        const value = get(`${SECRET_KEY_PREFIX}${use.secret}`);
        if (value === undefined) missing.push(use);
        else secrets[use.secret] = pulumi.secret(value);
    }
    if (missing.length) throw secretMissingError(missing, stack);
    return secrets;
}

/** The error for stack secrets that are not set: what reads each, and how to set it. */
export function secretMissingError(missing: SecretUse[], stack: string): pulumi.RunError {
    const line = (u: SecretUse) =>
        `${u.path}: stack secret aura:${SECRET_KEY_PREFIX}${u.secret} is not set (variable ${u.variable} of ${workloadOf(u.path)}) — ` +
        `set it with: pulumi config set --secret aura:${SECRET_KEY_PREFIX}${u.secret} <value> -s ${stack}`;
    return new pulumi.RunError(
        missing.length === 1
            ? line(missing[0])
            : `${missing.length} stack secrets are not set:\n${missing.map((u) => `  - ${line(u)}`).join("\n")}`,
    );
}

/** `core.services.aura-bot.secret_env.X` → `service aura-bot`. */
function workloadOf(path: string): string {
    const [, kind, name] = path.split(".");
    return `${kind === "jobs" ? "job" : "service"} ${name}`;
}
