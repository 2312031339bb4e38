// A child process that runs `aura validate` on profile texts sent by the parent test, so that the
// parent can time each run and kill the worker if one ever hangs. Replies {code, stdout, stderr},
// or {threw} when main() itself throws (which the CLI would turn into exit 3).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runAura } from "./capture";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aura-fuzz-"));
const file = path.join(dir, "dev.yaml");

async function validate(msg: { id: number; text: string }): Promise<void> {
    fs.writeFileSync(file, msg.text);
    const { code, threw, stdout, stderr } = await runAura(["validate", file]);
    const reply = code === undefined ? { threw: String((threw as Error)?.stack ?? threw) } : { code };
    process.send!({ id: msg.id, file, stdout, stderr, ...reply });
}

process.on("message", (msg: { id: number; text: string }) => void validate(msg));
process.send!({ ready: true });
