// Helpers shared by the profile tests: the seed profile, with changes.
import * as fs from "fs";
import * as yaml from "js-yaml";
import { SEED_PROFILE } from "./helpers";

export { aura } from "./helpers";

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
