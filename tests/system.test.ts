// The system stage: the API readiness gate (against a real local HTTPS server), the order every
// Kubernetes object waits in, namespaces, per-user access, and schema validation of every object
// the program builds itself.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { Plan, PlannedResource } from "../cli/plan";
import { apiGateProvider, parseApiReadyTimeout, waitForReadyz } from "../components/system/apiGate";
import { POD_SECURITY } from "../components/system/namespaces";
import { BOOTSTRAP_LOG_PATH } from "../components/infra/cloudinit";
import { ROOT, byType, one, plan } from "./helpers";
import { CHART_TYPE, k8sObjects, validateK8s } from "./k8s-helpers";

const DEV = path.join(ROOT, "profiles", "dev.yaml");
const GATE_TYPE = "pulumi-nodejs:dynamic:ApiGate";

/** A throwaway CA and a server certificate for 127.0.0.1, made with the openssl CLI. */
function makePki(dir: string, name: string): { caPem: string; keyPem: string; certPem: string } {
    const run = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    run("req", "-x509", ...ec, "-keyout", `${name}-ca.key`, "-out", `${name}-ca.crt`, "-days", "1", "-subj", `/CN=${name} test CA`);
    run("req", ...ec, "-keyout", `${name}-srv.key`, "-out", `${name}-srv.csr`, "-subj", "/CN=127.0.0.1");
    fs.writeFileSync(path.join(dir, "san.ext"), "subjectAltName=IP:127.0.0.1\n");
    run("x509", "-req", "-in", `${name}-srv.csr`, "-CA", `${name}-ca.crt`, "-CAkey", `${name}-ca.key`, "-CAcreateserial",
        "-out", `${name}-srv.crt`, "-days", "1", "-extfile", "san.ext");
    const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
    return { caPem: read(`${name}-ca.crt`), keyPem: read(`${name}-srv.key`), certPem: read(`${name}-srv.crt`) };
}

/** True if `r` waits for `target`: directly, through a resource that does, or through a component whose resources all do. */
function waitsFor(p: Plan, r: PlannedResource, target: string, seen = new Set<string>()): boolean {
    if (seen.has(r.urn)) return false;
    seen.add(r.urn);
    return (r.options.dependsOn ?? []).some((dep) => {
        if (dep === target) return true;
        const d = p.resources.find((x) => x.urn === dep)!;
        if (d.custom) return waitsFor(p, d, target, seen);
        const inside = p.resources.filter((x) => x.custom && isUnder(p, x, d.urn));
        return inside.length > 0 && inside.every((x) => waitsFor(p, x, target, new Set(seen)));
    });
}

function isUnder(p: Plan, r: PlannedResource, ancestor: string): boolean {
    for (let parent = r.parent; parent; parent = p.resources.find((x) => x.urn === parent)?.parent ?? null) {
        if (parent === ancestor) return true;
    }
    return false;
}

