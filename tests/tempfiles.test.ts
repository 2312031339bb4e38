// Tests clean up after themselves: no `aura-*` folder stays in the temp dir after a mocha run.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ROOT, tempFile } from "./helpers";
import { TEST_RUN_DIR } from "./setup";

describe("temporary files of the tests", () => {
    it("land in this run's folder, which the root hook removes", () => {
        const file = tempFile("x.yaml", "a: 1\n");
        assert.ok(file.startsWith(TEST_RUN_DIR + path.sep), `${file} is under ${TEST_RUN_DIR}`);
        assert.ok(os.tmpdir() === TEST_RUN_DIR, "child processes inherit the redirected TMPDIR");
    });

    it("are gone after a mocha run with the project's config, whatever made them", function () {
        this.timeout(60_000);
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "outer-"));
        // The same requires as .mocharc.json, on a spec of its own (a positional spec would be
        // added to the configured ones, not replace them).
        const config = JSON.parse(fs.readFileSync(path.join(ROOT, ".mocharc.json"), "utf8")) as { require: string[] };
        const requires = config.require.flatMap((r) => ["--require", r]);
        const mocha = path.join(ROOT, "node_modules", "mocha", "bin", "mocha.js");
        const spec = path.join("tests", "fixtures", "tempfiles.spec.ts");
        const r = spawnSync(process.execPath, [mocha, "--no-config", ...requires, "--extension", "ts", spec], {
            cwd: ROOT,
            encoding: "utf8",
            env: { ...process.env, TMPDIR: tmp },
        });
        assert.strictEqual(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /1 passing/);
        const left = fs.readdirSync(tmp).filter((f) => f.startsWith("aura-"));
        assert.deepStrictEqual(left, [], `left behind in ${tmp}`);
    });
});
