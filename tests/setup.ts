// Mocha root hooks (loaded through .mocharc's `require`): every temporary file a test makes, in
// this process or a child it starts, lands in one folder per run, removed when the run ends.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

// os.tmpdir() reads TMPDIR on each call and child processes inherit it, so redirecting it here
// catches helpers' tempFile, ad-hoc mkdtempSync calls and validators run as children alike.
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), "aura-test-run-"));
process.env.TMPDIR = runDir;

/** The folder that holds this run's temporary files. */
export const TEST_RUN_DIR = runDir;

export const mochaHooks = {
    afterAll(): void {
        fs.rmSync(runDir, { recursive: true, force: true });
    },
};