describe("system stage: API readiness gate", function () {
    this.timeout(30_000);
    let dir: string;
    let good: ReturnType<typeof makePki>;
    let other: ReturnType<typeof makePki>;
    let server: https.Server;
    let url: string;
    /** Status the server answers on /readyz; a test sets it. */
    let status = 200;
    let requests = 0;

    before(async () => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "aura-gate-"));
        good = makePki(dir, "cluster");
        other = makePki(dir, "other");
        server = https.createServer({ key: good.keyPem, cert: good.certPem }, (req, res) => {
            requests++;
            res.writeHead(req.url === "/readyz" ? status : 404).end(status === 200 ? "ok" : "[-]etcd failed");
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => {
        server.close();
        fs.rmSync(dir, { recursive: true, force: true });
    });

    const check = (over: Partial<Parameters<typeof waitForReadyz>[0]> = {}) =>
        waitForReadyz({ url, caPem: good.caPem, timeoutMs: 1_500, intervalMs: 100, bootLog: BOOTSTRAP_LOG_PATH, ...over });

    it("passes when /readyz answers 200 over TLS verified against the cluster CA", async () => {
        status = 200;
        await check();
    });

    it("keeps polling until the API becomes ready", async () => {
        status = 503;
        requests = 0;
        setTimeout(() => (status = 200), 400);
        await check({ timeoutMs: 5_000 });
        assert.ok(requests >= 2, `polled ${requests} times`);
    });

    it("fails when the server's certificate does not come from the cluster CA (TLS is never skipped)", async () => {
        status = 200;
        await assert.rejects(check({ caPem: other.caPem, timeoutMs: 300 }), (e: Error) => {
            assert.match(e.message, /not ready after/);
            assert.match(e.message, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|self.signed|unable to verify/i);
            return true;
        });
    });

    it("gives up after the timeout with a message naming the boot log and the config key", async () => {
        status = 503;
        const started = Date.now();
        await assert.rejects(check({ timeoutMs: 600 }), (e: Error) => {
            assert.match(e.message, /the Kubernetes API at https:\/\/127\.0\.0\.1:\d+\/readyz was not ready after 0\.01 min \(last answer: HTTP 503\)/);
            assert.ok(e.message.includes(BOOTSTRAP_LOG_PATH), e.message);
            assert.match(e.message, /aura:apiReadyTimeoutMinutes/);
            return true;
        });
        const took = Date.now() - started;
        assert.ok(took >= 500 && took < 3_000, `bounded: took ${took} ms`);
    });

    it("fails on an unreachable endpoint within the timeout", async () => {
        await assert.rejects(check({ url: "https://127.0.0.1:1", timeoutMs: 300 }), /last answer: ECONNREFUSED/);
    });

    it("diff reports no change for the same endpoint and CA, so later runs do nothing", async () => {
        const olds = { url, caPem: good.caPem, timeoutMinutes: 20, bootLog: BOOTSTRAP_LOG_PATH };
        assert.deepStrictEqual(await apiGateProvider.diff!("readyz", olds, { ...olds }), { changes: false });
        assert.deepStrictEqual(await apiGateProvider.diff!("readyz", olds, { ...olds, timeoutMinutes: 30 }), { changes: false });
        assert.deepStrictEqual(await apiGateProvider.diff!("readyz", olds, { ...olds, url: "https://other:6443" }), { changes: true });
        assert.deepStrictEqual(await apiGateProvider.diff!("readyz", olds, { ...olds, caPem: other.caPem }), { changes: true });
    });

    it("reads aura:apiReadyTimeoutMinutes: default 20, whole minutes 1–180, else a clear error", () => {
        assert.strictEqual(parseApiReadyTimeout(undefined), 20);
        assert.strictEqual(parseApiReadyTimeout("45"), 45);
        for (const bad of ["0", "-5", "1.5", "abc", "181"]) {
            assert.throws(() => parseApiReadyTimeout(bad), (e: Error) => {
                assert.strictEqual(
                    e.message,
                    `stack config aura:apiReadyTimeoutMinutes: must be a whole number of minutes from 1 to 180 — got "${bad}" (set it with \`pulumi config set aura:apiReadyTimeoutMinutes 30\`)`,
                );
                return true;
            });
        }
    });

    it("refuses a bad timeout in the stack config before registering anything", async () => {
        await assert.rejects(plan({ profile: DEV, stack: "dev", config: { "aura:apiReadyTimeoutMinutes": "soon" } }), /aura:apiReadyTimeoutMinutes: must be a whole number .* got "soon"/);
    });
});

