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
    // Each cache file is the SHA-256 of its payload, then the payload.
    const check = `
        const fs = require("fs"), path = require("path"), vm = require("vm"), Module = require("module"), crypto = require("crypto");
        const payload = (file) => {
            const data = fs.readFileSync(file);
            const body = data.subarray(32);
            return crypto.createHash("sha256").update(body).digest().equals(data.subarray(0, 32)) ? body : undefined;
        };
        const dir = process.argv[1], out = {};
        for (const f of fs.readdirSync(dir).filter((f) => f.endsWith(".js"))) {
            const key = f.slice(0, -3);
            const code = payload(path.join(dir, f));
            const bytecode = path.join(dir, key + "." + process.version + ".bytecode");
            if (!code || !fs.existsSync(bytecode) || !payload(bytecode)) { out[key] = false; continue; }
            const script = new vm.Script(Module.wrap(code.toString("utf8")), { filename: "x", cachedData: payload(bytecode) });
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

    it("takes a cache file that a crash left short or zeroed for a miss: recompiles, rewrites, plans the same", async function () {
        this.timeout(120_000);
        const before = await planWith(cache);
        const bytecodes = fs.readdirSync(cache).filter((f) => f.endsWith(".bytecode"));
        const scripts = fs.readdirSync(cache).filter((f) => f.endsWith(".js"));
        // A bytecode payload zeroed behind an intact length (V8 would crash on it) and a truncated script.
        const zeroed = path.join(cache, bytecodes[0]);
        const data = fs.readFileSync(zeroed);
        data.fill(0, 4096);
        fs.writeFileSync(zeroed, data);
        const truncated = path.join(cache, scripts[0]);
        fs.writeFileSync(truncated, fs.readFileSync(truncated).subarray(0, 100));
        assert.strictEqual(await planWith(cache), before);
        assert.deepStrictEqual(Object.values(accepted(cache)).filter((ok) => !ok), [], "both rewritten whole");
    });

    it("refuses TypeScript with syntax errors as ts-node (and so pulumi up) does, and caches nothing for it", () => {
        const dir = path.join(cache, "..", `syntax-${process.pid}`);
        fs.mkdirSync(dir, { recursive: true });
        const bad = path.join(dir, "bad.ts");
        fs.writeFileSync(bad, "export const x = Math.max(1 2);\n");
        const isolated = fs.mkdtempSync(path.join(os.tmpdir(), "aura-test-cache-"));
        try {
            const r = spawnSync(process.execPath, ["-e", `require(${JSON.stringify(path.join(ROOT, "cli", "transpile.js"))}).register(); require(${JSON.stringify(bad)});`], {
                encoding: "utf8",
                env: { ...process.env, AURA_TS_CACHE: isolated },
            });
            assert.notStrictEqual(r.status, 0);
            assert.match(r.stderr, /Unable to compile TypeScript:\n.*bad\.ts\(1,29\): error TS1005: ',' expected\./);
            assert.deepStrictEqual(fs.readdirSync(isolated), [], "nothing cached");
        } finally {
            fs.rmSync(isolated, { recursive: true, force: true });
            fs.rmSync(dir, { recursive: true, force: true });
        }
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
