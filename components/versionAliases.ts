// The provider SDKs give every resource an alias for each older API version of its type: an
// azure-native scale set carries 29 (`azure-native:compute/v20150615:VirtualMachineScaleSet`, …), a
// Deployment three (`kubernetes:apps/v1beta1:Deployment`, …). They let a stack that once used a
// versioned type move to the unversioned one. This program has only ever registered the current
// types, so those aliases can match nothing in its state — yet the SDK turns each into a URN through
// a chain of outputs in the resource's constructor, which was a third of a plan's time and most of
// its garbage. One stack transformation drops exactly these aliases, at `pulumi up` and in
// `aura plan` alike; an alias the program writes itself (a rename, a new parent) is kept.
import * as pulumi from "@pulumi/pulumi";

/** `package:module:Name` → [package, Name]; undefined for anything else. */
function packageAndName(type: string): [string, string] | undefined {
    const parts = type.split(":");
    return parts.length === 3 ? [parts[0], parts[2]] : undefined;
}

/**
 * Whether an alias only names the resource's own type under another API version or group: a
 * plain object with `type` as its only key, same package, same resource name, another module.
 */
export function isVersionAlias(alias: pulumi.Input<string | pulumi.Alias>, resourceType: string): boolean {
    if (typeof alias !== "object" || alias === null || pulumi.Output.isInstance(alias) || alias instanceof Promise) return false;
    const keys = Object.keys(alias);
    const type = alias.type;
    if (keys.length !== 1 || keys[0] !== "type" || typeof type !== "string") return false;
    const own = packageAndName(resourceType);
    const other = packageAndName(type);
    return own !== undefined && other !== undefined && own[0] === other[0] && own[1] === other[1] && type !== resourceType;
}

/** The stack transformation: the same resource, without its SDK's API-version aliases. */
export const dropVersionAliases: pulumi.ResourceTransformation = ({ type, props, opts }) => {
    if (!opts.aliases?.length) return undefined;
    const aliases = opts.aliases.filter((a) => !isVersionAlias(a, type));
    if (aliases.length === opts.aliases.length) return undefined;
    return { props, opts: { ...opts, aliases } };
};
