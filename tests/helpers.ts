// Shared test helpers: profile fixtures and cached plans.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { placeholderSshKey } from "../cli/main";
import { runAura } from "./support/capture";
import { Plan, PlanOptions, PlannedResource, runPlan } from "../cli/plan";

export const ROOT = path.join(__dirname, "..");
export const SEED_PROFILE = path.join(__dirname, "fixtures", "seed.yaml");

/** Writes `text` to a fresh temporary file named `name` and returns its path. */
export function tempFile(name: string, text: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aura-test-"));
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
}

/** Runs the program under mocks with a placeholder SSH key. */
export function plan(options: PlanOptions): Promise<Plan> {
    return runPlan({ ...options, config: { "aura:sshPublicKey": placeholderSshKey(), ...options.config } });
}

export function byType(p: Plan, type: string): PlannedResource[] {
    return p.resources.filter((r) => r.type === type);
}

export function one(p: Plan, type: string, name?: string): PlannedResource {
    const found = byType(p, type).filter((r) => name === undefined || r.name === name);
    if (found.length !== 1) throw new Error(`expected one ${type} ${name ?? ""}, found ${found.length}`);
    return found[0];
}

/** Runs `aura <args>` in-process and captures what it prints; an error main() throws is rethrown. */
export async function aura(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const run = await runAura(args);
    if (run.code === undefined) throw run.threw;
    return { code: run.code, stdout: run.stdout, stderr: run.stderr };
}
