// Runs `aura` in-process with its standard output and error captured (tests and the fuzz worker).
import { main } from "../../cli/main";

export interface AuraRun {
    /** Exit code, unless main() itself threw (the CLI would turn that into exit 3). */
    code?: number;
    /** The error main() threw, if it did. */
    threw?: unknown;
    stdout: string;
    stderr: string;
}

/** `aura <args>` in this process; what it printed is captured, never shown. */
export function runAura(args: string[]): Promise<AuraRun> {
    return capture(() => main(args));
}

/** Runs a command's entry (returning its exit code) with what it prints captured, never shown. */
export async function capture(run: () => Promise<number>): Promise<AuraRun> {
    let stdout = "";
    let stderr = "";
    const out = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
    try {
        return { code: await run(), stdout, stderr };
    } catch (e) {
        return { threw: e, stdout, stderr };
    } finally {
        process.stdout.write = out;
        process.stderr.write = err;
    }
}
