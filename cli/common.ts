// What the aura commands share without loading the Pulumi runtime: which errors mean "the input was
// refused" (exit 1, message only) rather than an internal error, and the default stack of a profile.
import * as path from "path";
import { ProfileError } from "../profiles";
import { STACK_NAME_RULE, isStackName } from "../components/stackConfig";

/** The message of an error the profile or the program raised for bad input (as `pulumi up` shows it), else undefined. */
export function inputErrorMessage(e: unknown): string | undefined {
    if (e instanceof ProfileError) return e.message;
    const err = e as { __pulumiRunError?: boolean; name?: string; message?: string };
    if (err && (err.__pulumiRunError || err.name === "RunError" || err.name === "ConfigMissingError")) return err.message;
    return undefined;
}

/** A profile's file name without `.yaml`: the stack name it suggests (profiles/dev.yaml → dev). */
export function profileBaseName(file: string): string {
    return path.basename(file).replace(/\.ya?ml$/, "");
}

/**
 * The stack a profile stands for when no --stack is given: its file name without `.yaml`
 * (profiles/dev.yaml → dev). A file name that is no stack name is refused with the fix.
 */
export function stackFromProfilePath(file: string): string {
    const stack = profileBaseName(file);
    if (!isStackName(stack)) {
        throw new ProfileError(file, [`the file name gives no stack name (${JSON.stringify(stack)}: ${STACK_NAME_RULE}): pass --stack <name>, e.g. --stack dev`]);
    }
    return stack;
}
