// The benchmark's helpers (scripts/bench*.js; `npm run bench` itself is not a test): the
// registration minimum registers exactly the resources and components it is asked for, through
// the plan's runner, and the floor loads a module list without running anything.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT } from "./helpers";

const script = (name: string) => path.join(ROOT, "scripts", name);

describe("benchmark helpers", function () {
    this.timeout(60_000);

    it("bench-registrations.js registers <custom> resources and <components> components, and none for 0 0", () => {
        const run = (...args: string[]) => JSON.parse(execFileSync(process.execPath, [script("bench-registrations.js"), ...args], { cwd: ROOT, encoding: "utf8" }));
        assert.deepStrictEqual(run("9", "3"), { resources: 12 });
        assert.deepStrictEqual(run("0", "0"), { resources: 0 });
    });

    it("bench-floor.js loads the listed modules and prints nothing", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aura-bench-test-"));
        try {
            const list = path.join(dir, "modules.json");
            fs.writeFileSync(list, JSON.stringify([require.resolve("js-yaml"), require.resolve("zod")]));
            const out = execFileSync(process.execPath, [script("bench-floor.js"), list], { cwd: ROOT, encoding: "utf8" });
            assert.strictEqual(out, "");
            fs.writeFileSync(list, JSON.stringify([path.join(dir, "missing.js")]));
            assert.throws(() => execFileSync(process.execPath, [script("bench-floor.js"), list], { cwd: ROOT, stdio: "pipe" }), /Cannot find module/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
