// The logging setup job's script (components/system/logging-setup.sh), run by bash against a stub
// curl that plays Elasticsearch and Kibana: what it sends, in which order, and when it stops.
import * as assert from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { LOGGING_SETUP_SCRIPT, LOG_INDEX_PREFIX, LOG_RETENTION_POLICY } from "../components/system/logging";

/** One curl call as the stub saw it. */
interface Call {
    url: string;
    method: string;
    data?: unknown;
    args: string[];
    /** What curl read as its config file from standard input (--config -). */
    config?: string;
}

/**
 * A curl that logs its arguments and answers by URL: the cluster health fails `healthFailures`
 * times first; `failOn` (a URL part) answers 400; the data view exists if `dataViewExists`.
 */
const CURL_STUB = `#!/usr/bin/env node
const fs = require("fs");
const args = process.argv.slice(2);
const url = args.find((a) => a.startsWith("https://"));
const config = args.includes("--config") && args[args.indexOf("--config") + 1] === "-" ? fs.readFileSync(0, "utf8") : undefined;
fs.appendFileSync(process.env.STUB_LOG, JSON.stringify({ args, config }) + "\\n");
const count = (key) => {
    const file = process.env.STUB_LOG + "." + key;
    const n = fs.existsSync(file) ? Number(fs.readFileSync(file, "utf8")) : 0;
    fs.writeFileSync(file, String(n + 1));
    return n;
};
if (process.env.FAIL_ON && url.includes(process.env.FAIL_ON)) { process.stdout.write('{"error":"refused"}'); process.exit(22); }
if (url.includes("/_cluster/health") && count("health") < Number(process.env.HEALTH_FAILURES)) process.exit(7);
if (url.includes("/api/data_views/data_view/") && !process.env.DATA_VIEW_EXISTS) process.exit(22);
process.stdout.write('{"acknowledged":true}');
`;

