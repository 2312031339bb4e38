// The system stage: the API readiness gate (against a real local HTTPS server), the order every
// Kubernetes object waits in, namespaces, per-user access, and schema validation of every object
// the program builds itself.
import * as assert from "assert";
import { execFile, execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import diff from "microdiff";
import * as pulumi from "@pulumi/pulumi";
import { MOCK_SUBSCRIPTION, MOCK_TENANT, createMocks } from "../cli/mocks";
import { Plan, PlannedResource } from "../cli/plan";
import { GATE_COMMAND_LABEL, READYZ_SCRIPT, parseApiReadyTimeout } from "../components/system/apiGate";
import { AUTOSCALER_IMAGE_TAGS, AUTOSCALER_SECRET, NodeGroup, autoscalerImageTag, nodeGroups } from "../components/system/autoscaler";
import { NEWEST_KUBERNETES, OLDEST_KUBERNETES } from "../profiles/versions";
import { CHARTS } from "../components/system/charts";
import { STORAGE_CLASS_NAME } from "../components/system";
import { POD_SECURITY } from "../components/system/namespaces";
import { BOOTSTRAP_LOG_PATH } from "../components/infra/cloudinit";
import { ROOT, byType, one, plan } from "./helpers";
import { CHART_TYPE, k8sObjects, validateK8s } from "./k8s-helpers";

const DEV = path.join(ROOT, "profiles", "dev.yaml");
const GATE_TYPE = "command:local:Command";

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

    /** The gate as `pulumi up` gets it (profiles/dev.yaml). */
    let planned: PlannedResource;
    before(async () => {
        planned = one(await plan({ profile: DEV, stack: "dev" }), GATE_TYPE);
    });

    /**
     * Runs the planned gate command the way the command provider does (its interpreter, its text,
     * its environment), pointed at the local server; polls every 100 ms.
     */
    async function check(over: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
        const [program, ...args] = planned.inputs.interpreter as string[];
        const env = {
            ...process.env,
            ...(planned.inputs.environment as Record<string, string>),
            AURA_API_URL: url,
            AURA_API_CA: good.caPem,
            AURA_API_TIMEOUT_MINUTES: String(1_500 / 60_000),
            AURA_API_POLL_MS: "100",
            ...over,
        };
        const started = Date.now();
        return new Promise((resolve) => {
            execFile(program, [...args, planned.inputs.create as string], { env, encoding: "utf8" }, (err, stdout, stderr) => {
                resolve({ code: err ? Number(err.code) : 0, stdout, stderr, ms: Date.now() - started });
            });
        });
    }
    const minutes = (ms: number) => String(ms / 60_000);

    it("runs readyz.js with node, given the API URL, the cluster CA, the timeout and the boot log", () => {
        assert.deepStrictEqual(planned.inputs.interpreter, ["node", "-e", READYZ_SCRIPT]);
        assert.strictEqual(planned.inputs.create, GATE_COMMAND_LABEL);
        assert.strictEqual(READYZ_SCRIPT, fs.readFileSync(path.join(ROOT, "components", "system", "readyz.js"), "utf8"));
        const env = planned.inputs.environment as Record<string, string>;
        assert.deepStrictEqual(Object.keys(env).sort(), ["AURA_API_CA", "AURA_API_TIMEOUT_MINUTES", "AURA_API_URL", "AURA_BOOT_LOG"]);
        assert.strictEqual(env.AURA_API_TIMEOUT_MINUTES, "20");
        assert.strictEqual(env.AURA_BOOT_LOG, BOOTSTRAP_LOG_PATH);
    });

    it("passes when /readyz answers 200 over TLS verified against the cluster CA", async () => {
        status = 200;
        const r = await check();
        assert.deepStrictEqual([r.code, r.stderr], [0, ""]);
        assert.match(r.stdout, /the Kubernetes API is ready/);
    });

    it("keeps polling until the API becomes ready", async () => {
        status = 503;
        requests = 0;
        setTimeout(() => (status = 200), 400);
        const r = await check({ AURA_API_TIMEOUT_MINUTES: minutes(5_000) });
        assert.strictEqual(r.code, 0, r.stderr);
        assert.ok(requests >= 2, `polled ${requests} times`);
    });

    it("fails when the server's certificate does not come from the cluster CA (TLS is never skipped)", async () => {
        status = 200;
        const r = await check({ AURA_API_CA: other.caPem, AURA_API_TIMEOUT_MINUTES: minutes(300) });
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /not ready after/);
        assert.match(r.stderr, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|self.signed|unable to verify/i);
        // Not even when the deployer's environment turns Node's certificate checks off.
        const off = await check({ AURA_API_CA: other.caPem, AURA_API_TIMEOUT_MINUTES: minutes(300), NODE_TLS_REJECT_UNAUTHORIZED: "0" });
        assert.strictEqual(off.code, 1, off.stdout);
    });

    it("gives up after the timeout with a message naming the boot log and the config key", async () => {
        status = 503;
        const r = await check({ AURA_API_TIMEOUT_MINUTES: minutes(600) });
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /the Kubernetes API at https:\/\/127\.0\.0\.1:\d+\/readyz was not ready after 0\.01 min \(last answer: HTTP 503\)/);
        assert.ok(r.stderr.includes(BOOTSTRAP_LOG_PATH), r.stderr);
        assert.match(r.stderr, /aura:apiReadyTimeoutMinutes/);
        assert.ok(r.ms >= 500 && r.ms < 5_000, `bounded: took ${r.ms} ms`);
    });

    it("fails on an unreachable endpoint within the timeout", async () => {
        const r = await check({ AURA_API_URL: "https://127.0.0.1:1", AURA_API_TIMEOUT_MINUTES: minutes(300) });
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /last answer: ECONNREFUSED/);
    });

    it("says which setting is wrong instead of polling without a CA or over plain HTTP", async () => {
        const r = await check({ AURA_API_CA: "", AURA_API_URL: "http://127.0.0.1:1", AURA_API_TIMEOUT_MINUTES: "soon" });
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /AURA_API_URL must be https.*AURA_API_CA holds no PEM certificate.*AURA_API_TIMEOUT_MINUTES must be a positive number, got "soon"/);
    });

    it("waits again only for another cluster: a new endpoint or CA replaces it", () => {
        const env = planned.inputs.environment as Record<string, string>;
        assert.deepStrictEqual(planned.inputs.triggers, [env.AURA_API_URL, env.AURA_API_CA]);
        assert.deepStrictEqual(planned.options.replaceOnChanges, ["triggers[*]"]);
    });

    it("reads aura:apiReadyTimeoutMinutes: default 20, whole minutes 1–180, else a clear error", () => {
        assert.strictEqual(parseApiReadyTimeout(undefined, "dev"), 20);
        assert.strictEqual(parseApiReadyTimeout("45", "dev"), 45);
        for (const bad of ["0", "-5", "1.5", "abc", "181"]) {
            assert.throws(() => parseApiReadyTimeout(bad, "dev"), (e: Error) => {
                assert.strictEqual(
                    e.message,
                    `stack config aura:apiReadyTimeoutMinutes (Pulumi.dev.yaml): must be a whole number of minutes from 1 to 180 — got "${bad}" (set it with \`pulumi config set aura:apiReadyTimeoutMinutes 30 -s dev\`)`,
                );
                return true;
            });
        }
    });

    it("refuses a bad timeout in the stack config before registering anything", async () => {
        await assert.rejects(plan({ profile: DEV, stack: "dev", config: { "aura:apiReadyTimeoutMinutes": "soon" } }), /stack config aura:apiReadyTimeoutMinutes \(Pulumi\.dev\.yaml\): must be a whole number .* got "soon" \(set it with `pulumi config set aura:apiReadyTimeoutMinutes 30 -s dev`\)/);
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
        const env = gate.inputs.environment as Record<string, string>;
        assert.match(env.AURA_API_URL, /^https:\/\/aura-dev-api-[a-z0-9]+\.westeurope\.cloudapp\.azure\.com:6443$/);
        assert.match(env.AURA_API_CA, /BEGIN CERTIFICATE/);
        assert.strictEqual(env.AURA_API_TIMEOUT_MINUTES, "25");
        assert.strictEqual(env.AURA_BOOT_LOG, BOOTSTRAP_LOG_PATH);
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
            // The profile refuses it (issue #13), with the one formatter's key path.
            /access\.users\[1\]\.namespaces\[1\]: is not a namespace the platform creates \(aura-dev or aura-system\) — got "kube-system"/,
        );
    });
});