describe("system stage (profiles/dev.yaml)", () => {
    let dev: Plan;
    let gate: PlannedResource;
    before(async () => {
        dev = await plan({ profile: DEV, stack: "dev", config: { "aura:apiReadyTimeoutMinutes": "25" } });
        gate = one(dev, GATE_TYPE);
    });

    it("registers the gate with the API URL, the cluster CA and the configured timeout, after the masters", () => {
        assert.match(gate.inputs.url as string, /^https:\/\/aura-dev-api-[a-z0-9]+\.westeurope\.cloudapp\.azure\.com:6443$/);
        assert.match(gate.inputs.caPem as string, /BEGIN CERTIFICATE/);
        assert.strictEqual(gate.inputs.timeoutMinutes, 25);
        assert.strictEqual(gate.inputs.bootLog, BOOTSTRAP_LOG_PATH);
        assert.strictEqual(typeof gate.inputs.__provider, "string", "the provider code serialises");
        const masters = byType(dev, "azure-native:compute:VirtualMachine");
        assert.strictEqual(masters.length, 3);
        for (const vm of masters) assert.ok(waitsFor(dev, gate, vm.urn), `the gate waits for ${vm.name}`);
    });

    it("builds one Kubernetes provider from the admin kubeconfig (a secret), after the gate", () => {
        const provider = one(dev, "pulumi:providers:kubernetes");
        assert.strictEqual(provider.inputs.kubeconfig, "[secret]");
        assert.ok(provider.options.dependsOn?.includes(gate.urn));
        for (const r of dev.resources.filter((x) => x.type.startsWith("kubernetes:"))) {
            assert.ok(r.options.provider?.startsWith(`${provider.urn}::`), `${r.name} uses the stage's provider`);
        }
    });

    it("makes every Kubernetes object wait for the gate", () => {
        const objects = dev.resources.filter((r) => r.type.startsWith("kubernetes:"));
        assert.ok(objects.length >= 8, `found ${objects.length}`);
        for (const r of objects) assert.ok(waitsFor(dev, r, gate.urn), `${r.type} ${r.name} waits for the gate`);
    });

    it("creates aura-dev and aura-system with Pod Security Admission labels", () => {
        const ns = Object.fromEntries(byType(dev, "kubernetes:core/v1:Namespace").map((r) => [(r.inputs.metadata as any).name, (r.inputs.metadata as any).labels]));
        assert.deepStrictEqual(Object.keys(ns).sort(), ["aura-access", "aura-dev", "aura-system"]);
        assert.strictEqual(ns["aura-dev"]["pod-security.kubernetes.io/enforce"], POD_SECURITY.core.enforce);
        assert.strictEqual(ns["aura-dev"]["pod-security.kubernetes.io/warn"], "restricted");
        assert.strictEqual(ns["aura-system"]["pod-security.kubernetes.io/enforce"], POD_SECURITY.system.enforce);
        assert.strictEqual(ns["aura-access"]["pod-security.kubernetes.io/enforce"], "restricted");
    });

    it("gives each profile user a ServiceAccount, a token Secret and RoleBindings to its built-in role", () => {
        const accounts = byType(dev, "kubernetes:core/v1:ServiceAccount").filter((r) => (r.inputs.metadata as any).namespace === "aura-access");
        assert.deepStrictEqual(accounts.map((a) => (a.inputs.metadata as any).name).sort(), ["ops-oncall", "support"]);
        const tokens = byType(dev, "kubernetes:core/v1:Secret").filter((r) => r.inputs.type === "kubernetes.io/service-account-token");
        assert.deepStrictEqual(tokens.map((t) => (t.inputs.metadata as any).annotations["kubernetes.io/service-account.name"]).sort(), ["ops-oncall", "support"]);
        const bindings = byType(dev, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding").map((b) => [
            (b.inputs.metadata as any).namespace,
            (b.inputs.roleRef as any).name,
            (b.inputs.subjects as any)[0].name,
        ]);
        assert.deepStrictEqual(bindings.sort(), [["aura-dev", "edit", "ops-oncall"], ["aura-dev", "view", "support"]]);
        assert.deepStrictEqual(dev.outputs.kubeconfigs, { "ops-oncall": "[secret]", support: "[secret]" });
    });

    it("publishes a kubeconfig per user holding that user's token and namespace", async () => {
        const shown = await plan({ profile: DEV, stack: "dev", showSecrets: true });
        const kc = JSON.parse((shown.outputs.kubeconfigs as Record<string, string>)["ops-oncall"]);
        assert.strictEqual(kc.kind, "Config");
        assert.match(kc.users[0].user.token, /^placeholder-token\.[a-z0-9]{40}$/);
        assert.strictEqual(kc.contexts[0].context.namespace, "aura-dev");
        assert.match(kc.clusters[0].cluster.server, /:6443$/);
        assert.ok(kc.clusters[0].cluster["certificate-authority-data"]);
    });

    it("validates every Kubernetes object it builds against the OpenAPI schema", async () => {
        const objects = k8sObjects(dev);
        assert.ok(objects.length >= 8);
        for (const r of objects) await validateK8s(r);
        // The check can fail: a wrong field is refused.
        const ns = byType(dev, "kubernetes:core/v1:Namespace")[0];
        await assert.rejects(validateK8s({ ...ns, inputs: { ...ns.inputs, metadata: { name: 7 } } }), /does not validate/);
        assert.ok(!objects.some((r) => r.type === CHART_TYPE));
    });
});

describe("system stage: access changes", () => {
    it("removing a user removes its ServiceAccount, token and bindings", async () => {
        const text = fs.readFileSync(DEV, "utf8").replace(/\n\s+- \{ name: support, role: view \}/, "");
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "aura-access-")), "dev.yaml");
        fs.writeFileSync(file, text);
        const p = await plan({ profile: file, stack: "dev" });
        const names = k8sObjects(p).map((r) => r.name);
        assert.ok(names.some((n) => n.includes("ops-oncall")));
        assert.ok(!names.some((n) => n.includes("support")), names.join(", "));
        assert.deepStrictEqual(Object.keys(p.outputs.kubeconfigs as object), ["ops-oncall"]);
    });

    it("refuses a user namespace the platform does not create", async () => {
        const text = fs.readFileSync(DEV, "utf8").replace("{ name: support, role: view }", "{ name: support, role: view, namespaces: [aura-dev, kube-system] }");
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "aura-access-")), "dev.yaml");
        fs.writeFileSync(file, text);
        await assert.rejects(
            plan({ profile: file, stack: "dev" }),
            /access\.users\.1\.namespaces\.1: not a namespace the platform creates \(aura-dev, aura-system\) — got "kube-system"/,
        );
    });
});
