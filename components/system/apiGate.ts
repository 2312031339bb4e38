// The API readiness gate: Azure reports a master VM created minutes before kubeadm serves the API,
// and the Kubernetes provider fails on an unreachable cluster. This dynamic resource waits until
// `https://<api>/readyz` answers 200, trusting only the cluster CA, for a bounded time. Every
// Kubernetes object depends on it. It polls on create, and again only when the API endpoint or the
// CA changes: a later `pulumi up` with the same cluster does nothing here.
import * as pulumi from "@pulumi/pulumi";

/** Default wait, stack config `aura:apiReadyTimeoutMinutes`. */
export const DEFAULT_API_READY_TIMEOUT_MINUTES = 20;
const MAX_API_READY_TIMEOUT_MINUTES = 180;

/**
 * Reads `aura:apiReadyTimeoutMinutes` (undefined: the default). A whole number of minutes, 1–180;
 * anything else is a user error with a message that says so.
 */
export function parseApiReadyTimeout(value: string | undefined): number {
    if (value === undefined || value.trim() === "") return DEFAULT_API_READY_TIMEOUT_MINUTES;
    const n = Number(value);
    if (!/^\s*\d+\s*$/.test(value) || n < 1 || n > MAX_API_READY_TIMEOUT_MINUTES) {
        throw new pulumi.RunError(
            `stack config aura:apiReadyTimeoutMinutes: must be a whole number of minutes from 1 to ${MAX_API_READY_TIMEOUT_MINUTES} — got ${JSON.stringify(value)} (set it with \`pulumi config set aura:apiReadyTimeoutMinutes 30\`)`,
        );
    }
    return n;
}

/** What one wait needs. Plain data: the deployed provider code receives it from state. */
export interface ReadyzCheck {
    /** The API server URL, `https://<host>:6443`. */
    url: string;
    /** The cluster CA (PEM): the only certificate the server's chain may end in. */
    caPem: string;
    /** How long to wait in total. */
    timeoutMs: number;
    /** Pause between attempts. */
    intervalMs: number;
    /** Path of the masters' boot log, named in the error. */
    bootLog: string;
}

/**
 * Polls `<url>/readyz` until it answers 200 or `timeoutMs` passes; then throws an error that says
 * what was last seen and where to look. Self-contained (it requires `https` itself): the SDK
 * serialises it into the dynamic provider, where no module of this program is loaded.
 */
export async function waitForReadyz(check: ReadyzCheck): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const https = require("https") as typeof import("https");
    const target = new URL("/readyz", check.url);
    // The clock is read at deployment only (this runs in the provider), never while planning.
    const deadline = Date.now() + check.timeoutMs;
    const attempt = (): Promise<string | undefined> =>
        new Promise((resolve) => {
            const req = https.get(target, { ca: check.caPem, timeout: Math.min(10_000, Math.max(1_000, check.timeoutMs)) }, (res) => {
                res.resume();
                resolve(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`);
            });
            req.on("timeout", () => req.destroy(new Error("no answer within 10 s")));
            req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ? `${e.code}: ${e.message}` : e.message));
        });
    for (;;) {
        const problem = await attempt();
        if (problem === undefined) return;
        const left = deadline - Date.now();
        if (left <= 0) {
            const minutes = Number((check.timeoutMs / 60_000).toFixed(2));
            throw new Error(
                `the Kubernetes API at ${target.href} was not ready after ${minutes} min (last answer: ${problem}). ` +
                    `Look at the masters' boot log ${check.bootLog} (Azure portal: the master VM → Boot diagnostics → Serial log, ` +
                    `or on the VM: sudo tail -n 100 ${check.bootLog}; journalctl -u kubelet). ` +
                    `A certificate error means the server does not present a certificate from the cluster CA. ` +
                    `If the masters are only slow, raise aura:apiReadyTimeoutMinutes and run pulumi up again.`,
            );
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(check.intervalMs, left)));
    }
}

/** The gate's inputs as stored in state. */
interface GateState {
    url: string;
    caPem: string;
    timeoutMinutes: number;
    bootLog: string;
}

/** The dynamic provider: create and update wait; diff sees only the endpoint and the CA. */
export const apiGateProvider: pulumi.dynamic.ResourceProvider = {
    async create(inputs: GateState) {
        await waitForReadyz({ url: inputs.url, caPem: inputs.caPem, timeoutMs: inputs.timeoutMinutes * 60_000, intervalMs: 10_000, bootLog: inputs.bootLog });
        return { id: "readyz", outs: inputs };
    },
    async update(_id: string, _olds: GateState, news: GateState) {
        await waitForReadyz({ url: news.url, caPem: news.caPem, timeoutMs: news.timeoutMinutes * 60_000, intervalMs: 10_000, bootLog: news.bootLog });
        return { outs: news };
    },
    // A changed timeout alone waits for nothing: the cluster it guards is the same.
    async diff(_id: string, olds: GateState, news: GateState) {
        return { changes: olds.url !== news.url || olds.caPem !== news.caPem };
    },
};

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
export class ApiGate extends pulumi.dynamic.Resource {
    constructor(name: string, args: ApiGateArgs, opts?: pulumi.CustomResourceOptions) {
        super(apiGateProvider, name, { ...args }, opts, undefined, "ApiGate");
    }
}
