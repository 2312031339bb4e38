// The API readiness gate: Azure reports a master VM created minutes before kubeadm serves the API,
// and the Kubernetes provider fails on an unreachable cluster. This local command waits until
// `https://<api>/readyz` answers 200, trusting only the cluster CA, for a bounded time. Every
// Kubernetes object depends on it. It polls on create, and again when its inputs change (a new API
// endpoint or CA replaces it; a new timeout or script re-runs it, which takes a second on a ready
// cluster): a later `pulumi up` with the same cluster does nothing here.
//
// What it runs is readyz.js, a plain Node.js script whose text is an input of the command (`node -e`),
// so it needs nothing installed beyond the `node` that runs `pulumi up`, and a reviewer sees any
// change to it in the preview. (A dynamic provider would do the same, but the SDK serialises its
// closure through the V8 inspector and the TypeScript parser on every run: half a second of each
// `pulumi up` and `aura plan`.)
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as local from "@pulumi/command/local";
import { refusal } from "../stackConfig";

/** Default wait, stack config `aura:apiReadyTimeoutMinutes`. */
export const DEFAULT_API_READY_TIMEOUT_MINUTES = 20;
const MAX_API_READY_TIMEOUT_MINUTES = 180;

/**
 * Reads `aura:apiReadyTimeoutMinutes` (undefined: the default). A whole number of minutes, 1–180;
 * anything else is a user error with a message that says so.
 */
export function parseApiReadyTimeout(value: string | undefined, stack: string): number {
    if (value === undefined || value.trim() === "") return DEFAULT_API_READY_TIMEOUT_MINUTES;
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || n < 1 || n > MAX_API_READY_TIMEOUT_MINUTES) {
        throw new pulumi.RunError(
            refusal(stack, "apiReadyTimeoutMinutes", `must be a whole number of minutes from 1 to ${MAX_API_READY_TIMEOUT_MINUTES} — got ${JSON.stringify(value)} (set it with \`pulumi config set aura:apiReadyTimeoutMinutes 30 -s ${stack}\`)`),
        );
    }
    return n;
}

/** The gate's script (see readyz.js), run by `node -e`. */
export const READYZ_SCRIPT = fs.readFileSync(path.join(__dirname, "readyz.js"), "utf8");
/** What a failed gate quotes as its command (the script sees it as its one argument, and ignores it). */
export const GATE_COMMAND_LABEL = "wait-for-kubernetes-api";

export interface ApiGateArgs {
    /** API server URL, `https://<host>:6443`. */
    url: pulumi.Input<string>;
    /** Cluster CA certificate (PEM). */
    caPem: pulumi.Input<string>;
    /** Bounded wait in minutes (stack config `aura:apiReadyTimeoutMinutes`). */
    timeoutMinutes: number;
    /** The masters' boot log path, named in the error. */
    bootLog: string;
}

/** Waits for the API server's `/readyz` before anything talks to the cluster. */
export class ApiGate extends local.Command {
    constructor(name: string, args: ApiGateArgs, opts?: pulumi.CustomResourceOptions) {
        super(name, {
            // The command provider runs `interpreter + [create]`: the script rides in the interpreter
            // and `create` is only a label, the one thing a failure quotes before the script's message.
            interpreter: ["node", "-e", READYZ_SCRIPT],
            create: GATE_COMMAND_LABEL,
            environment: {
                AURA_API_URL: args.url,
                AURA_API_CA: args.caPem,
                AURA_API_TIMEOUT_MINUTES: String(args.timeoutMinutes),
                AURA_BOOT_LOG: args.bootLog,
            },
            // Another endpoint or CA is another cluster: wait for it from scratch.
            triggers: [args.url, args.caPem],
        }, opts);
    }
}
