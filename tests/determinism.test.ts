// Determinism: two separate `aura plan --json` processes for the same profile and stack print
// byte-identical plans (no clock, no randomness, no ordering by chance).
import * as assert from "assert";
import { execFile } from "child_process";
import * as path from "path";
import { promisify } from "util";
import { ROOT } from "./helpers";

const run = promisify(execFile);

describe("determinism", () => {
    it("two aura plan --json runs of profiles/prod.yaml (stack prod) are byte-identical", async function () {
        this.timeout(300_000);
        const args = [path.join(ROOT, "bin", "aura.js"), "plan", "profiles/prod.yaml", "--stack", "prod", "--json"];
        const opts = { cwd: ROOT, encoding: "utf8" as const, maxBuffer: 256 * 1024 * 1024 };
        const [a, b] = await Promise.all([run(process.execPath, args, opts), run(process.execPath, args, opts)]);
        assert.ok(JSON.parse(a.stdout).resources.length > 50, "a whole plan");
        if (a.stdout !== b.stdout) {
            const lines = [a.stdout.split("\n"), b.stdout.split("\n")];
            const at = lines[0].findIndex((l, i) => l !== lines[1][i]);
            assert.fail(`plans differ from line ${at + 1}:\n- ${lines[0][at]}\n+ ${lines[1][at]}`);
        }
    });
});
