// Determinism: two separate `aura plan --json` processes for the same profile and stack print
// byte-identical plans (no clock, no randomness, no ordering by chance) — and the cached loader
// (cli/transpile.js) runs the sources exactly as ts-node, the way `pulumi up` runs them.
import * as assert from "assert";
import { execFile } from "child_process";
import * as path from "path";
import { promisify } from "util";
import { ROOT } from "./helpers";

const run = promisify(execFile);

describe("determinism", () => {
    it("two aura plan --json runs of profiles/prod.yaml (stack prod) are byte-identical, and equal to a ts-node run", async function () {
        this.timeout(300_000);
        const args = [path.join(ROOT, "bin", "aura.js"), "plan", "profiles/prod.yaml", "--stack", "prod", "--json"];
        const opts = { cwd: ROOT, encoding: "utf8" as const, maxBuffer: 256 * 1024 * 1024 };
        const tsNode = { ...opts, env: { ...process.env, AURA_TRANSPILER: "ts-node" } };
        const [a, b, c] = await Promise.all([run(process.execPath, args, opts), run(process.execPath, args, opts), run(process.execPath, args, tsNode)]);
        assert.ok(JSON.parse(a.stdout).resources.length > 50, "a whole plan");
        assertSame(a.stdout, b.stdout, "two runs");
        assertSame(a.stdout, c.stdout, "the cached loader and ts-node");
    });
});

function assertSame(a: string, b: string, what: string): void {
    if (a === b) return;
    const lines = [a.split("\n"), b.split("\n")];
    const at = lines[0].findIndex((l, i) => l !== lines[1][i]);
    assert.fail(`${what}: plans differ from line ${at + 1}:\n- ${lines[0][at]}\n+ ${lines[1][at]}`);
}
