// A child process that runs `aura validate` on profile texts sent by the parent test, so that the
// parent can time each run and kill the worker if one ever hangs. Replies {code, stdout, stderr},
// or {threw} when main() itself throws (which the CLI would turn into exit 3).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main } from "../../cli/main";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aura-fuzz-"));
const file = path.join(dir, "dev.yaml");

async function validate(msg: { id: number; text: string }): Promise<void> {
    fs.writeFileSync(file, msg.text);
    let stdout = "";
    let stderr = "";
    const out = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
    let reply: Record<string, unknown>;
    try {
        reply = { code: await main(["validate", file]) };
    } catch (e) {
        reply = { threw: String((e as Error)?.stack ?? e) };
    } finally {
        process.stdout.write = out;
        process.stderr.write = err;
    }
    process.send!({ id: msg.id, file, stdout, stderr, ...reply });
}

process.on("message", (msg: { id: number; text: string }) => void validate(msg));
process.send!({ ready: true });
