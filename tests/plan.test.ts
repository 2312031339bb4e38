// `aura plan`: it runs the program entry under mocks and reports exactly what was registered,
// secrets masked; its JSON contract; determinism.
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { createMocks } from "../cli/mocks";
import { Plan } from "../cli/plan";
import * as zlib from "zlib";
import { ROOT, SEED_PROFILE, plan, tempFile } from "./helpers";
import { seedWith } from "./profile-helpers";

describe("aura plan", () => {
    let seedPlan: Plan;
    /** Every registration the mock runtime saw, with the state it answered. */
    const registered: Array<{ type: string; name: string; state: Record<string, unknown> }> = [];

    before(async () => {
        const base = createMocks();
        const recording: pulumi.runtime.Mocks = {
            call: (args) => base.call(args),
            newResource: (args) => {
                const answer = base.newResource(args) as { id: string; state: Record<string, unknown> };
                registered.push({ type: args.type, name: args.name, state: answer.state });
                return answer;
            },
        };
        seedPlan = await plan({ profile: SEED_PROFILE, stack: "dev", mocks: recording });
    });

    it("lists exactly the resources the mock runtime registered", () => {
        const planned = seedPlan.resources.map((r) => `${r.type}::${r.name}`).sort();
        const seen = registered
            .filter((r) => r.type !== "pulumi:pulumi:Stack" && r.type !== "pulumi:pulumi:StackReference")
            .map((r) => `${r.type}::${r.name}`)
            .sort();
        assert.deepStrictEqual(planned, seen);
        assert.ok(seedPlan.resources.some((r) => !r.custom), "components are listed too");
        assert.ok(planned.length >= 50, `a whole cluster, got ${planned.length}`);
    });

    it("follows the JSON contract", () => {
        assert.strictEqual(seedPlan.stack, "dev");
        for (const r of seedPlan.resources) {
            assert.match(r.urn, /^urn:pulumi:dev::aura-platform::/);
            assert.strictEqual(typeof r.type, "string");
            assert.strictEqual(typeof r.name, "string");
            assert.ok(r.parent === null || seedPlan.resources.some((p) => p.urn === r.parent), `${r.name}: parent ${r.parent} is listed`);
            assert.strictEqual(typeof r.inputs, "object");
            assert.strictEqual(typeof r.options, "object");
            for (const dep of r.options.dependsOn ?? []) assert.ok(seedPlan.resources.some((p) => p.urn === dep), `${r.name}: dependency ${dep}`);
        }
        const stages = seedPlan.resources.filter((r) => r.parent === null).map((r) => r.type).sort();
        assert.deepStrictEqual(stages, ["aura:core:CoreStage", "aura:infra:InfraStage", "aura:system:SystemStage"]);
    });

    it("masks every secret: no value the mocks made secret appears in the plan", () => {
        const json = JSON.stringify(seedPlan);
        const secrets: string[] = [];
        for (const r of registered) {
            for (const key of ["privateKeyPem", "value", "result"]) {
                const v = r.state[key];
                if (typeof v === "string" && !(r.type.includes("RandomString") && r.name.endsWith("-suffix"))) secrets.push(v);
            }
        }
        // ServiceAccount tokens the cluster fills in (the users' kubeconfigs carry them).
        for (const r of registered) {
            const data = r.state.data as Record<string, string> | undefined;
            if (r.type === "kubernetes:core/v1:Secret" && data?.token) secrets.push(data.token, Buffer.from(data.token, "base64").toString());
        }
        // (The two random parts of a join token used to be in state too; join tokens now live only in the cluster.)
        assert.ok(secrets.length >= 7, `found ${secrets.length} secret values to look for`);
        for (const s of secrets) assert.ok(!json.includes(s), `secret leaked into the plan: ${s.slice(0, 30)}…`);
        // The token, assembled, and the PEM bodies never appear either.
        assert.doesNotMatch(json, /[a-z0-9]{6}\.[a-z0-9]{16}/);
        assert.doesNotMatch(json, /PRIVATE KEY/);
        assert.strictEqual(seedPlan.outputs.adminKubeconfig, "[secret]");
        const blobs = seedPlan.resources.filter((r) => r.type === "azure-native:storage:Blob");
        const keyBlob = blobs.find((b) => b.inputs.blobName === "pki/ca.key");
        assert.strictEqual(keyBlob?.inputs.source, "[secret]");
    });

    describe("no secret in any encoding", () => {
        const BOT_TOKEN = "xoxb-stack-secret-0123456789abcdef";
        const HOOK = "https://hooks.example.com/services/T000/B000/stackSecretHookToken";

        /** The forms a secret takes when a program encodes it: as is, base64, base64url, hex, JSON-escaped; a PEM by its body lines. */
        function forms(secret: string): string[] {
            const b = Buffer.from(secret);
            const out = [secret, b.toString("base64"), b.toString("base64url"), b.toString("hex"), JSON.stringify(secret).slice(1, -1)];
            if (secret.includes("-----BEGIN")) out.push(...secret.split("\n").filter((l) => l.length >= 16 && !l.startsWith("-----")));
            return out.filter((f) => f.length >= 8);
        }

        /** The plan's text and everything encoded in it: boot documents unzipped, base64 strings decoded. */
        function haystack(p: Plan): string {
            const parts = [JSON.stringify(p)];
            const visit = (v: unknown): void => {
                if (typeof v === "string") {
                    if (!/^[A-Za-z0-9+/=_-]{16,}$/.test(v)) return;
                    const raw = Buffer.from(v, v.includes("-") || v.includes("_") ? "base64url" : "base64");
                    parts.push(raw.toString("latin1"));
                    if (v.startsWith("H4sI")) parts.push(zlib.gunzipSync(raw).toString("utf8"));
                } else if (Array.isArray(v)) v.forEach(visit);
                else if (v && typeof v === "object") Object.values(v).forEach(visit);
            };
            visit(p);
            return parts.join("\n");
        }

        /** The secret values found in `hay`, by a short description of each. */
        function leaks(secrets: string[], hay: string): string[] {
            return secrets.filter((s) => forms(s).some((f) => hay.includes(f))).map((s) => `${s.slice(0, 12)}…`);
        }

        it("finds none of the mocks' secrets, the stack secrets or the alert webhook: raw, encoded or inside a boot document", async () => {
            const profile = tempFile("dev.yaml", seedWith({ core: { services: { nginx: { service_replicas: 2 }, "aura-bot": { service_replicas: 2, secret_env: { BOT_TOKEN: "bot-token" } } } } }));
            const base = createMocks();
            const made: string[] = [];
            const mocks: pulumi.runtime.Mocks = {
                call: (args) => base.call(args),
                newResource: (args) => {
                    const answer = base.newResource(args) as { id: string; state: Record<string, any> };
                    for (const key of ["privateKeyPem", "value", "result"]) {
                        const v = answer.state[key];
                        if (typeof v === "string" && !(args.type.includes("RandomString") && args.name.endsWith("-suffix"))) made.push(v);
                    }
                    if (args.type === "kubernetes:core/v1:Secret" && answer.state.data?.token) made.push(Buffer.from(answer.state.data.token, "base64").toString());
                    return answer;
                },
            };
            const config = { "aura:secrets.bot-token": BOT_TOKEN, "aura:alertWebhookUrl": HOOK };
            const masked = await plan({ profile, stack: "dev", mocks, config, secretConfigKeys: Object.keys(config) });
            const secrets = [...new Set([...made, BOT_TOKEN, HOOK])];
            assert.ok(secrets.length >= 10, `${secrets.length} secret values to look for`);
            const hay = haystack(masked);
            assert.ok(hay.includes("#cloud-config"), "the boot documents are searched unzipped");
            assert.deepStrictEqual(leaks(secrets, hay), []);
        });

        it("would find a secret the program encoded (the check can fail)", async () => {
            const token = "xoxb-stack-secret-0123456789abcdef";
            const leaked = (v: string): Plan => ({ stack: "dev", profile: "p", outputs: {}, resources: [{ urn: "u", type: "t", name: "n", parent: null, custom: true, options: {}, inputs: { v } }] });
            const gzipped = zlib.gzipSync(`#cloud-config\nruncmd: [echo ${token}]\n`).toString("base64");
            for (const v of [token, Buffer.from(token).toString("base64"), Buffer.from(token).toString("hex"), `prefix ${Buffer.from(token).toString("base64url")}`, gzipped]) {
                assert.deepStrictEqual(leaks([token], haystack(leaked(v))), ["xoxb-stack-s…"], v);
            }
            assert.deepStrictEqual(leaks([token], haystack(leaked("nothing to see"))), []);
        });
    });

    it("shows placeholder secrets with --show-secrets (never real credentials)", async () => {
        const shown = await plan({ profile: SEED_PROFILE, stack: "dev", showSecrets: true });
        assert.notStrictEqual(shown.outputs.adminKubeconfig, "[secret]");
        const kubeconfig = JSON.parse(shown.outputs.adminKubeconfig as string);
        assert.strictEqual(kubeconfig.kind, "Config");
        const vmss = shown.resources.find((r) => r.type === "azure-native:compute:VirtualMachineScaleSet")!;
        const customData = (vmss.inputs.virtualMachineProfile as any).osProfile.customData as string;
        assert.match(customData, /^H4sI/, "gzip+base64 cloud-init, readable by the reviewer");
    });

    it("is deterministic: the same profile gives the same plan", async () => {
        const again = await plan({ profile: SEED_PROFILE, stack: "dev" });
        assert.deepStrictEqual(again, { ...seedPlan, resources: seedPlan.resources });
    });

    it("runs from the command line with --json, and a bad profile exits 1 with the validate message", function () {
        this.timeout(120_000);
        const bin = path.join(ROOT, "bin", "aura.js");
        const out = execFileSync("node", [bin, "plan", SEED_PROFILE, "--stack", "dev", "--json"], { cwd: ROOT, encoding: "utf8" });
        const parsed = JSON.parse(out) as Plan;
        assert.deepStrictEqual(
            parsed.resources.map((r) => r.urn),
            seedPlan.resources.map((r) => r.urn),
        );
        const bad = spawnSync("node", [bin, "plan", path.join(ROOT, "tests", "fixtures", "bad.yaml")], { cwd: ROOT, encoding: "utf8" });
        const validate = spawnSync("node", [bin, "validate", path.join(ROOT, "tests", "fixtures", "bad.yaml")], { cwd: ROOT, encoding: "utf8" });
        assert.strictEqual(bad.status, 1);
        assert.strictEqual(validate.status, 1);
        assert.strictEqual(bad.stderr, validate.stderr);
        assert.doesNotMatch(bad.stderr, /\n\s+at .+:\d+:\d+/);
    });

    it("ends quietly when its reader stops early (aura plan | head)", function () {
        this.timeout(60_000);
        const r = spawnSync("bash", ["-c", 'node bin/aura.js plan profiles/dev.yaml --json | head -n 1; echo "aura exited ${PIPESTATUS[0]}" >&2'], { cwd: ROOT, encoding: "utf8" });
        assert.strictEqual(r.stdout, "{\n");
        assert.strictEqual(r.stderr, "aura exited 0\n");
    });

    it("says in one line, exit 1, when its output cannot be written (a full disk)", function () {
        this.timeout(60_000);
        for (const args of [["schema"], ["plan", "profiles/dev.yaml"]]) {
            const full = fs.openSync("/dev/full", "w");
            try {
                const r = spawnSync("node", [path.join(ROOT, "bin", "aura.js"), ...args], { cwd: ROOT, encoding: "utf8", stdio: ["ignore", full, "pipe"] });
                assert.strictEqual(r.status, 1, r.stderr);
                assert.strictEqual(r.stderr, "aura: cannot write the output: ENOSPC\n");
            } finally {
                fs.closeSync(full);
            }
        }
    });

    it("prints a readable tree by stage and component", function () {
        this.timeout(60_000);
        const out = execFileSync("node", [path.join(ROOT, "bin", "aura.js"), "plan", "profiles/dev.yaml"], { cwd: ROOT, encoding: "utf8" });
        assert.match(out, /^Plan for stack dev \(profiles\/dev\.yaml\): \d+ resources/);
        assert.match(out, /├─ aura:infra:InfraStage {2}aura-dev\n│ {2}├─ /);
        // What a reviewer looks for, on the resource's line.
        assert.match(out, /azure-native:compute:VirtualMachineScaleSet {2}aura-dev-common-z1 {2}\(Standard_DS2_v2, zone 1, 1\.\.3 nodes, now 1\)\n/);
        assert.match(out, /azure-native:compute:VirtualMachine {2}aura-dev-master-0 {2}\(Standard_DS2_v2, zone 1\)/);
        assert.match(out, /kubernetes:helm\.sh\/v4:Chart {2}aura-dev-cni-cilium {2}\(chart cilium \d+\.\d+\.\d+\)/);
        assert.match(out, /kubernetes:autoscaling\/v2:HorizontalPodAutoscaler {2}aura-dev-api-gw {2}\(2\.\.6 replicas at 80% CPU\)/);
        assert.match(out, /kubernetes:apps\/v1:Deployment {2}aura-dev-insights-loader {2}\(1 replica\)/);
        assert.match(out, /kubernetes:apps\/v1:Deployment {2}aura-dev-api-gw {2}\(replicas from its HPA\)/);
        assert.match(out, /azure-native:compute:Disk {2}aura-dev-master-0-etcd {2}\[protect\]/);
        assert.match(out, /adminKubeconfig: \[secret\]/);
    });
});
