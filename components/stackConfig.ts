// The stack config this program reads (`aura:*` in Pulumi.<stack>.yaml; README, "Stack config"):
// every key it knows, so a misspelt one is refused instead of silently ignored, and the checks of
// the settings no stage owns.
import { closest } from "../profiles/messages";
import { SECRET_KEY_PREFIX } from "./core/secrets";

/** The settings of namespace `aura`, besides the stack secrets `aura:secrets.<name>`. */
export const STACK_CONFIG_KEYS = [
    "profile",
    "sshPublicKey",
    "apiReadyTimeoutMinutes",
    "alertWebhookUrl",
    "agentsRolledTo",
    "rebuildMasters",
    "promoteFrom",
    "servicePrincipalRotation",
] as const;

/** Whether `key` (with its namespace, `aura:…`) is a setting or stack secret this program reads. */
export function isStackConfigKey(key: string): boolean {
    if (!key.startsWith("aura:")) return false;
    const name = key.slice("aura:".length);
    return (STACK_CONFIG_KEYS as readonly string[]).includes(name) || (name.startsWith(SECRET_KEY_PREFIX) && name.length > SECRET_KEY_PREFIX.length);
}

/** A refusal of `aura:<key>` in the stack's config, naming where it is set and the command that fixes it. */
export function refusal(stack: string, key: string, why: string): string {
    return `stack config aura:${key} (Pulumi.${stack}.yaml): ${why}`;
}

/**
 * Problems with the names of the stack's `aura:*` keys (`keys` as the runtime holds them, with
 * their namespace): one the program does not read is a typo, or left over.
 */
export function unknownConfigKeys(keys: string[], stack: string): string[] {
    const known = new Set<string>(STACK_CONFIG_KEYS);
    return keys
        .filter((k) => k.startsWith("aura:") && !isStackConfigKey(k))
        .map((k) => k.slice("aura:".length))
        .sort()
        .map((k) => {
            const like = closest(k, known);
            return refusal(stack, k, `is not a setting of this program${like ? ` (did you mean aura:${like}?)` : ""}: remove it with \`pulumi config rm aura:${k} -s ${stack}\`${like ? ` and set aura:${like}` : ""} (the settings are listed in the README, "Stack config")`);
        });
}

/** A stack name as aura accepts it (each part of a qualified aura:promoteFrom too): Pulumi's characters and 100-character limit, and a letter or digit first, which Pulumi does not require. */
const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
/** The rule, as messages say it. */
export const STACK_NAME_RULE = "a stack name starts with a letter or digit and has at most 100 letters, digits, '-', '_' and '.'";

/** Whether `name` can name a stack. */
export function isStackName(name: string): boolean {
    return STACK_NAME.test(name);
}

/**
 * `aura:promoteFrom`: the upstream stack, by name (`dev`) or fully qualified (`org/project/dev`);
 * never the stack itself. Undefined when unset.
 */
export function parsePromoteFrom(value: string | undefined, self: { organization: string; project: string; stack: string }): string | undefined {
    if (value === undefined) return undefined;
    const parts = value.split("/");
    if (value.trim() === "" || parts.length === 2 || parts.length > 3 || !parts.every((p) => STACK_NAME.test(p))) {
        throw new Error(
            refusal(self.stack, "promoteFrom", `must name the upstream stack, e.g. dev or ${self.organization}/${self.project}/dev — got ${JSON.stringify(value)} (pulumi config set aura:promoteFrom dev -s ${self.stack})`),
        );
    }
    const [organization, project, stack] = parts.length === 3 ? parts : [self.organization, self.project, parts[0]];
    if (organization === self.organization && project === self.project && stack === self.stack) {
        throw new Error(refusal(self.stack, "promoteFrom", `names this stack itself: a stack promotes from another one (prod from dev); \`pulumi config rm aura:promoteFrom -s ${self.stack}\` if it has no upstream`));
    }
    return value;
}

/**
 * `aura:servicePrincipalRotation`: any label (default `1`); a new one replaces the password. A blank
 * one, which would replace it too, is refused; every other label is taken as it is, as it always was.
 */
export function parseRotationLabel(value: string | undefined, stack: string): string {
    if (value === undefined) return "1";
    if (value.trim() === "") {
        throw new Error(
            refusal(stack, "servicePrincipalRotation", `is blank, which would replace the password: give a label (e.g. 2) to rotate it, or remove the setting (pulumi config rm aura:servicePrincipalRotation -s ${stack}) for the default 1`),
        );
    }
    return value;
}
