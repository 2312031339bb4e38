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

    it("bench-rss.js records the modules a run loaded: the packages, and every module for the floor with the program's own", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aura-bench-test-"));
        try {
            const list = path.join(dir, "modules.json");
            execFileSync(process.execPath, ["--require", script("bench-rss.js"), path.join(ROOT, "bin", "aura.js"), "validate", "profiles/dev.yaml"], {
                cwd: ROOT,
                env: { ...process.env, AURA_BENCH_MODULES: list },
                stdio: "pipe",
            });
            const packages: string[] = JSON.parse(fs.readFileSync(list, "utf8"));
            const all: string[] = JSON.parse(fs.readFileSync(path.join(dir, "modules-all.json"), "utf8"));
            const rel = (f: string) => path.relative(ROOT, f);
            assert.ok(packages.length > 0 && packages.every((f) => rel(f).startsWith(`node_modules${path.sep}`)));
            assert.ok(packages.every((f) => all.includes(f)));
            const own = all.filter((f) => !packages.includes(f)).map(rel);
            assert.ok(own.includes(path.join("cli", "main.ts")) && own.includes(path.join("profiles", "schema.ts")), own.join(" "));
            // The entry and the loader are the floor's own; the recorder is not the plan's.
            for (const f of [path.join("bin", "aura.js"), path.join("cli", "transpile.js"), path.join("scripts", "bench-rss.js")]) assert.ok(!own.includes(f), f);
            // Loading them all runs nothing: no output.
            assert.strictEqual(execFileSync(process.execPath, [script("bench-floor.js"), path.join(dir, "modules-all.json")], { cwd: ROOT, encoding: "utf8" }), "");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
