// Helpers shared by the profile tests: the seed profile with changes, and `aura` run in-process.
import * as fs from "fs";
import * as yaml from "js-yaml";
import { main } from "../cli/main";
import { SEED_PROFILE } from "./helpers";

export const SEED = fs.readFileSync(SEED_PROFILE, "utf8");

/** The seed profile with `patch` merged in (null deletes a key). */
export function seedWith(patch: Record<string, unknown>): string {
    const doc = yaml.load(SEED) as Record<string, unknown>;
    const merge = (target: Record<string, unknown>, src: Record<string, unknown>) => {
        for (const [k, v] of Object.entries(src)) {
            if (v === null) delete target[k];
            else if (typeof v === "object" && !Array.isArray(v) && typeof target[k] === "object" && target[k] !== null) {
                merge(target[k] as Record<string, unknown>, v as Record<string, unknown>);
            } else target[k] = v;
        }
    };
    merge(doc, patch);
    return yaml.dump(doc);
}

/** Runs `aura <args>` in-process and captures what it prints. */
export async function aura(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    const out = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
    try {
        const code = await main(args);
        return { code, stdout, stderr };
    } finally {
        process.stdout.write = out;
        process.stderr.write = err;
    }
}
