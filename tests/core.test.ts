// The core stage: what `aura plan` shows for the platform services (HPA bounds, singletons, labels,
// PDBs, placement), the provisioning jobs and their re-run rule, configuration and stack secrets,
// images and the default release; every object checked against the Kubernetes OpenAPI schema.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Plan, PlannedResource } from "../cli/plan";
import { PLACEHOLDER_STACK_SECRET, offlineConfig } from "../cli/main";
import { createMocks } from "../cli/mocks";
import { CoreStage } from "../components/core";
import { METRICS_PORT_NAME } from "../components/system/monitoring";
import { DEFAULT_RELEASE, ProfileError, parseProfile } from "../profiles";
import { imageProblem } from "../profiles/release";
import { ROOT, SEED_PROFILE, byType, one, plan, tempFile } from "./helpers";
import { apiServerProblems, k8sObjects, planProgram, testProvider, unknownFields, validateK8s } from "./k8s-helpers";

const SEED = fs.readFileSync(SEED_PROFILE, "utf8");
const SECRET = "s3cr3t-Bot-Token-4f9a2c";

const CORE = `${SEED}
core:
  services:
    aura-bot:
      service_replicas: 5
      env: { LOG_LEVEL: info }
      secret_env: { BOT_TOKEN: bot-token }
      databases: [mongodb]
      readiness_probe: { path: /healthz }
      metrics_port: 9090
    web-sdk: { service_replicas: 1 }
    nginx: { service_replicas: 2 }
    api-gw: { service_replicas: 2, image: "registry.example.com/api-gw:1.2.3", databases: [postgresql, mongodb] }
    insights-loader: { service_replicas: 1 }
  jobs:
    aura-bot-makeup: { after: [aura-bot], secret_env: { BOT_TOKEN: bot-token } }
    nlp-provisioning: {}
`;
const SERVICES = ["aura-bot", "web-sdk", "nginx", "api-gw", "insights-loader"];

const kinds = {
    deployment: "kubernetes:apps/v1:Deployment",
    service: "kubernetes:core/v1:Service",
    hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    pdb: "kubernetes:policy/v1:PodDisruptionBudget",
    job: "kubernetes:batch/v1:Job",
    configMap: "kubernetes:core/v1:ConfigMap",
    secret: "kubernetes:core/v1:Secret",
};

/** The object of `kind` whose Kubernetes name is `name`. */
function object(p: Plan, kind: string, name: string): PlannedResource {
    const found = byType(p, kind).filter((r) => (r.inputs.metadata as { name?: string }).name === name);
    assert.strictEqual(found.length, 1, `one ${kind} named ${name}`);
    return found[0];
}
const spec = (r: PlannedResource) => r.inputs.spec as any;
/** The core stage's Jobs (the system stage has its own, in aura-system). */
const coreJobs = (p: Plan) => byType(p, kinds.job).filter((j) => (j.inputs.metadata as { namespace?: string }).namespace === "aura-dev");
const container = (r: PlannedResource) => spec(r).template.spec.containers[0];

/** Plans the core stage alone for a profile, with a literal provider. */
function planCore(profileText: string, secrets: Record<string, string>, showSecrets = false, mongodbPassword = "mongodb-password-1"): Promise<Plan> {
    const profile = parseProfile(profileText, { file: "core.yaml", stack: "dev" });
    return planProgram(() => {
        const core = new CoreStage("aura-dev", {
            profile,
            namespace: profile.namespaces.core,
            provider: testProvider(),
            dependsOn: [],
            databaseSecrets: { postgresql: "aura-postgresql", mongodb: "aura-mongodb" },
            databasePasswords: { postgresql: pulumi.secret("postgresql-password-1"), mongodb: pulumi.secret(mongodbPassword) },
            databaseReady: { postgresql: [], mongodb: [] },
            secrets: Object.fromEntries(Object.entries(secrets).map(([k, v]) => [k, pulumi.secret(v)])),
        });
        return { publicAddress: core.publicAddress };
    }, { showSecrets });
}

