// The API readiness gate's command. At `pulumi up` the gate (apiGate.ts) runs this file's text as
// `node -e <text>`: it polls `<AURA_API_URL>/readyz` until the API server answers 200, trusting
// only the cluster CA in AURA_API_CA (TLS is never skipped), for AURA_API_TIMEOUT_MINUTES at most;
// then it exits 0, or prints what it last saw and where to look and exits 1. Plain Node.js and no
// packages: it runs wherever `pulumi up` runs. The clock is read here, at deployment, never while
// planning. (AURA_API_POLL_MS, default 10 s between attempts, is for tests.)
"use strict";
const https = require("https");

/** The settings from the environment the gate passes; a missing one is a bug, said plainly. */
function settings(env) {
    const problems = [];
    let url;
    try {
        url = new URL("/readyz", env.AURA_API_URL);
        if (url.protocol !== "https:") problems.push(`AURA_API_URL must be https, got ${env.AURA_API_URL}`);
    } catch {
        problems.push(`AURA_API_URL is not a URL: ${JSON.stringify(env.AURA_API_URL)}`);
    }
    const caPem = env.AURA_API_CA || "";
    if (!caPem.includes("-----BEGIN CERTIFICATE-----")) problems.push("AURA_API_CA holds no PEM certificate");
    const minutes = Number(env.AURA_API_TIMEOUT_MINUTES);
    if (!(minutes > 0)) problems.push(`AURA_API_TIMEOUT_MINUTES must be a positive number, got ${JSON.stringify(env.AURA_API_TIMEOUT_MINUTES)}`);
    const intervalMs = env.AURA_API_POLL_MS === undefined ? 10_000 : Number(env.AURA_API_POLL_MS);
    if (!(intervalMs > 0)) problems.push(`AURA_API_POLL_MS must be a positive number, got ${JSON.stringify(env.AURA_API_POLL_MS)}`);
    if (problems.length) throw new Error(`API readiness gate: ${problems.join("; ")}`);
    return { url, caPem, minutes, timeoutMs: minutes * 60_000, intervalMs, bootLog: env.AURA_BOOT_LOG || "the masters' boot log" };
}

/** One GET of /readyz: undefined when it answered 200, else what went wrong. */
function attempt(s) {
    return new Promise((resolve) => {
        const timeout = Math.min(10_000, Math.max(1_000, s.timeoutMs));
        // rejectUnauthorized set here: NODE_TLS_REJECT_UNAUTHORIZED=0 in the deployer's environment
        // must not turn the check off.
        const req = https.get(s.url, { ca: s.caPem, rejectUnauthorized: true, timeout }, (res) => {
            res.resume();
            resolve(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`);
        });
        req.on("timeout", () => req.destroy(new Error(`no answer within ${timeout / 1000} s`)));
        req.on("error", (e) => resolve(e.code ? `${e.code}: ${e.message}` : e.message));
    });
}

async function waitForReadyz(s) {
    // The clock of the deployment that runs this command: no plan or program input reads it.
    const deadline = Date.now() + s.timeoutMs;
    for (;;) {
        const problem = await attempt(s);
        if (problem === undefined) return;
        const left = deadline - Date.now();
        if (left <= 0) {
            throw new Error(
                `the Kubernetes API at ${s.url.href} was not ready after ${Number(s.minutes.toFixed(2))} min (last answer: ${problem}). ` +
                    `Look at the masters' boot log ${s.bootLog} (Azure portal: the master VM → Boot diagnostics → Serial log, ` +
                    `or on the VM: sudo tail -n 100 ${s.bootLog}; journalctl -u kubelet). ` +
                    `A certificate error means the server does not present a certificate from the cluster CA. ` +
                    `If the masters are only slow, raise aura:apiReadyTimeoutMinutes and run pulumi up again.`,
            );
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(s.intervalMs, left)));
    }
}

Promise.resolve()
    .then(() => waitForReadyz(settings(process.env)))
    .then(
        () => process.stdout.write("the Kubernetes API is ready\n"),
        (err) => {
            process.stderr.write(`${err.message}\n`);
            process.exitCode = 1;
        },
    );