/** A copy of profiles/dev.yaml with `edit` applied to its text. */
function devVariant(edit: (text: string) => string): string {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "aura-system-")), "dev.yaml");
    fs.writeFileSync(file, edit(fs.readFileSync(DEV, "utf8")));
    return file;
}

function chartNamed(p: Plan, chart: string): PlannedResource {
    const found = byType(p, CHART_TYPE).filter((r) => r.inputs.chart === chart);
    assert.strictEqual(found.length, 1, `one ${chart} chart`);
    return found[0];
}

describe("system stage: charts, order and cloud configuration (profiles/dev.yaml)", () => {
    let dev: Plan;
    /** The same plan with the mocks' placeholder secrets shown. */
    let shown: Plan;
    before(async () => {
        dev = await plan({ profile: DEV, stack: "dev" });
        shown = await plan({ profile: DEV, stack: "dev", showSecrets: true });
    });

    it("takes every chart's name, exact version and repository from the pinned list", () => {
        for (const pin of Object.values(CHARTS)) {
            assert.match(pin.version, /^\d+\.\d+\.\d+$/, `${pin.chart}: an exact version`);
            assert.match(pin.repo, /^https:\/\//);
            assert.ok(pin.why.length > 20, `${pin.chart}: says why`);
        }
        const charts = byType(dev, CHART_TYPE);
        for (const c of charts) {
            const pin = Object.values(CHARTS).find((p) => p.chart === c.inputs.chart);
            assert.ok(pin, `${String(c.inputs.chart)} is pinned in components/system/charts.ts`);
            assert.strictEqual(c.inputs.version, pin.version);
            assert.deepStrictEqual(c.inputs.repositoryOpts, { repo: pin.repo });
            assert.strictEqual(typeof c.inputs.values, "object", `${c.name} shows its values`);
        }
        for (const key of ["cilium", "cloudProviderAzure", "azureDiskCsi", "clusterAutoscaler", "metricsServer", "kubeletCsrApprover"] as const) {
            chartNamed(dev, CHARTS[key].chart);
        }
    });

    it("orders CNI → cloud provider → CSI + StorageClass → everything else, all after the gate", () => {
        const gate = one(dev, GATE_TYPE).urn;
        const cni = chartNamed(dev, "cilium");
        const ccm = chartNamed(dev, "cloud-provider-azure");
        const csi = chartNamed(dev, "azuredisk-csi-driver");
        const sc = one(dev, "kubernetes:storage.k8s.io/v1:StorageClass");
        const cloudConfig = byType(dev, "kubernetes:core/v1:Secret").find((s) => (s.inputs.metadata as any).name === "azure-cloud-provider")!;
        assert.ok(cni.options.dependsOn?.includes(gate), "the CNI waits for the gate directly");
        assert.ok(!waitsFor(dev, cni, ccm.urn));
        assert.ok(waitsFor(dev, ccm, cni.urn) && waitsFor(dev, ccm, cloudConfig.urn), "the cloud provider comes after the CNI and its Secret");
        for (const later of [csi, sc]) assert.ok(waitsFor(dev, later, ccm.urn), `${later.name} after the cloud provider`);
        const others = byType(dev, CHART_TYPE).filter((c) => ![cni.urn, ccm.urn, csi.urn].includes(c.urn));
        assert.ok(others.length >= 3);
        for (const c of others) {
            for (const before of [gate, cni.urn, ccm.urn, csi.urn, sc.urn]) {
                assert.ok(waitsFor(dev, c, before), `${c.name} waits for ${before.split("::").pop()}`);
            }
        }
    });

    it("runs the CNI as an overlay over the profile's pod_cidr, enforcing NetworkPolicy", async () => {
        const custom = await plan({ profile: devVariant((t) => t.replace('zones: ["1", "2", "3"]', 'zones: ["1", "2", "3"]\n  network: { pod_cidr: "10.200.0.0/16" }')), stack: "dev" });
        for (const [p, cidr] of [[dev, "10.244.0.0/16"], [custom, "10.200.0.0/16"]] as const) {
            const values = chartNamed(p, "cilium").inputs.values as any;
            assert.strictEqual(values.routingMode, "tunnel");
            assert.strictEqual(values.tunnelProtocol, "vxlan");
            assert.deepStrictEqual(values.ipam.operator.clusterPoolIPv4PodCIDRList, [cidr]);
            assert.strictEqual(values.policyEnforcementMode, "default");
            // Rollouts of its DaemonSets may take long on a big cluster: the provider waits an hour.
            assert.deepStrictEqual([values.annotations, values.envoy.annotations], [{ "pulumi.com/timeoutSeconds": "3600" }, { "pulumi.com/timeoutSeconds": "3600" }]);
            assert.strictEqual((chartNamed(p, "cloud-provider-azure").inputs.values as any).cloudControllerManager.clusterCIDR, cidr);
        }
    });

    it("writes the cloud config Secret that cloud-provider-azure and the disk driver read, from the infra facts", () => {
        const secret = byType(shown, "kubernetes:core/v1:Secret").find((s) => (s.inputs.metadata as any).name === "azure-cloud-provider")!;
        assert.strictEqual((secret.inputs.metadata as any).namespace, "kube-system");
        const config = JSON.parse((secret.inputs.stringData as any)["cloud-config"]);
        const agentSubnets = byType(shown, "azure-native:network:Subnet").map((n) => n.inputs.subnetName as string).filter((n) => n.startsWith("agents"));
        assert.ok(agentSubnets.length >= 1);
        const app = one(shown, "azuread:index/application:Application");
        const password = one(shown, "azuread:index/applicationPassword:ApplicationPassword");
        assert.deepStrictEqual(
            { ...config, aadClientId: typeof config.aadClientId, aadClientSecret: typeof config.aadClientSecret },
            {
                cloud: "AzurePublicCloud",
                tenantId: MOCK_TENANT,
                subscriptionId: MOCK_SUBSCRIPTION,
                aadClientId: "string",
                aadClientSecret: "string",
                useManagedIdentityExtension: false,
                resourceGroup: "aura-dev-rg",
                location: "westeurope",
                vmType: "vmss",
                disableAvailabilitySetNodes: false,
                vnetName: "aura-dev-net-vnet",
                vnetResourceGroup: "aura-dev-rg",
                subnetName: agentSubnets[0],
                securityGroupName: "aura-dev-net-agents-nsg",
                securityGroupResourceGroup: "aura-dev-rg",
                loadBalancerSku: "standard",
                loadBalancerBackendPoolConfigurationType: "nodeIP",
                excludeMasterFromStandardLB: true,
                useInstanceMetadata: true,
                cloudProviderBackoff: true,
                cloudProviderRateLimit: true,
            },
        );
        assert.strictEqual(config.aadClientSecret.length, 40, "the service principal's password");
        assert.ok(password.name.endsWith("-password") && app.name.endsWith("-app"));
        // In the plain plan it is a secret.
        const masked = byType(dev, "kubernetes:core/v1:Secret").find((s) => (s.inputs.metadata as any).name === "azure-cloud-provider")!;
        assert.strictEqual(masked.inputs.stringData, "[secret]");
        // Both readers are pointed at the Secret, not at a host file.
        const ccm = (chartNamed(dev, "cloud-provider-azure").inputs.values as any).cloudControllerManager;
        assert.deepStrictEqual([ccm.cloudConfig, ccm.cloudConfigSecretName, ccm.enableDynamicReloading], ["", "azure-cloud-provider", "true"]);
        assert.ok(ccm.tolerations.some((t: any) => t.key === "node.cloudprovider.kubernetes.io/uninitialized"), "it runs on nodes it has not initialised yet");
        const csi = (chartNamed(dev, "azuredisk-csi-driver").inputs.values as any).controller;
        assert.deepStrictEqual([csi.cloudConfigSecretName, csi.cloudConfigSecretNamespace], ["azure-cloud-provider", "kube-system"]);
    });

    it("makes a default StorageClass on Managed Disks: WaitForFirstConsumer, expandable", () => {
        const sc = one(dev, "kubernetes:storage.k8s.io/v1:StorageClass").inputs as any;
        assert.strictEqual(sc.metadata.name, STORAGE_CLASS_NAME);
        assert.strictEqual(sc.metadata.annotations["storageclass.kubernetes.io/is-default-class"], "true");
        assert.strictEqual(sc.provisioner, "disk.csi.azure.com");
        assert.ok(["StandardSSD_LRS", "Premium_LRS"].includes(sc.parameters.skuName));
        assert.strictEqual(sc.volumeBindingMode, "WaitForFirstConsumer");
        assert.strictEqual(sc.allowVolumeExpansion, true);
    });

    it("runs one cluster-autoscaler on a master, labelled app=cluster-autoscaler, with credentials from its Secret and a checksum annotation", () => {
        const values = chartNamed(shown, "cluster-autoscaler").inputs.values as any;
        assert.strictEqual(values.cloudProvider, "azure");
        assert.strictEqual(values.replicaCount, 1);
        assert.deepStrictEqual(values.nodeSelector, { "node-role.kubernetes.io/control-plane": "" });
        assert.ok(values.tolerations.some((t: any) => t.key === "node-role.kubernetes.io/control-plane" && t.effect === "NoSchedule"));
        assert.deepStrictEqual(values.podLabels, { app: "cluster-autoscaler" });
        assert.strictEqual(values.fullnameOverride, "cluster-autoscaler");
        assert.strictEqual(values.extraArgs["balance-similar-node-groups"], true);
        assert.strictEqual(values.secretKeyRefNameOverride, AUTOSCALER_SECRET);
        // The autoscaler release of the cluster's minor (dev runs 1.33), not the chart's default.
        assert.deepStrictEqual(values.image, { tag: "v1.33.6" });
        const secret = byType(shown, "kubernetes:core/v1:Secret").find((s) => (s.inputs.metadata as any).name === AUTOSCALER_SECRET)!;
        assert.strictEqual((secret.inputs.metadata as any).namespace, "kube-system");
        const data = secret.inputs.stringData as Record<string, string>;
        assert.deepStrictEqual(Object.keys(data).sort(), ["ClientID", "ClientSecret", "ResourceGroup", "SubscriptionID", "TenantID", "VMType"]);
        assert.strictEqual(data.VMType, "vmss");
        // An HMAC under the stage's secret checksum key (a random value kept in state), not a plain
        // hash: one would let anyone with the plan test a guess of the password offline.
        const key = byType(shown, "random:index/randomPassword:RandomPassword").find((r) => r.name === "aura-dev-checksum-key")!;
        assert.strictEqual(key.parent, one(shown, "aura:system:SystemStage", "aura-dev").urn);
        const keyValue = createMocks().newResource({ type: key.type, name: key.name, inputs: key.inputs, custom: true } as pulumi.runtime.MockResourceArgs) as unknown as { state: { result: string } };
        const annotation = values.podAnnotations["checksum/azure-credentials"];
        assert.strictEqual(annotation, crypto.createHmac("sha256", keyValue.state.result).update(JSON.stringify(data)).digest("hex"));
        assert.notStrictEqual(annotation, crypto.createHash("sha256").update(JSON.stringify(data)).digest("hex"));
        // The Secret is masked in the plain plan.
        const masked = byType(dev, "kubernetes:core/v1:Secret").find((s) => (s.inputs.metadata as any).name === AUTOSCALER_SECRET)!;
        assert.strictEqual(masked.inputs.stringData, "[secret]");
    });

    it("serves metrics-server with verified kubelet certificates: serverTLSBootstrap and an approver limited to the cluster's nodes", () => {
        const vm = byType(dev, "azure-native:compute:VirtualMachine")[0];
        const boot = zlib.gunzipSync(Buffer.from((vm.inputs.osProfile as any).customData, "base64")).toString();
        assert.match(boot, /kind: KubeletConfiguration\n(\s+\S.*\n)*?\s+serverTLSBootstrap: true/);
        const metrics = chartNamed(dev, "metrics-server").inputs.values as any;
        assert.doesNotMatch(JSON.stringify(metrics), /kubelet-insecure-tls/);
        const approver = chartNamed(dev, "kubelet-csr-approver").inputs.values as any;
        const re = new RegExp(approver.providerRegex);
        const prefix = (byType(dev, "azure-native:compute:VirtualMachineScaleSet")[0].inputs.virtualMachineProfile as any).osProfile.computerNamePrefix;
        assert.ok(re.test((vm.inputs.osProfile as any).computerName), "a master");
        assert.ok(re.test(`${prefix}00000a`), "a scale set instance");
        for (const stranger of ["aura-prod-master-0", "prod-common-00000a", "evil"]) assert.ok(!re.test(stranger), stranger);
        assert.deepStrictEqual(approver.providerIpPrefixes, ["10.240.0.0/24", "10.240.16.0/20"]);
        assert.ok(waitsFor(dev, chartNamed(dev, "metrics-server"), chartNamed(dev, "kubelet-csr-approver").urn), "certificates are approved before metrics-server must be ready");
    });

    it("pins an autoscaler release for every Kubernetes minor the profile accepts, of that minor", () => {
        for (let minor = OLDEST_KUBERNETES.minor; minor <= NEWEST_KUBERNETES.minor; minor++) {
            assert.match(autoscalerImageTag(`1.${minor}.0`), new RegExp(`^v1\\.${minor}\\.\\d+$`), `Kubernetes 1.${minor}`);
        }
        assert.strictEqual(Object.keys(AUTOSCALER_IMAGE_TAGS).length, NEWEST_KUBERNETES.minor - OLDEST_KUBERNETES.minor + 1, "no release for a minor the profile refuses");
        assert.throws(() => autoscalerImageTag("1.40.0"), /no cluster-autoscaler release is pinned for Kubernetes 1\.40/);
    });

    it("leaves no kube-system pod without a disruption budget on an agent, so the autoscaler can empty nodes", () => {
        const onMasters = { "node-role.kubernetes.io/control-plane": "" };
        for (const chart of ["kubelet-csr-approver", "cluster-autoscaler", "cloud-provider-azure"]) {
            const values = chartNamed(dev, chart).inputs.values as any;
            assert.deepStrictEqual(values.nodeSelector ?? values.cloudControllerManager?.nodeSelector, onMasters, `${chart} runs on the masters`);
        }
        assert.deepStrictEqual((chartNamed(dev, "cilium").inputs.values as any).operator.podDisruptionBudget, { enabled: true, maxUnavailable: 1 });
        assert.strictEqual((chartNamed(dev, "metrics-server").inputs.values as any).podDisruptionBudget.enabled, true);
        // Its two replicas prefer different nodes and zones, selected by the labels the chart gives
        // its pods (metrics-server.selectorLabels: the chart's name and the release's).
        const metrics = chartNamed(dev, "metrics-server");
        const spread = (metrics.inputs.values as any).topologySpreadConstraints as any[];
        assert.deepStrictEqual(spread.map((c) => [c.topologyKey, c.whenUnsatisfiable]), [["kubernetes.io/hostname", "ScheduleAnyway"], ["topology.kubernetes.io/zone", "ScheduleAnyway"]]);
        for (const c of spread) assert.deepStrictEqual(c.labelSelector.matchLabels, { "app.kubernetes.io/name": (metrics.inputs as any).chart, "app.kubernetes.io/instance": (metrics.inputs as any).name });
        const coredns = byType(dev, "kubernetes:policy/v1:PodDisruptionBudget").find((p) => (p.inputs.metadata as any).namespace === "kube-system");
        assert.ok(coredns, "a budget for kubeadm's CoreDNS");
        assert.deepStrictEqual(coredns.inputs.spec, { minAvailable: 1, selector: { matchLabels: { "k8s-app": "kube-dns" } } });
        assert.ok(waitsFor(dev, coredns, one(dev, GATE_TYPE).urn), "after the API gate");
    });

    it("validates every Kubernetes object it builds, secrets included, against the OpenAPI schema", async () => {
        const objects = k8sObjects(shown);
        assert.ok(objects.length >= 12, `found ${objects.length}`);
        for (const r of objects) await validateK8s(r);
        const kinds = new Set(objects.map((r) => r.type.split(":")[2]));
        for (const kind of ["Namespace", "Secret", "ServiceAccount", "RoleBinding", "StorageClass"]) assert.ok(kinds.has(kind), kind);
        // The check can fail: a wrong field is refused, and charts are not objects of ours.
        const ns = byType(shown, "kubernetes:core/v1:Namespace")[0];
        await assert.rejects(validateK8s({ ...ns, inputs: { ...ns.inputs, metadata: { name: 7 } } }), /does not validate/);
        const sc = one(shown, "kubernetes:storage.k8s.io/v1:StorageClass");
        await assert.rejects(validateK8s({ ...sc, inputs: { ...sc.inputs, volumeBindingMode: 3 } }), /does not validate/);
        assert.ok(!objects.some((r) => r.type === CHART_TYPE));
    });
});

describe("system stage: node groups", () => {
    it("has one autoscaler node group per infra scale set, with the profile's bounds, for a profile with an extra pool", async () => {
        const file = devVariant((t) => t.replace(
            "    management_nodes:",
            "    batch_nodes:\n      min_size: 0\n      max_size: 5\n      type: \"Standard_D4s_v3\"\n    management_nodes:",
        ));
        const p = await plan({ profile: file, stack: "dev" });
        const sets = byType(p, "azure-native:compute:VirtualMachineScaleSet");
        const fromInfra = sets
            .map((s) => ({ name: s.inputs.vmScaleSetName as string, minSize: Number((s.inputs.tags as any).min), maxSize: Number((s.inputs.tags as any).max) }))
            .sort((a, b) => a.name.localeCompare(b.name));
        const groups = [...((chartNamed(p, "cluster-autoscaler").inputs.values as any).autoscalingGroups as NodeGroup[])].sort((a, b) => a.name.localeCompare(b.name));
        assert.deepStrictEqual(groups, fromInfra, "one node group per scale set, with its bounds");
        // Per pool, the node groups add up to the profile's bounds (a pool may be one scale set per zone).
        const poolOf = new Map(sets.map((s) => [s.inputs.vmScaleSetName as string, (s.inputs.tags as any).poolName as string]));
        const expected: Record<string, [number, number]> = { batch: [0, 5], common: [2, 8], database: [3, 6], management: [3, 6] };
        for (const [pool, [min, max]] of Object.entries(expected)) {
            const mine = groups.filter((g) => poolOf.get(g.name) === pool);
            assert.ok(mine.length >= 1, `${pool} has a node group`);
            assert.deepStrictEqual([mine.reduce((n, g) => n + g.minSize, 0), mine.reduce((n, g) => n + g.maxSize, 0)], [min, max], pool);
        }
    });

    it("maps the infra pool list itself, whatever its length", () => {
        const pools = [
            { name: "database", scaleSetName: "aura-x-database-z1", minSize: 1, maxSize: 2, vmSize: "Standard_DS2_v2" },
            { name: "database", scaleSetName: "aura-x-database-z2", minSize: 1, maxSize: 2, vmSize: "Standard_DS2_v2" },
        ];
        assert.deepStrictEqual(nodeGroups(pools), [
            { name: "aura-x-database-z1", minSize: 1, maxSize: 2 },
            { name: "aura-x-database-z2", minSize: 1, maxSize: 2 },
        ]);
    });
});

describe("system stage: service principal rotation", () => {
    it("changes only the password, the two Secrets and the checksum annotations; no VM or scale set input", async () => {
        const run = (rotation: string) => plan({ profile: DEV, stack: "dev", showSecrets: true, config: { "aura:servicePrincipalRotation": rotation } });
        const [a, b] = [await run("1"), await run("2")];
        assert.deepStrictEqual(b.resources.map((r) => r.urn), a.resources.map((r) => r.urn), "same resources");
        const changed: string[] = [];
        a.resources.forEach((r, i) => {
            for (const d of diff(r.inputs, b.resources[i].inputs)) changed.push(`${r.type} ${r.name}: ${d.path.join(".")}`);
        });
        assert.deepStrictEqual(changed.sort(), [
            "azuread:index/applicationPassword:ApplicationPassword aura-dev-cluster-password: displayName",
            "azuread:index/applicationPassword:ApplicationPassword aura-dev-cluster-password: rotateWhenChanged.rotation",
            "kubernetes:core/v1:Secret aura-dev-autoscaler-azure: stringData.ClientSecret",
            "kubernetes:core/v1:Secret aura-dev-cloud-config: stringData.cloud-config",
            "kubernetes:helm.sh/v4:Chart aura-dev-autoscaler-chart: values.podAnnotations.checksum/azure-credentials",
            "kubernetes:helm.sh/v4:Chart aura-dev-storage-azuredisk: values.controller.podAnnotations.checksum/cloud-config",
            "time:index/rotating:Rotating aura-dev-cluster-rotation: triggers.rotation",
        ]);
        assert.ok(!changed.some((c) => c.startsWith("azure-native:compute:")), "no VM or scale set input changed");
        assert.deepStrictEqual(b.outputs, a.outputs);
    });
});