describe("core stage", () => {
    let file: string;
    let full: Plan;
    before(async () => {
        file = tempFile("core.yaml", CORE);
        full = await plan({ profile: file, stack: "dev", config: { "aura:secrets.bot-token": SECRET }, secretConfigKeys: ["aura:secrets.bot-token"] });
    });

    describe("aura plan of a profile with aura-bot 5, web-sdk 1", () => {
        it("shows HPAs aura-bot 5..15 and web-sdk 1..3 at 80% CPU (max = 3 x service_replicas)", () => {
            const bounds = (name: string) => {
                const s = spec(object(full, kinds.hpa, name));
                assert.deepStrictEqual(s.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name });
                assert.deepStrictEqual(s.metrics, [
                    { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } },
                ]);
                return [s.minReplicas, s.maxReplicas];
            };
            assert.deepStrictEqual(bounds("aura-bot"), [5, 15]);
            assert.deepStrictEqual(bounds("web-sdk"), [1, 3]);
            assert.deepStrictEqual(bounds("nginx"), [2, 6]);
            assert.deepStrictEqual(byType(full, kinds.hpa).map((h) => (h.inputs.metadata as any).name).sort(), ["api-gw", "aura-bot", "nginx", "web-sdk"]);
        });

        it("runs insights-loader as one replica, strategy Recreate, no HPA, and a PDB that allows its eviction", () => {
            const d = object(full, kinds.deployment, "insights-loader");
            assert.strictEqual(spec(d).replicas, 1);
            assert.deepStrictEqual(spec(d).strategy, { type: "Recreate" });
            assert.ok(!byType(full, kinds.hpa).some((h) => spec(h).scaleTargetRef.name === "insights-loader"));
            assert.strictEqual(spec(object(full, kinds.pdb, "insights-loader")).maxUnavailable, 1);
            assert.strictEqual(spec(object(full, kinds.pdb, "insights-loader")).minAvailable, undefined);
        });

        it("never sets replicas on a Deployment an HPA owns (server-side apply then leaves the HPA's count alone)", () => {
            const owned = byType(full, kinds.hpa).map((h) => spec(h).scaleTargetRef.name as string);
            assert.strictEqual(owned.length, 4);
            for (const name of owned) {
                const s = spec(object(full, kinds.deployment, name));
                // Absent, not 0 or null: SSA would take ownership of any value sent, even a null.
                assert.ok(!("replicas" in s), `${name}: Deployment sets replicas = ${JSON.stringify(s.replicas)}`);
            }
            // That reasoning holds under server-side apply, which the system stage's provider uses.
            const provider = full.resources.find((r) => r.type === "pulumi:providers:kubernetes")!;
            assert.strictEqual(String(provider.inputs.enableServerSideApply), "true");
            // Every Deployment either has an HPA or is a singleton with replicas 1.
            for (const d of byType(full, kinds.deployment)) {
                const name = (d.inputs.metadata as any).name;
                assert.ok(owned.includes(name) !== ("replicas" in spec(d)), `${name}: exactly one of HPA and replicas`);
            }
        });

        it("labels every object and pod app=<name>, and selects pods by it", () => {
            for (const name of SERVICES) {
                for (const kind of [kinds.deployment, kinds.service, kinds.pdb]) {
                    assert.strictEqual((object(full, kind, name).inputs.metadata as any).labels.app, name, `${kind} ${name}`);
                }
                const d = object(full, kinds.deployment, name);
                assert.strictEqual(spec(d).template.metadata.labels.app, name);
                assert.deepStrictEqual(spec(d).selector, { matchLabels: { app: name } });
                assert.deepStrictEqual(spec(object(full, kinds.service, name)).selector, { app: name });
                assert.deepStrictEqual(spec(object(full, kinds.pdb, name)).selector, { matchLabels: { app: name } });
            }
        });

        it("gives every service a PDB with maxUnavailable 1 (a one-replica service stays drainable)", () => {
            // The core namespace's PDBs (the system stage's database PDBs live in aura-system).
            const corePdbs = byType(full, kinds.pdb).filter((p) => (p.inputs.metadata as any).namespace === "aura-dev");
            assert.deepStrictEqual(corePdbs.map((p) => (p.inputs.metadata as any).name).sort(), [...SERVICES].sort());
            for (const p of corePdbs) {
                assert.strictEqual(spec(p).maxUnavailable, 1);
                assert.strictEqual(spec(p).unhealthyPodEvictionPolicy, "AlwaysAllow");
            }
        });

        it("shows the jobs, each after the services it provisions", () => {
            const jobs = coreJobs(full);
            assert.deepStrictEqual(jobs.map((j) => j.name).sort(), ["aura-dev-aura-bot-makeup", "aura-dev-nlp-provisioning"]);
            const deploymentUrn = (name: string) => object(full, kinds.deployment, name).urn;
            const makeup = one(full, kinds.job, "aura-dev-aura-bot-makeup");
            assert.ok(makeup.options.dependsOn?.includes(deploymentUrn("aura-bot")), "aura-bot-makeup waits for aura-bot");
            assert.ok(!makeup.options.dependsOn?.includes(deploymentUrn("web-sdk")), "and only for it");
            const nlp = one(full, kinds.job, "aura-dev-nlp-provisioning");
            for (const name of SERVICES) assert.ok(nlp.options.dependsOn?.includes(deploymentUrn(name)), `nlp-provisioning (no after:) waits for ${name}`);
        });
    });

    describe("databases", () => {
        it("starts a workload that connects to a database once the database is ready (the operator's own readiness) and its Secret exists", () => {
            const cr = (kind: string) => full.resources.find((r) => r.type === `kubernetes:${kind}`)!;
            const postgresql = cr("postgresql.cnpg.io/v1:Cluster");
            const mongodb = cr("mongodbcommunity.mongodb.com/v1:MongoDBCommunity");
            // pulumi.com/waitFor is how the provider waits for a custom resource at all (condition and phase as the operators report them).
            assert.deepStrictEqual((postgresql.inputs.metadata as any).annotations, { "pulumi.com/waitFor": "condition=Ready" });
            assert.deepStrictEqual((mongodb.inputs.metadata as any).annotations, { "pulumi.com/waitFor": "jsonpath={.status.phase}=Running" });
            for (const db of [postgresql, mongodb]) assert.deepStrictEqual(db.options.customTimeouts, { create: "30m", update: "30m" });
            const secret = (name: string) => full.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && (r.inputs.metadata as any).name === name && (r.inputs.metadata as any).namespace === "aura-dev")!;
            const waitsFor = (r: PlannedResource) => ({
                postgresql: [postgresql.urn, secret("aura-postgresql").urn].filter((u) => r.options.dependsOn?.includes(u)).length,
                mongodb: [mongodb.urn, secret("aura-mongodb").urn].filter((u) => r.options.dependsOn?.includes(u)).length,
            });
            assert.deepStrictEqual(waitsFor(object(full, kinds.deployment, "aura-bot")), { postgresql: 0, mongodb: 2 });
            assert.deepStrictEqual(waitsFor(object(full, kinds.deployment, "api-gw")), { postgresql: 2, mongodb: 2 });
            assert.deepStrictEqual(waitsFor(object(full, kinds.deployment, "web-sdk")), { postgresql: 0, mongodb: 0 }, "a service without databases does not wait for them");
        });

        it("a job that connects to a database waits for it too", async () => {
            const text = CORE.replace("nlp-provisioning: {}", "nlp-provisioning: { databases: [postgresql] }");
            const p = await plan({ profile: tempFile("core-db-job.yaml", text), stack: "dev", config: { "aura:secrets.bot-token": SECRET }, secretConfigKeys: ["aura:secrets.bot-token"] });
            const cluster = p.resources.find((r) => r.type === "kubernetes:postgresql.cnpg.io/v1:Cluster")!;
            assert.ok(one(p, kinds.job, "aura-dev-nlp-provisioning").options.dependsOn?.includes(cluster.urn));
            assert.ok(!one(p, kinds.job, "aura-dev-aura-bot-makeup").options.dependsOn?.includes(cluster.urn));
        });
    });

    describe("placement, resources, rollout", () => {
        it("registers every core object with the system stage's provider, after its API gate and namespaces", () => {
            const core = full.resources.filter((r) => r.custom && r.urn.includes("aura:core:") && r.type.startsWith("kubernetes:"));
            assert.ok(core.length >= 20);
            const gate = full.resources.find((r) => r.type === "command:local:Command" && r.name.endsWith("-api-gate"))!;
            const ns = full.resources.find((r) => r.type === "kubernetes:core/v1:Namespace" && (r.inputs.metadata as any).name === "aura-dev")!;
            const provider = full.resources.find((r) => r.type === "pulumi:providers:kubernetes")!;
            for (const r of core) {
                assert.ok(r.options.dependsOn?.includes(gate.urn), `${r.type} ${r.name} waits for the API gate`);
                assert.ok(r.options.dependsOn?.includes(ns.urn), `${r.type} ${r.name} waits for its namespace`);
                assert.ok(r.options.provider?.startsWith(provider.urn), `${r.type} ${r.name} uses the system stage's provider`);
                assert.strictEqual((r.inputs.metadata as any).namespace, "aura-dev");
            }
        });

        it("puts every pod on the common pool, spread over zones and nodes, with RollingUpdate maxUnavailable 0", () => {
            for (const d of byType(full, kinds.deployment)) {
                const pod = spec(d).template.spec;
                assert.deepStrictEqual(pod.nodeSelector, { agentpool: "common" });
                assert.deepStrictEqual(pod.topologySpreadConstraints.map((c: any) => c.topologyKey), ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]);
                for (const c of pod.topologySpreadConstraints) assert.deepStrictEqual(c.labelSelector, spec(d).selector);
                // Every service but the singleton (insights-loader: Recreate, its own test) rolls without losing capacity.
                const singleton = (d.inputs.metadata as any).name === "insights-loader";
                assert.deepStrictEqual(spec(d).strategy, singleton ? { type: "Recreate" } : { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: "25%" } }, d.name);
            }
            for (const j of coreJobs(full)) assert.deepStrictEqual(spec(j).template.spec.nodeSelector, { agentpool: "common" });
        });

        it("meets Pod Security restricted where it can without knowing the image's user: seccomp, no privilege escalation, no API token", () => {
            for (const r of [...byType(full, kinds.deployment), ...coreJobs(full)]) {
                const pod = spec(r).template.spec;
                assert.deepStrictEqual(pod.securityContext, { seccompProfile: { type: "RuntimeDefault" } }, r.name);
                assert.strictEqual(pod.automountServiceAccountToken, false, r.name);
                assert.strictEqual(container(r).securityContext.allowPrivilegeEscalation, false, r.name);
            }
        });

        it("uses the seed's requests and limits, nginx's own, and gives every container a CPU request", () => {
            assert.deepStrictEqual(container(object(full, kinds.deployment, "aura-bot")).resources, {
                requests: { cpu: "100m", memory: "256Mi" },
                limits: { cpu: "1", memory: "512Mi" },
            });
            assert.deepStrictEqual(container(object(full, kinds.deployment, "nginx")).resources, {
                requests: { cpu: "600m", memory: "768Mi" },
                limits: { cpu: "2", memory: "1Gi" },
            });
            for (const r of [...byType(full, kinds.deployment), ...coreJobs(full)]) {
                assert.ok(container(r).resources.requests.cpu, `${r.name}: CPU request (the HPA's denominator)`);
            }
        });

        it("waits up to 20 minutes per Deployment (cold cluster), and the waiting resource names the service", () => {
            for (const name of SERVICES) {
                const d = object(full, kinds.deployment, name);
                assert.deepStrictEqual(d.options.customTimeouts, { create: "20m", update: "20m" });
                assert.ok(d.name.endsWith(`-${name}`), `${d.name} names ${name}`);
            }
        });

        it("adds a readiness probe where the profile gives one", () => {
            assert.deepStrictEqual(container(object(full, kinds.deployment, "aura-bot")).readinessProbe, {
                httpGet: { path: "/healthz", port: "http" },
                initialDelaySeconds: 5,
                periodSeconds: 10,
            });
            assert.strictEqual(container(object(full, kinds.deployment, "web-sdk")).readinessProbe, undefined);
        });

        it("declares the metrics port the system stage's PodMonitor scrapes, where the profile gives one", () => {
            const ports = container(object(full, kinds.deployment, "aura-bot")).ports;
            assert.deepStrictEqual(ports.find((p: { name: string }) => p.name === METRICS_PORT_NAME), { name: "metrics", containerPort: 9090, protocol: "TCP" });
            assert.deepStrictEqual(container(object(full, kinds.deployment, "web-sdk")).ports.map((p: { name: string }) => p.name), ["http"]);
            assert.throws(
                () => parseProfile(CORE.replace("metrics_port: 9090", "metrics_port: 8080"), { file: "core.yaml", stack: "dev" }),
                (e: unknown) => e instanceof ProfileError && /core\.services\.aura-bot\.metrics_port: must differ from port \(8080\)/.test(e.message),
            );
        });

        it("exposes nginx through a LoadBalancer Service and publishes its address; the rest stay ClusterIP", () => {
            for (const s of byType(full, kinds.service)) {
                const name = (s.inputs.metadata as any).name;
                assert.strictEqual(spec(s).type, name === "nginx" ? "LoadBalancer" : "ClusterIP", name);
                assert.deepStrictEqual(spec(s).ports, [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }]);
            }
            assert.strictEqual(full.outputs.publicAddress, "203.0.113.20");
        });
    });

    describe("images and release", () => {
        it("defaults images to <registry>/<name>:<version> of the release, and uses the profile's image", () => {
            assert.strictEqual(container(object(full, kinds.deployment, "aura-bot")).image, `${DEFAULT_RELEASE.registry}/aura-bot:${DEFAULT_RELEASE.version}`);
            assert.strictEqual(container(object(full, kinds.deployment, "api-gw")).image, "registry.example.com/api-gw:1.2.3");
            assert.strictEqual(container(one(full, kinds.job, "aura-dev-nlp-provisioning")).image, `${DEFAULT_RELEASE.registry}/nlp-provisioning:${DEFAULT_RELEASE.version}`);
            assert.deepStrictEqual(full.outputs.release, DEFAULT_RELEASE);
        });

        it("gives a profile without release the installer's release, and a pinned one its own", () => {
            const bare = parseProfile(SEED, { file: "seed.yaml", stack: "dev" });
            assert.deepStrictEqual(bare.release, DEFAULT_RELEASE);
            assert.strictEqual(bare.releaseSource, "installer default");
            const pinned = parseProfile(`${SEED}release: { version: "2027.1.0", registry: "example.azurecr.io" }\n`, { file: "p.yaml", stack: "dev" });
            assert.deepStrictEqual(pinned.release, { version: "2027.1.0", registry: "example.azurecr.io" });
            assert.strictEqual(pinned.releaseSource, "profile");
        });

        it("aura validate prints the release", () => {
            const out = spawnSync("node", [path.join(ROOT, "bin", "aura.js"), "validate", SEED_PROFILE, "--stack", "dev"], { cwd: ROOT, encoding: "utf8" });
            assert.strictEqual(out.status, 0, out.stderr);
            assert.match(out.stdout, new RegExp(`release ${DEFAULT_RELEASE.version.replace(/\./g, "\\.")} from ${DEFAULT_RELEASE.registry.replace(/\./g, "\\.")} \\(the installer's default\\)`));
        });

        it("refuses an image tagged latest or untagged, and a release called latest, with clear messages", () => {
            const bad = `${SEED}core:\n  services:\n    a: { image: "example.io/a" }\n    b: { image: "example.io:5000/team/b:latest" }\n  jobs:\n    j: { image: "j" }\nrelease: { version: latest, registry: example.io }\n`;
            assert.throws(() => parseProfile(bad, { file: "bad.yaml", stack: "dev" }), (e: ProfileError) => {
                assert.match(e.message, /core\.services\.a\.image: has no tag, so it would run whatever :latest is at pull time .* — got "example\.io\/a"/);
                assert.match(e.message, /core\.services\.b\.image: uses the tag latest, which moves between pulls .* — got "example\.io:5000\/team\/b:latest"/);
                assert.match(e.message, /core\.jobs\.j\.image: has no tag/);
                assert.match(e.message, /release\.version: must be a fixed release: the tag latest moves between pulls — got "latest"/);
                return true;
            });
            assert.strictEqual(imageProblem("example.io:5000/b:1.0"), undefined, "a registry port is not a tag problem");
            assert.strictEqual(imageProblem(`example.io/b@sha256:${"a".repeat(64)}`), undefined, "a digest pins");
        });
    });

    describe("configuration and stack secrets", () => {
        it("puts env in a ConfigMap, secret_env in a Secret and database credentials in prefixed envFrom", () => {
            const cm = object(full, kinds.configMap, "aura-bot-env");
            assert.deepStrictEqual(cm.inputs.data, { LOG_LEVEL: "info" });
            const secret = object(full, kinds.secret, "aura-bot-secret-env");
            assert.strictEqual(secret.inputs.stringData, "[secret]");
            assert.deepStrictEqual(container(object(full, kinds.deployment, "aura-bot")).envFrom, [
                { configMapRef: { name: "aura-bot-env" } },
                { secretRef: { name: "aura-bot-secret-env" } },
                { secretRef: { name: "aura-mongodb" }, prefix: "MONGODB_" },
            ]);
            assert.deepStrictEqual(container(object(full, kinds.deployment, "api-gw")).envFrom, [
                { secretRef: { name: "aura-postgresql" }, prefix: "POSTGRESQL_" },
                { secretRef: { name: "aura-mongodb" }, prefix: "MONGODB_" },
            ]);
            assert.strictEqual(container(object(full, kinds.deployment, "web-sdk")).envFrom, undefined);
        });

        it("never shows a stack secret in plain text in the plan", () => {
            const json = JSON.stringify(full);
            for (const form of [SECRET, Buffer.from(SECRET).toString("base64"), JSON.stringify(SECRET).slice(1, -1)]) {
                assert.ok(!json.includes(form), `the stack secret appears in the plan as ${form}`);
            }
            // The run did read it: the Secret carries it (shown only with --show-secrets).
            assert.strictEqual(object(full, kinds.secret, "aura-bot-secret-env").inputs.stringData, "[secret]");
        });

        it("rolls the pods when env or a secret value changes (checksum annotations), and the checksum reveals nothing", async () => {
            const annotations = (p: Plan) => spec(object(p, kinds.deployment, "aura-bot")).template.metadata.annotations;
            const base = await planCore(CORE, { "bot-token": SECRET });
            const rotated = await planCore(CORE, { "bot-token": `${SECRET}-rotated` });
            const reconfigured = await planCore(CORE.replace("LOG_LEVEL: info", "LOG_LEVEL: debug"), { "bot-token": SECRET });
            const again = await planCore(CORE, { "bot-token": SECRET });
            assert.match(annotations(base)["checksum/config"], /^[0-9a-f]{64}$/);
            assert.match(annotations(base)["checksum/secret"], /^[0-9a-f]{64}$/);
            assert.deepStrictEqual(annotations(again), annotations(base), "same inputs, same annotations: no rollout");
            assert.notStrictEqual(annotations(rotated)["checksum/secret"], annotations(base)["checksum/secret"]);
            assert.strictEqual(annotations(rotated)["checksum/config"], annotations(base)["checksum/config"]);
            assert.notStrictEqual(annotations(reconfigured)["checksum/config"], annotations(base)["checksum/config"]);
            // A new password of a database the service reads (aura-bot: mongodb) rolls it too; a
            // service that reads no database has no such annotation.
            const newPassword = await planCore(CORE, { "bot-token": SECRET }, false, "mongodb-password-2");
            assert.match(annotations(base)["checksum/databases"], /^[0-9a-f]{64}$/);
            assert.notStrictEqual(annotations(newPassword)["checksum/databases"], annotations(base)["checksum/databases"]);
            assert.strictEqual(annotations(newPassword)["checksum/secret"], annotations(base)["checksum/secret"]);
            assert.strictEqual(spec(object(base, kinds.deployment, "web-sdk")).template.metadata.annotations?.["checksum/databases"], undefined);
            // An HMAC under the stage's secret key (a random value kept in state), not a bare hash
            // someone could test guesses against.
            const key = byType(base, "random:index/randomPassword:RandomPassword").find((r) => r.name === "aura-dev-checksum-key")!;
            const keyValue = (createMocks().newResource({ type: key.type, name: key.name, inputs: key.inputs, custom: true } as pulumi.runtime.MockResourceArgs) as unknown as { state: { result: string } }).state.result;
            const hmac = (k: string) => crypto.createHmac("sha256", k).update(JSON.stringify([["BOT_TOKEN", "bot-token", SECRET]])).digest("hex");
            assert.strictEqual(annotations(base)["checksum/secret"], hmac(keyValue));
            assert.notStrictEqual(annotations(base)["checksum/secret"], crypto.createHash("sha256").update(JSON.stringify([["BOT_TOKEN", "bot-token", SECRET]])).digest("hex"));
            assert.ok(!JSON.stringify(base).includes(crypto.createHash("sha256").update(SECRET).digest("hex")));
        });

        it("refuses a missing stack secret naming the service, the variable and the exact command", async () => {
            await assert.rejects(plan({ profile: file, stack: "dev" }), (e: Error) => {
                assert.match(
                    e.message,
                    /core\.services\.aura-bot\.secret_env\.BOT_TOKEN: stack secret aura:secrets\.bot-token is not set \(variable BOT_TOKEN of service aura-bot\) — set it with: pulumi config set --secret aura:secrets\.bot-token <value> -s dev/,
                );
                return true;
            });
        });

        it("reports a missing stack secret from aura plan with exit 1 and no stack trace", function () {
            this.timeout(120_000);
            const out = spawnSync("node", [path.join(ROOT, "bin", "aura.js"), "plan", file, "--stack", "dev"], { cwd: ROOT, encoding: "utf8" });
            assert.strictEqual(out.status, 1, out.stderr);
            assert.match(out.stderr, /pulumi config set --secret aura:secrets\.bot-token <value> -s dev/);
            assert.doesNotMatch(out.stderr, /\n\s+at .+:\d+:\d+/);
        });

        it("refuses a stack secret stored in plain text in the stack file, without echoing it", async () => {
            await assert.rejects(plan({ profile: file, stack: "dev", config: { "aura:secrets.bot-token": SECRET } }), (e: Error) => {
                assert.match(
                    e.message,
                    /^Pulumi\.dev\.yaml: aura:secrets\.bot-token is stored in plain text \(read by core\.services\.aura-bot\.secret_env\.BOT_TOKEN, core\.jobs\.aura-bot-makeup\.secret_env\.BOT_TOKEN\) — store it encrypted: pulumi config set --secret aura:secrets\.bot-token <value> -s dev$/,
                );
                assert.ok(!e.message.includes(SECRET));
                return true;
            });
        });

        it("an offline plan (aura plan, aura diff) stands a secret placeholder in for a stack secret it cannot decrypt", async () => {
            const stackFile = tempFile("Pulumi.qa.yaml", "config:\n  aura:profile: profiles/dev.yaml\n  aura:secrets.bot-token:\n    secure: v1:AAAAAAAAAAAAAAAA:BBBBBBBB\n");
            const offline = offlineConfig("qa", undefined, path.dirname(stackFile));
            assert.strictEqual(offline.config["aura:secrets.bot-token"], PLACEHOLDER_STACK_SECRET);
            assert.deepStrictEqual(offline.secretConfigKeys, ["aura:secrets.bot-token"]);
            assert.deepStrictEqual(offline.placeholders, ["aura:secrets.bot-token (a secret)", "aura:sshPublicKey"]);
            const planned = await plan({ profile: file, stack: "qa", config: offline.config, secretConfigKeys: offline.secretConfigKeys });
            assert.strictEqual(object(planned, kinds.secret, "aura-bot-secret-env").inputs.stringData, "[secret]");
        });
    });

    describe("provisioning jobs", () => {
        it("name each Job <job>-<hash of its inputs>, wait up to 30 minutes, and re-run a failed one on the next up", () => {
            for (const j of coreJobs(full)) {
                const meta = j.inputs.metadata as any;
                assert.match(meta.name, /^(aura-bot-makeup|nlp-provisioning)-[0-9a-f]{8}$/);
                assert.strictEqual(meta.annotations["pulumi.com/replaceUnready"], "true");
                assert.strictEqual(spec(j).template.spec.restartPolicy, "Never");
                assert.strictEqual(spec(j).backoffLimit, 3);
                assert.ok(!("ttlSecondsAfterFinished" in spec(j)), "a Job the cluster deletes would run again after a refresh");
                assert.deepStrictEqual(j.options.customTimeouts, { create: "30m", update: "30m" });
            }
        });

        it("keep the Job name (no re-run) for the same inputs, and change it when the image, env or a secret changes", async () => {
            const names = async (text: string, secret = SECRET) => {
                const p = await planCore(text, { "bot-token": secret });
                return Object.fromEntries(coreJobs(p).map((j) => [j.name, (j.inputs.metadata as any).name as string]));
            };
            const base = await names(CORE);
            assert.deepStrictEqual(await names(CORE), base);
            const image = await names(CORE.replace("nlp-provisioning: {}", 'nlp-provisioning: { image: "example.io/nlp-provisioning:2" }'));
            assert.notStrictEqual(image["aura-dev-nlp-provisioning"], base["aura-dev-nlp-provisioning"]);
            assert.strictEqual(image["aura-dev-aura-bot-makeup"], base["aura-dev-aura-bot-makeup"]);
            const env = await names(CORE.replace("nlp-provisioning: {}", "nlp-provisioning: { env: { MODE: full } }"));
            assert.notStrictEqual(env["aura-dev-nlp-provisioning"], base["aura-dev-nlp-provisioning"]);
            const rotated = await names(CORE, `${SECRET}-2`);
            assert.notStrictEqual(rotated["aura-dev-aura-bot-makeup"], base["aura-dev-aura-bot-makeup"]);
            const release = await names(`${CORE}release: { version: "2027.1.0", registry: "auraplatform.azurecr.io" }\n`);
            assert.notStrictEqual(release["aura-dev-aura-bot-makeup"], base["aura-dev-aura-bot-makeup"], "a new release re-runs the jobs");
        });

        it("refuses a job named like a service (its pods would carry the service's label and share its config)", () => {
            const bad = `${SEED}core:\n  services:\n    nginx: {}\n    nlp: { custom: true }\n  jobs:\n    nlp: { custom: true, after: [nlp] }\n`;
            assert.throws(() => parseProfile(bad, { file: "bad.yaml", stack: "dev" }), /core\.jobs\.nlp: has the name of a core service: its pods would carry the service's label app=nlp .*give the job another name \(e\.g\. nlp-setup\)/);
            // The same job under another name is accepted.
            assert.doesNotThrow(() => parseProfile(bad.replace("    nlp: { custom: true, after", "    nlp-setup: { custom: true, after"), { file: "ok.yaml", stack: "dev" }));
        });

        it("refuses after: naming a service the profile does not deploy", () => {
            const bad = `${SEED}core:\n  services:\n    aura-bot: {}\n  jobs:\n    aura-bot-makeup: { after: [aura-bots] }\n`;
            assert.throws(() => parseProfile(bad, { file: "bad.yaml", stack: "dev" }), /core\.jobs\.aura-bot-makeup\.after\[0\]: names no core service \(known: aura-bot\) — got "aura-bots"/);
        });
    });

    describe("Kubernetes OpenAPI schema (kubernetes-models)", () => {
        it("validates every object the core stage builds", async () => {
            const shown = await planCore(CORE, { "bot-token": SECRET }, true);
            const objects = k8sObjects(shown);
            const types = new Set(objects.map((r) => r.type));
            for (const kind of Object.values(kinds)) assert.ok(types.has(kind), `the plan has a ${kind}`);
            for (const r of objects) await validateK8s(r);
            // The default profile's objects too.
            const defaults = await planCore(SEED, {}, true);
            assert.ok(k8sObjects(defaults).length >= 30);
            for (const r of k8sObjects(defaults)) await validateK8s(r);
        });

        it("no object of the dev or prod plan has a field its kind does not declare (a misspelt key the API server would drop), or anything its validation refuses", async function () {
            this.timeout(120_000);
            for (const [profile, stack] of [[path.join(ROOT, "profiles", "dev.yaml"), "dev"], [path.join(ROOT, "profiles", "prod.yaml"), "prod"]]) {
                const objects = k8sObjects(await plan({ profile, stack, showSecrets: true }));
                assert.ok(objects.length > 40, `${stack}: ${objects.length} objects`);
                assert.deepStrictEqual(unknownFields(objects), [], stack);
                assert.deepStrictEqual(apiServerProblems(objects), [], stack);
            }
        });

        it("the API server's own rules are checked too (the check can fail)", () => {
            const d = object(full, kinds.deployment, "web-sdk");
            const template = spec(d).template;
            const broken = {
                ...d,
                inputs: {
                    ...d.inputs,
                    metadata: { ...(d.inputs.metadata as object), name: "Web_SDK", labels: { app: "web sdk" } },
                    spec: { ...spec(d), template: { ...template, spec: { ...template.spec, containers: [{ ...template.spec.containers[0], name: "App", ports: [{ containerPort: 70000, name: "http-metrics-port" }] }] } } },
                },
            };
            const pdb = object(full, kinds.pdb, "web-sdk");
            const both = { ...pdb, inputs: { ...pdb.inputs, spec: { ...spec(pdb), minAvailable: 1, maxUnavailable: 1 } } };
            const problems = apiServerProblems([broken, both]).map((p) => p.replace(/^\S+ \S+: /, ""));
            assert.deepStrictEqual(problems, [
                "metadata.name Web_SDK is no DNS-1123 subdomain",
                "metadata.labels.app value web sdk is no label value",
                "container name App is no DNS-1123 label",
                "containerPort 70000 is out of range",
                "port name http-metrics-port is no IANA service name",
                "a disruption budget sets exactly one of minAvailable and maxUnavailable",
            ]);
        });

        it("the unknown-field check finds a misspelt key at any depth (the check can fail)", () => {
            const d = object(full, kinds.deployment, "web-sdk");
            const template = spec(d).template;
            const container = { ...template.spec.containers[0], imagePullPolicyy: "Always" };
            const misspelt = { ...d, inputs: { ...d.inputs, spec: { ...spec(d), template: { ...template, spec: { ...template.spec, containers: [container] } } } } };
            const problems = unknownFields([d, misspelt]);
            assert.strictEqual(problems.length, 1, problems.join("\n"));
            assert.match(problems[0], /^kubernetes:apps\/v1:Deployment .*web-sdk.*'"imagePullPolicyy"' does not exist in type 'IContainer'/);
        });

        it("the validator rejects a wrong object (the check can fail)", async () => {
            const d = object(full, kinds.deployment, "web-sdk");
            const broken = { ...d, inputs: { ...d.inputs, spec: { ...spec(d), replicas: "three" } } };
            await assert.rejects(validateK8s(broken), /Deployment .*web-sdk.* does not validate: .*replicas/);
        });
    });
});