function runScript(env: Record<string, string>): { status: number | null; stderr: string; calls: Call[] } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aura-test-logging-setup-"));
    try {
        fs.writeFileSync(path.join(dir, "curl"), CURL_STUB, { mode: 0o755 });
        // The waits are real sleeps in the cluster; here they return at once.
        fs.writeFileSync(path.join(dir, "sleep"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
        const log = path.join(dir, "calls.log");
        const run = spawnSync("bash", ["-c", LOGGING_SETUP_SCRIPT], {
            encoding: "utf8",
            env: {
                PATH: `${dir}:${process.env.PATH}`,
                STUB_LOG: log,
                HEALTH_FAILURES: "0",
                ES_URL: "https://elasticsearch-es-http.aura-system.svc:9200",
                KIBANA_URL: "https://kibana-kb-http.aura-system.svc:5601",
                ES_PASSWORD: "pw-from-the-secret",
                PREFIX: LOG_INDEX_PREFIX,
                RETENTION_DAYS: "14",
                POLICY: LOG_RETENTION_POLICY,
                ...env,
            },
        });
        const lines = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : [];
        const calls = lines.map((line) => {
            const { args, config }: { args: string[]; config?: string } = JSON.parse(line);
            const at = (flag: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
            const data = at("--data");
            return { url: args.find((a) => a.startsWith("https://"))!, method: at("--request") ?? "GET", data: data === undefined ? undefined : JSON.parse(data), args, config };
        });
        return { status: run.status, stderr: run.stderr, calls };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const ES = "https://elasticsearch-es-http.aura-system.svc:9200";
const KIBANA = "https://kibana-kb-http.aura-system.svc:5601";

describe("logging setup job script", function () {
    this.timeout(60_000);

    it("passes shellcheck", () => {
        const r = spawnSync("shellcheck", ["-s", "bash", path.join(__dirname, "..", "components", "system", "logging-setup.sh")], { encoding: "utf8" });
        assert.ok(!r.error, "shellcheck is not installed: run scripts/install-validators.sh");
        assert.strictEqual(r.status, 0, r.stdout);
    });

    it("gives the real curl the password as written, quotes and backslashes included", async () => {
        const password = 'p\\a"s$s `w0rd';
        const functions = /^credentials\(\) \{[\s\S]*?^\}\n/m.exec(LOGGING_SETUP_SCRIPT)![0];
        const server = http.createServer((req, res) => res.end(Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString("utf8")));
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        try {
            const { port } = server.address() as { port: number };
            const child = spawn("bash", ["-c", `${functions}credentials | curl --config - --silent --show-error http://127.0.0.1:${port}/`], { env: { ...process.env, ES_PASSWORD: password } });
            let out = "";
            child.stdout.on("data", (d) => (out += d));
            const code = await new Promise((resolve) => child.on("close", resolve));
            assert.ok(code !== null, "curl ran");
            assert.strictEqual(code, 0, "curl is not installed? run scripts/install-validators.sh");
            assert.strictEqual(out, `elastic:${password}`);
        } finally {
            server.close();
        }
    });

    it("waits for Elasticsearch, sets the retention policy, template and existing indices, then makes the data view", () => {
        const { status, stderr, calls } = runScript({ HEALTH_FAILURES: "3" });
        assert.strictEqual(status, 0, stderr);
        assert.deepStrictEqual(calls.map((c) => `${c.method} ${c.url}`), [
            ...Array(4).fill(`GET ${ES}/_cluster/health?wait_for_status=yellow&timeout=10s`),
            `PUT ${ES}/_ilm/policy/aura-logs`,
            `PUT ${ES}/_index_template/aura-logs`,
            `PUT ${ES}/logs-*/_settings?allow_no_indices=true`,
            `GET ${KIBANA}/api/status`,
            `GET ${KIBANA}/api/data_views/data_view/aura-logs`,
            `POST ${KIBANA}/api/data_views/data_view`,
        ]);
        assert.deepStrictEqual(calls[4].data, { policy: { phases: { delete: { min_age: "14d", actions: { delete: {} } } } } });
        assert.deepStrictEqual(calls[5].data, { index_patterns: ["logs-*"], priority: 50, template: { settings: { "index.lifecycle.name": "aura-logs" } } });
        assert.deepStrictEqual(calls[6].data, { "index.lifecycle.name": "aura-logs" });
        assert.deepStrictEqual(calls[9].data, { data_view: { id: "aura-logs", title: "logs-*", name: "Aura logs", timeFieldName: "@timestamp" } });
        for (const c of calls) {
            const ca = c.url.startsWith(ES) ? "/es-ca/ca.crt" : "/kibana-ca/ca.crt";
            assert.strictEqual(c.args[c.args.indexOf("--cacert") + 1], ca, `${c.url} trusts only its CA`);
            // The password comes on curl's standard input, never on its command line (visible in /proc).
            assert.strictEqual(c.config, 'user = "elastic:pw-from-the-secret"\n');
            assert.ok(!c.args.some((a) => a.includes("pw-from-the-secret")), `${c.url}: the password is not an argument`);
            assert.ok(c.args.includes("--fail-with-body"), "an HTTP error fails the call");
        }
        for (const c of calls.filter((x) => x.url.startsWith(KIBANA) && x.method !== "GET")) assert.ok(c.args.includes("kbn-xsrf: aura"));
    });

    it("runs again without change: an existing data view is left as it is", () => {
        const { status, calls } = runScript({ DATA_VIEW_EXISTS: "1", RETENTION_DAYS: "30" });
        assert.strictEqual(status, 0);
        assert.ok(!calls.some((c) => c.method === "POST"), "no second data view");
        assert.deepStrictEqual(calls.find((c) => c.url.endsWith("/_ilm/policy/aura-logs"))!.data, { policy: { phases: { delete: { min_age: "30d", actions: { delete: {} } } } } });
    });

    it("fails the job, and stops, when Elasticsearch refuses a step", () => {
        const { status, stderr, calls } = runScript({ FAIL_ON: "/_index_template/" });
        assert.notStrictEqual(status, 0);
        assert.match(stderr + calls.map((c) => c.url).join(" "), /_index_template/);
        assert.ok(!calls.some((c) => c.url.includes("/_settings") || c.url.startsWith(KIBANA)), "nothing after the refused step");
    });
});
