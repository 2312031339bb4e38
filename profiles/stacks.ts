// Which environment each of the project's stacks deploys (Pulumi.<stack>.yaml → aura:profile →
// environment:, else the stack name), and a profile that would deploy another stack's: a copy that
// kept `environment: dev` makes two stacks manage dev's resource groups, VMs and namespace.
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import { Profile, readProfileText } from "./load";
import { problem } from "./messages";

/** The plain mapping `v`, or undefined. */
function mapping(v: unknown): Record<string, unknown> | undefined {
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
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
        try {
            const config = mapping(mapping(yaml.load(fs.readFileSync(path.join(dir, `Pulumi.${stack}.yaml`), "utf8"), { schema: yaml.CORE_SCHEMA }))?.config);
            const profile = config?.["aura:profile"] ?? config?.["aura:config:profile"];
            if (typeof profile !== "string") continue;
            const doc = mapping(yaml.load(readProfileText(path.resolve(dir, profile)), { schema: yaml.CORE_SCHEMA, maxAliases: 200 }));
            out[stack] = { environment: typeof doc?.environment === "string" ? doc.environment : stack, profile };
        } catch {
            // unreadable: the stack's own name, as above
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
