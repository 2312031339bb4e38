// The loader `aura` runs the program with (cli/transpile.js): a cold run fills the cache with the
// compiled JavaScript and V8's bytecode for it, a warm run uses both, and a damaged bytecode file is
// refused by V8, recompiled and replaced. The plan is the same either way.
import * as assert from "assert";
import { execFile, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { ROOT } from "./helpers";

const run = promisify(execFile);

/** `aura plan --json` for profiles/dev.yaml with the loader's cache in `cache`. */
async function planWith(cache: string): Promise<string> {
    const args = [path.join(ROOT, "bin", "aura.js"), "plan", "profiles/dev.yaml", "--stack", "dev", "--json"];
    const r = await run(process.execPath, args, { cwd: ROOT, encoding: "utf8", maxBuffer: 256 * 1024 * 1024, env: { ...process.env, AURA_TS_CACHE: cache } });
    return r.stdout;
}

/** For each cached script, whether a plain Node.js process (as `aura` runs) gets its bytecode accepted by V8. */
function accepted(cache: string): Record<string, boolean> {
    const check = `
        const fs = require("fs"), path = require("path"), vm = require("vm"), Module = require("module");
        const dir = process.argv[1], out = {};
        for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".js"))) {
            const key = f.slice(0, -3);
            const code = fs.readFileSync(path.join(dir, f), "utf8");
            const bytecode = path.join(dir, key + "." + process.version + ".bytecode");
            if (!fs.existsSync(bytecode)) { out[key] = false; continue; }
            const script = new vm.Script(Module.wrap(code), { filename: "x", cachedData: fs.readFileSync(bytecode) });
            out[key] = !script.cachedDataRejected;
        }
        process.stdout.write(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ["-e", check, cache], { encoding: "utf8" });
    assert.strictEqual(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as Record<string, boolean>;
}

describe("aura's TypeScript loader (cli/transpile.js)", () => {
    let cache: string;
    before(() => {
        cache = fs.mkdtempSync(path.join(os.tmpdir(), "aura-test-cache-"));
    });
    after(() => fs.rmSync(cache, { recursive: true, force: true }));

    it("keeps V8's bytecode beside each compiled module, and a warm run plans the same", async function () {
        this.timeout(120_000);
        const cold = await planWith(cache);
        const scripts = accepted(cache);
        assert.ok(Object.keys(scripts).length > 20, `the program's modules are cached: ${Object.keys(scripts).length}`);
        const refused = Object.entries(scripts).filter(([, ok]) => !ok).map(([k]) => k);
        assert.deepStrictEqual(refused, [], "bytecode V8 accepts for every cached module");
        const warm = await planWith(cache);
        assert.ok(JSON.parse(cold).resources.length > 50, "a whole plan");
        assert.strictEqual(warm, cold, "a warm run plans exactly what the cold run planned");
    });

    it("replaces bytecode V8 refuses, and still plans the same", async function () {
        this.timeout(120_000);
        const before = await planWith(cache);
        const [damaged] = fs.readdirSync(cache).filter((f) => f.endsWith(".bytecode"));
        assert.ok(damaged, "a bytecode file to damage");
        fs.writeFileSync(path.join(cache, damaged), Buffer.from("not bytecode"));
        assert.strictEqual(await planWith(cache), before);
        assert.notStrictEqual(fs.readFileSync(path.join(cache, damaged), "utf8"), "not bytecode", "rewritten");
        assert.deepStrictEqual(Object.values(accepted(cache)).filter((ok) => !ok), [], "every bytecode file accepted again");
    });
});
