// The deployment profile: the seed's block verbatim, defaults, and every rule's message through
// `aura validate` (exit code, key path, no stack trace).
import * as assert from "assert";
import * as fs from "fs";
import * as yaml from "js-yaml";
import { DEFAULT_RELEASE, DEFAULT_SERVICES, ProfileError, loadProfile, parseProfile } from "../profiles";
import { SEED_PROFILE, aura, tempFile } from "./helpers";

const SEED = fs.readFileSync(SEED_PROFILE, "utf8");

/** The seed profile with `patch` merged in (null deletes a key). */
function seedWith(patch: Record<string, unknown>): string {
    const doc = yaml.load(SEED) as Record<string, unknown>;
    const merge = (target: Record<string, unknown>, src: Record<string, unknown>) => {
        for (const [k, v] of Object.entries(src)) {
            if (v === null) delete target[k];
            else if (typeof v === "object" && !Array.isArray(v) && typeof target[k] === "object" && target[k] !== null) {
                merge(target[k] as Record<string, unknown>, v as Record<string, unknown>);
            } else target[k] = v;
        }
    };
    merge(doc, patch);
    return yaml.dump(doc);
}

describe("deployment profile", () => {
    it("accepts the seed's infrastructure block verbatim and applies the defaults", () => {
        const p = loadProfile(SEED_PROFILE, { stack: "dev" });
        assert.strictEqual(p.environment, "dev");
        assert.strictEqual(p.tier, "preproduction");
        assert.deepStrictEqual(p.namespaces, { core: "aura-dev", system: "aura-system" });
        assert.deepStrictEqual(p.infrastructure.zones, ["1", "2", "3"]);
        assert.deepStrictEqual(
            p.pools.map((x) => [x.name, x.minSize, x.maxSize, x.vmSize]),
            [
                ["common", 2, 8, "Standard_DS2_v2"],
                ["database", 3, 6, "Standard_DS2_v2"],
                ["management", 3, 6, "Standard_DS3_v2"],
            ],
        );
        assert.strictEqual(p.system.prometheus.replicas, 2);
        assert.strictEqual(p.system.kube_state_metrics.replicas, 1);
        assert.strictEqual(p.system.mongodb.replicas, 3);
        assert.deepStrictEqual(p.core.hpa, { cpu_target_percent: 80, max_factor: 3 });
        assert.deepStrictEqual(
            Object.fromEntries(Object.entries(p.core.services).map(([n, s]) => [n, s.service_replicas])),
            DEFAULT_SERVICES,
        );
        assert.deepStrictEqual(Object.keys(p.core.jobs), ["aura-bot-makeup", "nlp-provisioning"]);
        // Issue #8: a profile without release: runs the installer's release (profiles/release.ts).
        assert.deepStrictEqual(p.release, DEFAULT_RELEASE);
        assert.strictEqual(p.releaseSource, "installer default");
    });

    it("treats any <name>_nodes key as an agent pool", () => {
        const p = parseProfile(seedWith({ infrastructure: { compute: { gpu_nodes: { min_size: 0, max_size: 2, type: "Standard_NC6s_v3" } } } }), {
            file: "x.yaml",
            stack: "dev",
        });
        assert.deepStrictEqual(p.pools.find((x) => x.name === "gpu"), { name: "gpu", minSize: 0, maxSize: 2, vmSize: "Standard_NC6s_v3" });
    });

    it("takes the environment from the profile over the stack name", () => {
        const p = parseProfile(seedWith({ environment: "es-test" }), { file: "x.yaml", stack: "dev" });
        assert.strictEqual(p.namespaces.core, "aura-es-test");
    });

    it("validates the committed dev and prod profiles", async () => {
        for (const [file, masters] of [["profiles/dev.yaml", 3], ["profiles/prod.yaml", 5]] as const) {
            const r = await aura("validate", file);
            assert.strictEqual(r.code, 0, r.stderr);
            assert.match(r.stdout, new RegExp(`^${file}: valid — .*${masters} masters`));
        }
    });

    it("lists every problem at once", () => {
        const text = seedWith({
            tier: "production",
            infrastructure: { compute: { masters: { size: 4 }, common_nodes: { min_size: 9 } } },
            system: { prometheus: { replicas: 1 } },
        });
        assert.throws(
            () => parseProfile(text, { file: "p.yaml", stack: "dev" }),
            (e: unknown) => {
                assert.ok(e instanceof ProfileError);
                const paths = e.problems.map((line) => line.split(":")[0]);
                for (const expected of [
                    "infrastructure.compute.masters.size",
                    "infrastructure.compute.common_nodes.min_size",
                    "system.prometheus.replicas",
                    "release",
                ]) {
                    assert.ok(paths.includes(expected), `${expected} missing from:\n${e.message}`);
                }
                return true;
            },
        );
    });

    // Each bad profile: what it is, its text, the key path the message must name, and a word of the reason.
    const BAD: Array<[string, string, string, RegExp]> = [
        ["an empty file", "", "", /empty/],
        ["invalid YAML", "infrastructure:\n  region: [westeurope\n", "line 3", /YAML syntax error/],
        ["a list at the top", "- a\n- b\n", "(top level)", /mapping/],
        ["a typo in a top-level key", seedWith({ infrastucture: { region: "x" } }), "infrastucture", /did you mean infrastructure/],
        ["a typo in a pool key", seedWith({ infrastructure: { compute: { common_nodes: { max_sise: 3 } } } }), "infrastructure.compute.common_nodes.max_sise", /unknown key/],
        ["a compute key that is no pool", seedWith({ infrastructure: { compute: { workers: { min_size: 1, max_size: 2, type: "Standard_D2s_v5" } } } }), "infrastructure.compute.workers", /<name>_nodes/],
        ["an even master count", seedWith({ infrastructure: { compute: { masters: { size: 4 } } } }), "infrastructure.compute.masters.size", /odd/],
        ["a single master", seedWith({ infrastructure: { compute: { masters: { size: 1 } } } }), "infrastructure.compute.masters.size", /at least 3/],
        ["3 masters in production", seedWith({ tier: "production", release: { version: "1.0.0", registry: "r.io" } }), "infrastructure.compute.masters.size", /at least 5 when tier is production/],
        ["production without a release", seedWith({ tier: "production", infrastructure: { compute: { masters: { size: 5 } } } }), "release", /required when tier is production/],
        ["min_size above max_size", seedWith({ infrastructure: { compute: { common_nodes: { min_size: 9 } } } }), "infrastructure.compute.common_nodes.min_size", /must not exceed max_size \(8\)/],
        ["a negative min_size", seedWith({ infrastructure: { compute: { management_nodes: { min_size: -1 } } } }), "infrastructure.compute.management_nodes.min_size", /0 or more/],
        ["a database pool under 3", seedWith({ infrastructure: { compute: { database_nodes: { min_size: 2 } } } }), "infrastructure.compute.database_nodes.min_size", /PostgreSQL/],
        ["a missing required pool", seedWith({ infrastructure: { compute: { management_nodes: null } } }), "infrastructure.compute.management_nodes", /required/],
        ["a size that is a string", seedWith({ infrastructure: { compute: { masters: { size: "three" } } } }), "infrastructure.compute.masters.size", /whole number/],
        ["a VM size that is no Azure size", seedWith({ infrastructure: { compute: { masters: { type: "DS2_v2" } } } }), "infrastructure.compute.masters.type", /Azure VM size/],
        ["a missing region", seedWith({ infrastructure: { region: null } }), "infrastructure.region", /required/],
        ["two insights-loaders", seedWith({ core: { services: { "insights-loader": { service_replicas: 2 } } } }), "core.services.insights-loader.service_replicas", /exactly 1/],
        ["two kube-state-metrics", seedWith({ system: { kube_state_metrics: { replicas: 2 } } }), "system.kube_state_metrics.replicas", /exactly 1/],
        ["a single prometheus", seedWith({ system: { prometheus: { replicas: 1 } } }), "system.prometheus.replicas", /at least 2/],
        ["a service name that is no DNS label", seedWith({ core: { services: { Api_GW: { service_replicas: 2 } } } }), "core.services.Api_GW", /DNS label/],
        ["zero service replicas", seedWith({ core: { services: { nlp: { service_replicas: 0 } } } }), "core.services.nlp.service_replicas", /at least 1/],
        ["an unknown tier", seedWith({ tier: "staging" }), "tier", /preproduction or production/],
        ["an unknown zone", seedWith({ infrastructure: { zones: ["1", "4"] } }), "infrastructure.zones[1]", /availability zone/],
        ["a subnet outside the VNet", seedWith({ infrastructure: { network: { agents_subnet: "10.1.0.0/20" } } }), "infrastructure.network.agents_subnet", /inside vnet_cidr/],
        ["an unknown user role", seedWith({ access: { users: [{ name: "ann", role: "root" }] } }), "access.users[0].role", /view, edit or admin/],
        ["a Kubernetes version too old", seedWith({ kubernetes: { version: "1.13.4" } }), "kubernetes.version", /1\.31\.0 or newer/],
    ];

    for (const [what, text, keyPath, reason] of BAD) {
        it(`refuses ${what}: exit 1, names ${keyPath || "the problem"}, no stack trace`, async () => {
            const file = tempFile("profile.yaml", text);
            const r = await aura("validate", file);
            assert.strictEqual(r.code, 1, `expected exit 1, got ${r.code}; stdout: ${r.stdout}`);
            assert.strictEqual(r.stdout, "");
            assert.ok(r.stderr.startsWith(file), `message must name the file:\n${r.stderr}`);
            assert.ok(r.stderr.includes(keyPath), `message must name ${keyPath}:\n${r.stderr}`);
            assert.match(r.stderr, reason);
            assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, "no stack trace");
        });
    }

    it("names a file that does not exist", async () => {
        const r = await aura("validate", "profiles/nope.yaml");
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /profiles\/nope\.yaml: cannot read the profile: no such file/);
    });

    it("answers usage errors with exit 2", async () => {
        for (const args of [[], ["validate"], ["frobnicate"], ["plan", "a.yaml", "--stack"], ["plan", "a.yaml", "--colour"]]) {
            const r = await aura(...args);
            assert.strictEqual(r.code, 2, `aura ${args.join(" ")}`);
            assert.match(r.stderr, /Usage:/);
        }
    });
});

describe("profile JSON Schema", () => {
    it("is committed as generated, and every profile points editors at it", async () => {
        const { profileJsonSchema } = await import("../cli/main");
        const committed = JSON.parse(fs.readFileSync("profiles/profile.schema.json", "utf8"));
        assert.deepStrictEqual(committed, JSON.parse(JSON.stringify(profileJsonSchema())), "run: npx aura schema > profiles/profile.schema.json");
        assert.ok(JSON.stringify(committed).includes('"masters"'));
        for (const file of fs.readdirSync("profiles").filter((f) => f.endsWith(".yaml"))) {
            const first = fs.readFileSync(`profiles/${file}`, "utf8").split("\n")[0];
            assert.strictEqual(first, "# yaml-language-server: $schema=./profile.schema.json", file);
        }
    });
});
