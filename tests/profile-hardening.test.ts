// Profile hardening (issue #13): typos, impossible values and misleading messages, each refused by
// `aura validate` with exit 1 and a `key.path: reason — got X` line, and the near-misses that are
// meant accepted through `custom: true`.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parseProfile } from "../profiles";
import { AZURE_REGIONS, AZURE_VM_SIZES } from "../profiles/azure";
import { describe as describeValue, keyPath } from "../profiles/messages";
import { imageProblem } from "../profiles/release";
import { parseQuantity, quantityProblem } from "../profiles/values";
import { NEWEST_KUBERNETES, OLDEST_KUBERNETES } from "../profiles/versions";
import { MIN_KUBERNETES_MINOR } from "../components/infra/cloudinit";
import { SEED_PROFILE, plan, tempFile } from "./helpers";
import { SEED, aura, seedWith } from "./profile-helpers";

const pool = (min: number, max: number, extra: Record<string, unknown> = {}) => ({ min_size: min, max_size: max, type: "Standard_D4s_v5", ...extra });
const compute = (c: Record<string, unknown>) => ({ infrastructure: { compute: c } });
const network = (n: Record<string, unknown>) => ({ infrastructure: { network: n } });
const service = (s: Record<string, unknown>) => ({ core: { services: { nginx: { service_replicas: 2 }, ...s } } });
const resources = (requests: Record<string, unknown>, limits: Record<string, unknown>) => service({ nlp: { resources: { requests, limits } } });
const PROD = { tier: "production", infrastructure: { compute: { masters: { size: 5 } } } };

async function refused(text: string, file = tempFile("dev.yaml", text), stack?: string) {
    const r = await aura("validate", file, "--stack", stack ?? "dev");
    assert.strictEqual(r.code, 1, `expected exit 1, got ${r.code}; stdout: ${r.stdout}`);
    assert.strictEqual(r.stdout, "");
    assert.ok(r.stderr.startsWith(`${file}: `), `message must name the file:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, "no stack trace");
    return r.stderr;
}

// [what, profile text, key path the message names, what the message must say]
const BAD: Array<[string, string, string, RegExp]> = [
    // 4. sizes that multiply resources
    ["1001 masters", seedWith(compute({ masters: { size: 1001 } })), "infrastructure.compute.masters.size", /at most 7/],
    ["9 masters", seedWith(compute({ masters: { size: 9 } })), "infrastructure.compute.masters.size", /at most 7/],
    ["a pool larger than its subnet", seedWith({ infrastructure: { zones: [], network: { agents_subnet: "10.240.16.0/28" } } }), "infrastructure.network.agents_subnet", /room for 11 nodes .* add up to 20/],
    ["an agents range too small to split over three zones", seedWith(network({ agents_subnet: "10.240.16.0/28" })), "infrastructure.network.agents_subnet", /too small to split into 3 zonal subnets of at least a \/29 .* give it a \/27 or larger range/],
    // The whole /27 holds the 20 nodes, but each zone gets a /29 (3 nodes) and zone 1 takes 3 + 2 + 2.
    ["a zone's share larger than its subnet", seedWith(network({ agents_subnet: "10.240.16.0/27" })), "infrastructure.network.agents_subnet", /room for 3 nodes in each zone's subnet \(the range is split into one \/29 per zone.*up to 7 nodes in zone 1: widen/],
    ["a zone's share of a big pool", seedWith({ infrastructure: { network: { agents_subnet: "10.240.16.0/24" }, compute: { common_nodes: pool(0, 180) } } }), "infrastructure.network.agents_subnet", /room for 59 nodes in each zone's subnet .* up to 64 nodes in zone 1/],
    ["four of seven masters in one of two zones' /29", seedWith({ tier: "production", infrastructure: { zones: ["2", "3"], network: { masters_subnet: "10.240.0.0/28" }, compute: { masters: { size: 7 } } } }), "infrastructure.network.masters_subnet", /room for 3 addresses in each zone's subnet .* but zone 2's needs 5: 4 of the 7 masters and the API server's internal load balancer/],
    // A /29 keeps 3 addresses: the three masters fit, the internal load balancer's address does not.
    ["three masters and the API address in one /29", seedWith({ infrastructure: { zones: [], network: { masters_subnet: "10.240.0.0/29" } } }), "infrastructure.network.masters_subnet", /room for 3 addresses .* the 3 masters and the API server's internal load balancer need 4/],
    ["masters on an NVMe-only size", SEED.replace(/(masters:\n\s+size: 3\n\s+type: )"Standard_DS2_v2"/, '$1"Standard_D4as_v6"'), "infrastructure.compute.masters.type", /attaches data disks over NVMe only, .* such as Standard_D4as_v5 \(agent pools may use Standard_D4as_v6\)/],
    ["two Elasticsearch nodes", seedWith({ system: { elasticsearch: { replicas: 2 } } }), "system.elasticsearch.replicas", /must be 1, or 3 or more/],
    ["one Alertmanager", seedWith({ system: { alertmanager: { replicas: 1 } } }), "system.alertmanager.replicas", /must be at least 2 \(Alertmanager runs clustered/],
    ["replicas beyond int32", seedWith({ system: { elasticsearch: { replicas: 2 ** 31 } } }), "system.elasticsearch.replicas", /at most 50/],
    ["a thousand service replicas", seedWith(service({ nlp: { service_replicas: 1000 } })), "core.services.nlp.service_replicas", /at most 100/],
    ["a huge backoff_limit", seedWith({ core: { jobs: { "nlp-provisioning": { backoff_limit: 1e9 } } } }), "core.jobs.nlp-provisioning.backoff_limit", /at most 100/],
    ["thirteen pools", seedWith(compute(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`p${i}x_nodes`, pool(0, 1)])))), "infrastructure.compute", /13 agent pools: at most 12/],
    // 5. near-miss names
    ["a pool named like management", seedWith(compute({ managment_nodes: pool(0, 2) })), "infrastructure.compute.managment_nodes", /did you mean management_nodes\?.*custom: true/],
    ["a pool named like common", seedWith(compute({ comon_nodes: pool(0, 2) })), "infrastructure.compute.comon_nodes", /did you mean common_nodes\?/],
    ["a master pool", seedWith(compute({ master_nodes: pool(0, 2) })), "infrastructure.compute.master_nodes", /control plane is the masters: key/],
    ["a master pool marked custom", seedWith(compute({ master_nodes: pool(0, 2, { custom: true }) })), "infrastructure.compute.master_nodes", /no agent pool may be named master/],
    ["a misspelt masters key", seedWith(compute({ mastres: { size: 3, type: "Standard_DS2_v2" } })), "infrastructure.compute.mastres", /did you mean masters\?/],
    ["a service named like nginx", seedWith(service({ ngnix: { service_replicas: 2 } })), "core.services.ngnix", /did you mean nginx\?.*custom: true/],
    ["a service named like nginx, nginx absent", seedWith({ core: { services: { ngnix: { service_replicas: 2 } } } }), "core.services.ngnix", /did you mean nginx\?/],
    ["two new services one edit apart", seedWith(service({ payments: {}, payment: {} })), "core.services.payment", /did you mean payments\?/],
    ["a job named like a default job", seedWith({ core: { jobs: { "nlp-provisionning": {} } } }), "core.jobs.nlp-provisionning", /did you mean nlp-provisioning\?/],
    // 6. __proto__
    ["a top-level __proto__", `${SEED}__proto__: {tier: production}\n`, "__proto__", /not allowed/],
    ["a nested __proto__", `${SEED}core:\n  services:\n    nginx:\n      env: {__proto__: {A: b}}\n`, "core.services.nginx.env.__proto__", /not allowed/],
    ["a __proto__ in a pool", SEED.replace("common_nodes:\n", "common_nodes:\n      __proto__: {}\n"), "infrastructure.compute.common_nodes.__proto__", /not allowed/],
    // 7. namespaces
    // Bounds say the bound, never "must be a whole number" for a whole number, nor zod's own words.
    ["a CPU target above 100%", seedWith({ core: { hpa: { cpu_target_percent: 101 } } }), "core.hpa.cpu_target_percent", /: must be at most 100 — got 101$/m],
    ["a max factor of 0", seedWith({ core: { hpa: { max_factor: 0 } } }), "core.hpa.max_factor", /: must be at least 1 — got 0$/m],
    ["a negative probe delay", seedWith(service({ nlp: { readiness_probe: { path: "/healthz", port: 8080, initial_delay_seconds: -1 } } })), "core.services.nlp.readiness_probe.initial_delay_seconds", /: must be at least 0 — got -1$/m],
    ["an empty image", seedWith(service({ nlp: { image: "" } })), "core.services.nlp.image", /: must not be empty — got ""$/m],
    ["a string where the namespace list belongs (its type said once, not its length)", seedWith({ access: { users: [{ name: "ann", role: "view", namespaces: "aura-dev-long-name" }] } }), "access.users[0].namespaces", /^[^\n]*: access\.users\[0\]\.namespaces: must be a list — got "aura-dev-long-name"\n$/],
    ["a user with an empty namespace list", seedWith({ access: { users: [{ name: "ann", role: "view", namespaces: [] }] } }), "access.users[0].namespaces", /: must list at least one item — got an empty list$/m],
    ["an unquoted release version (YAML reads 2026.10 as 2026.1)", seedWith({}) + "release:\n  version: 2026.10\n  registry: r.example.io\n", "release.version", /: must be a string \(YAML read the unquoted value as a number: put it in quotes\) — got 2026\.1$/m],
    ["a YAML merge key", SEED.replace(/(\n {4}database_nodes:\n)/, "\n    extra: &pool { min_size: 1, max_size: 2, type: Standard_D4s_v5 }$1").replace("    management_nodes:\n", "    management_nodes:\n      <<: *pool\n"), 'infrastructure.compute.management_nodes."<<"', /merge keys are not supported .* write the keys out/],
    ["a VM size in lower case", SEED.replace('type: "Standard_DS3_v2"', "type: standard_ds3_v2"), "infrastructure.compute.management_nodes.type", /did you mean Standard_DS3_v2\?/],
    ["an empty VM size, with no guess", SEED.replace('type: "Standard_DS3_v2"', 'type: ""'), "infrastructure.compute.management_nodes.type", /is not a known Azure VM size \(such as Standard_D4s_v5;/],
    ["core services without nginx, the entry point", seedWith({ core: { services: { nlp: { service_replicas: 2 } } } }), "core.services", /core\.services: must include nginx, the platform's entry point/],
    ["no core services at all", seedWith({ core: { services: {} } }), "core.services", /core\.services: must include nginx/],
    ["edit in aura-system (its Secrets and privileged pods make it cluster admin)", seedWith({ access: { users: [{ name: "ann", role: "edit", namespaces: ["aura-dev", "aura-system"] }] } }), "access.users[0].namespaces[1]", /gives edit in aura-system, which holds the platform's credentials .* a user gets view there/],
    ["a user in a namespace the platform does not create", seedWith({ access: { users: [{ name: "ann", role: "view", namespaces: ["kube-system"] }] } }), "access.users[0].namespaces[0]", /not a namespace the platform creates \(aura-dev or aura-system\) — got "kube-system"/],
    ["a user in another environment's namespace", seedWith({ access: { users: [{ name: "ann", role: "view", namespaces: ["aura-dev", "aura-prod"] }] } }), "access.users[0].namespaces[1]", /not a namespace the platform creates/],
    // 8. network
    ["a CIDR with leading zeros", seedWith(network({ vnet_cidr: "010.240.0.0/16" })), "infrastructure.network.vnet_cidr", /leading zeros/],
    ["a prefix with a leading zero", seedWith(network({ pod_cidr: "10.244.0.0/016" })), "infrastructure.network.pod_cidr", /leading zeros/],
    ["a subnet below Azure's minimum", seedWith(network({ masters_subnet: "10.240.0.0/30" })), "infrastructure.network.masters_subnet", /\/29 or larger/],
    ["a CIDR with host bits", seedWith(network({ vnet_cidr: "10.240.1.0/16" })), "infrastructure.network.vnet_cidr", /network address/],
    ["a pod range too small for the nodes", seedWith(network({ pod_cidr: "10.244.0.0/20" })), "infrastructure.network.pod_cidr", /holds 16 node pod ranges .* 23 nodes/],
    ["a pod range smaller than one node's", seedWith(network({ pod_cidr: "10.244.0.0/25" })), "infrastructure.network.pod_cidr", /\/24 or larger/],
    ["a service range kube-apiserver refuses", seedWith(network({ service_cidr: "100.64.0.0/10" })), "infrastructure.network.service_cidr", /between \/12 and \/28/],
    // 9. region, VM size, Kubernetes version
    ["a misspelt region", seedWith({ infrastructure: { region: "westeruope" } }), "infrastructure.region", /not an Azure region \(did you mean westeurope\?/],
    ["a region that is a word", seedWith({ infrastructure: { region: "no" } }), "infrastructure.region", /not an Azure region — got "no"|not an Azure region .* — got "no"/],
    ["a region with spaces", seedWith({ infrastructure: { region: "West Europe" } }), "infrastructure.region", /did you mean westeurope\?/],
    ["an unknown VM size", seedWith(compute({ common_nodes: pool(2, 8, { type: "Standard_D4s_v9" }) })), "infrastructure.compute.common_nodes.type", /not a known Azure VM size \(did you mean Standard_D4s_v\d\?/],
    ["a VM size without Standard_", seedWith(compute({ masters: { size: 3, type: "DS2_v2" } })), "infrastructure.compute.masters.type", /did you mean Standard_DS2_v2\?/],
    ["an Arm64 size for the masters", seedWith(compute({ masters: { size: 3, type: "Standard_D4ps_v5" } })), "infrastructure.compute.masters.type", /is an Arm64 size \(the "p" in its name\): the nodes boot Ubuntu's x64 image, so use another size such as Standard_D4s_v5 — got "Standard_D4ps_v5"$/m],
    ["an Arm64 size for a pool", seedWith(compute({ common_nodes: pool(2, 8, { type: "Standard_E8pds_v6" }) })), "infrastructure.compute.common_nodes.type", /Arm64 size .* such as Standard_E8ds_v6 — got/m],
    ["a Generation 1-only size (Dv2)", seedWith(compute({ masters: { size: 3, type: "Standard_D2_v2" } })), "infrastructure.compute.masters.type", /runs only Generation 1 VMs: the nodes boot Ubuntu's Generation 2 image, so use another size such as Standard_DS2_v2 — got/],
    ["a Generation 1-only size (Dv3)", seedWith(compute({ common_nodes: pool(2, 8, { type: "Standard_D4_v3" }) })), "infrastructure.compute.common_nodes.type", /Generation 1 .* such as Standard_D4s_v3 — got/],
    ["a Generation 1-only size (Ev3)", seedWith(compute({ common_nodes: pool(2, 8, { type: "Standard_E20_v3" }) })), "infrastructure.compute.common_nodes.type", /Generation 1 .* such as Standard_E20s_v3 — got/],
    ["a burstable Arm64 size", seedWith(compute({ common_nodes: pool(2, 8, { type: "Standard_B2pls_v2" }) })), "infrastructure.compute.common_nodes.type", /Arm64 size .* such as Standard_B2ls_v2 — got/m],
    ["a Kubernetes minor newer than known", seedWith({ kubernetes: { version: `1.${NEWEST_KUBERNETES.minor + 1}.0` } }), "kubernetes.version", /at most 1\.\d+\.x \(the newest minor this installer knows/],
    ["Kubernetes 2.0.0", seedWith({ kubernetes: { version: "2.0.0" } }), "kubernetes.version", /newest minor/],
    ["a Kubernetes minor older than supported", seedWith({ kubernetes: { version: "1.30.14" } }), "kubernetes.version", /1\.31\.0 or newer/],
    ["a Kubernetes version with a v", seedWith({ kubernetes: { version: "v1.33.5" } }), "kubernetes.version", /no "v"/],
    // 10. names that collide
    ["environment system", seedWith({ environment: "system" }), "environment", /core namespace aura-system/],
    ["a service name starting with a digit", seedWith(service({ "1api": {} })), "core.services.1api", /starts with a letter/],
    ["a variable in env and secret_env", seedWith(service({ nlp: { env: { DB_HOST: "x" }, secret_env: { DB_HOST: "db-host" } } })), "core.services.nlp.secret_env.DB_HOST", /also set in env/],
    // 11. resources
    ["a request above its limit", seedWith(resources({ cpu: "2", memory: "1Gi" }, { cpu: "1", memory: "1Gi" })), "core.services.nlp.resources.requests.cpu", /must not exceed limits.cpu \(1\)/],
    ["a memory request above its limit", seedWith(resources({ cpu: "1", memory: "2Gi" }, { cpu: "1", memory: "1.5Gi" })), "core.services.nlp.resources.requests.memory", /must not exceed limits.memory/],
    ["a zero limit", seedWith(resources({ cpu: 0, memory: "1Gi" }, { cpu: 0, memory: "1Gi" })), "core.services.nlp.resources.limits.cpu", /more than 0/],
    ["memory in K", seedWith(resources({ cpu: "1", memory: "512K" }, { cpu: "1", memory: "1Gi" })), "core.services.nlp.resources.requests.memory", /kilo is k or Ki, not K/],
    ["memory in milli", seedWith(resources({ cpu: "1", memory: "512m" }, { cpu: "1", memory: "1Gi" })), "core.services.nlp.resources.requests.memory", /m means milli: 512m is 0\.512 bytes/],
    ["memory in kibibytes", seedWith(resources({ cpu: "1", memory: "512Ki" }, { cpu: "1", memory: "1Gi" })), "core.services.nlp.resources.requests.memory", /: must be at least 1Mi \(512Ki is 524288 bytes; use Mi or Gi\)/],
    ["a negative CPU", seedWith(resources({ cpu: "-1", memory: "1Gi" }, { cpu: "1", memory: "1Gi" })), "core.services.nlp.resources.requests.cpu", /negative/],
    // 12. images and releases
    ["an image with a space", seedWith(service({ nlp: { image: "registry.io/nlp: 1.0" } })), "core.services.nlp.image", /spaces/],
    ["an image with shell syntax", seedWith(service({ nlp: { image: "nlp:1.0;rm" } })), "core.services.nlp.image", /shell syntax/],
    ["an image without a tag", seedWith(service({ nlp: { image: "auraplatform.azurecr.io/nlp" } })), "core.services.nlp.image", /has no tag/],
    ["an image tagged latest", seedWith(service({ nlp: { image: "auraplatform.azurecr.io/nlp:latest" } })), "core.services.nlp.image", /latest/],
    ["an image with an impossible port", seedWith(service({ nlp: { image: "registry.io:99999/nlp:1.0" } })), "core.services.nlp.image", /impossible registry port/],
    ["a job image tagged latest", seedWith({ core: { jobs: { "nlp-provisioning": { image: "nlp:latest" } } } }), "core.jobs.nlp-provisioning.image", /latest/],
    ["a registry given as a URL", seedWith({ release: { version: "1.0.0", registry: "https://myreg.io/" } }), "release.registry", /must be a registry host, not a URL: leave out https:\/\/ \(e\.g\. myreg\.io\)/],
    ["a registry with port 0", seedWith({ release: { version: "1.0.0", registry: "registry.io:0" } }), "release.registry", /impossible registry port/],
    ["a release called latest", seedWith({ ...PROD, release: { version: "latest", registry: "auraplatform.azurecr.io" } }), "release.version", /must be a fixed release/],
    // 13. secrets in env
    ["a password in env", seedWith(service({ nlp: { env: { DB_PASSWORD: "hunter2" } } })), "core.services.nlp.env.DB_PASSWORD", /secret_env.*pulumi config set --secret/],
    ["a token in a job's env", seedWith({ core: { jobs: { "nlp-provisioning": { env: { api_token: "abc" } } } } }), "core.jobs.nlp-provisioning.env.api_token", /looks like a secret/],
    ["a key in env", seedWith(service({ nlp: { env: { STORAGE_KEY: "abc" } } })), "core.services.nlp.env.STORAGE_KEY", /looks like a secret.* pulumi config set --secret aura:secrets\.<secret-name> <value>\n/],
    ["a short password word in env", seedWith(service({ nlp: { env: { SMTP_PASS: "abc" } } })), "core.services.nlp.env.SMTP_PASS", /looks like a secret/],
    ["a camel-case API key in env", seedWith(service({ nlp: { env: { storageApiKey: "abc" } } })), "core.services.nlp.env.storageApiKey", /looks like a secret/],
    ["credentials in env", seedWith(service({ nlp: { env: { GIT_CREDENTIALS: "abc" } } })), "core.services.nlp.env.GIT_CREDENTIALS", /looks like a secret/],
    ["a connection string in env", seedWith(service({ nlp: { env: { STORAGE_CONNECTION_STRING: "abc" } } })), "core.services.nlp.env.STORAGE_CONNECTION_STRING", /looks like a secret/],
    ["secret pairs wherever they stand (SECRET_KEY_BASE, STORAGE_ACCOUNT_KEY, CLIENT_SECRET)", seedWith(service({ nlp: { env: { SECRET_KEY_BASE: "a", STORAGE_ACCOUNT_KEY: "b", CLIENT_SECRET: "c" } } })), "core.services.nlp.env.SECRET_KEY_BASE", /SECRET_KEY_BASE: looks like a secret[\s\S]*STORAGE_ACCOUNT_KEY: looks like a secret[\s\S]*CLIENT_SECRET: looks like a secret/],
    ["libpq's PGPASSWORD, a numbered password, a compound secret", seedWith(service({ nlp: { env: { PGPASSWORD: "a", DB_PASSWORD1: "b", JWTSECRET: "c", dbPassword: "d", JWTTOKEN: "e" } } })), "core.services.nlp.env.PGPASSWORD", /looks like a secret[\s\S]*DB_PASSWORD1: looks like a secret[\s\S]*JWTSECRET: looks like a secret[\s\S]*dbPassword: looks like a secret[\s\S]*JWTTOKEN: looks like a secret/],
    ["a password in a URL without a user", seedWith(service({ nlp: { env: { CACHE_URL: "redis://:hunter2hunter2@redis:6379/0" } } })), "core.services.nlp.env.CACHE_URL", /holds a URL with a password/],
    ["a password inside a URL in env", seedWith(service({ nlp: { env: { MONGO_URL: "mongodb://aura:hunter2hunter2@mongo:27017/aura" } } })), "core.services.nlp.env.MONGO_URL", /holds a URL with a password, .* move it to secret_env/],
    // 14. messages that mislead
    [".inf", seedWith({}).replace("min_size: 2", "min_size: .inf"), "infrastructure.compute.common_nodes.min_size", /whole number — got \.inf$/m],
    [".nan", seedWith({}).replace("min_size: 2", "min_size: .nan"), "infrastructure.compute.common_nodes.min_size", /— got \.nan$/m],
    ["unquoted zone numbers", SEED.replace("  compute:\n", "  zones: [1, 2]\n  compute:\n"), "infrastructure.zones[0]", /infrastructure\.zones\[0\]: must be an availability zone: "1", "2" or "3" \(YAML read the unquoted value as a number: put it in quotes\) — got 1/],
    ["more Prometheus replicas than management nodes (one per node)", SEED.replace(/(management_nodes:\s*\n\s+min_size: )3(\n\s+max_size: )6/, "$10$21"), "system.prometheus.replicas", /system\.prometheus\.replicas: must be at most infrastructure\.compute\.management_nodes\.max_size \(1\): each replica needs a management node of its own — not set, so the default applies[\s\S]*system\.alertmanager\.replicas: must be at most/],
    ["a list where a mapping of names belongs (zod's record)", `${SEED}core:\n  services: [nginx]\n`, "core.services", /core\.services: must be a mapping — got a list \("nginx"\)/],
    ["a number beyond 2^53 where a mapping belongs", SEED.replace("  compute:\n", "  network: 99999999999999999999\n  compute:\n"), "infrastructure.network", /infrastructure\.network: must be a mapping — got 99999999999999999999 \(beyond 2\^53/],
    ["2^53+1", seedWith({}).replace("size: 3", "size: 9007199254740993"), "infrastructure.compute.masters.size", /got 9007199254740993 \(beyond 2\^53/],
    ["a misspelt required key", SEED.replace("region:", "regoin:"), "infrastructure.region", /infrastructure\.region: is required — missing \(is regoin a misspelling of it\?\)/],
    ["a misspelt release in production", seedWith({ ...PROD, relase: { version: "1.0.0", registry: "r.io" } }), "release", /release: is required when tier is production .* — missing \(is relase a misspelling of it\?\)/],
    ["an empty file", "", "", /the profile is empty/],
    ["a comment-only file", "# nothing here yet\n\n# really\n", "", /the profile is empty/],
    ["a key that is a list (YAML's explicit key), at its line (js-yaml marks the file's start)", `${SEED}? [a, b]\n: 1\n`, "", new RegExp(`YAML syntax error at line ${SEED.split("\n").length}: a key that is a list or a mapping`)],
    ["a key without its colon", SEED.replace("  compute:\n", "  compute\n"), "", /YAML syntax error at line \d+, column \d+: .*a multiline key may not be an implicit key \(is the colon after a key on the line before missing\?\)/],
    ["a key that is a mapping", `${SEED}x:\n  {a: 1}: 2\n`, "", /YAML syntax error: a key that is a list or a mapping \(`\? \[a, b\]`, `\{x: 1\}: …`\) — keys are plain names/],
    ["a file of two documents", `${SEED}---\n${SEED}`, "(top level)", /2 YAML documents/],
    ["control characters in a key", `${SEED}"tier\\e[2J\\u202e": x\n`, '"tier\\u001b[2J\\u202e"', /unknown key/],
];

describe("profile hardening: refused with a key path and a reason", () => {
    for (const [what, text, path, reason] of BAD) {
        it(`refuses ${what}`, async () => {
            const message = await refused(text);
            if (path) assert.ok(message.includes(path), `message must name ${path}:\n${message}`);
            assert.match(message, reason);
        });
    }

    it("never echoes the value of a secret-looking variable", async () => {
        const message = await refused(seedWith(service({ nlp: { env: { DB_PASSWORD: "hunter2-very-secret" } } })));
        assert.doesNotMatch(message, /hunter2/);
    });

    it("checks user namespaces without --stack against the one aura-<name> namespace the users name", async () => {
        const users = (...namespaces: string[]) => seedWith({ access: { users: [{ name: "ann", role: "view", namespaces }] } });
        const ok = await aura("validate", tempFile("any-name.yaml", users("aura-dev", "aura-system")));
        assert.strictEqual(ok.code, 0, ok.stderr);
        const r = await aura("validate", tempFile("any-name.yaml", users("aura-dev", "aura-prod")));
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /access\.users\[0\]\.namespaces\[1\]: is not a namespace the platform creates \(aura-dev or aura-system\) — got "aura-prod"/);
    });

    it("refuses the stack name system as an environment (namespace aura-system)", async () => {
        const message = await refused(SEED, tempFile("system.yaml", SEED), "system");
        assert.match(message, /environment: the stack name "system" would make the core namespace aura-system/);
    });
});

// [what, profile text]
const GOOD: Array<[string, string]> = [
    ["a new pool far from every known name", seedWith(compute({ gpu_nodes: pool(0, 2, { type: "Standard_NC6s_v3" }) }))],
    ["a near-miss pool marked custom", seedWith(compute({ managers_nodes: pool(0, 2, { custom: true }) }))],
    ["a near-miss service marked custom", seedWith(service({ nginx2: { service_replicas: 2, custom: true } }))],
    ["a near-miss job marked custom", seedWith({ core: { jobs: { "nlp-provisioning-2": { custom: true } } } })],
    ["every quantity form Kubernetes accepts", seedWith(resources({ cpu: 0.5, memory: "1.5Gi" }, { cpu: 2, memory: "2G" }))],
    ["CPU in milli and memory in bytes", seedWith(resources({ cpu: "250m", memory: "134217728" }, { cpu: "1.5", memory: "1e9" }))],
    ["a zero request", seedWith(resources({ cpu: "0", memory: "0" }, { cpu: "1", memory: "1Gi" }))],
    ["images pinned by tag and digest, with a registry port", seedWith(service({ nlp: { image: "registry.example.com:5000/aura/nlp:2026.11.1" }, nginx: { image: `nginx@sha256:${"a".repeat(64)}` } }))],
    ["a user in aura-system and the core namespace", seedWith({ access: { users: [{ name: "ann", role: "view", namespaces: ["aura-dev", "aura-system"] }] } })],
    ["the newest known Kubernetes minor, any patch", seedWith({ kubernetes: { version: `1.${NEWEST_KUBERNETES.minor}.9` } })],
    ["the oldest supported Kubernetes minor", seedWith({ kubernetes: { version: `1.${OLDEST_KUBERNETES.minor}.0` } })],
    ["settings whose names only contain a secret word (MONKEY, KEYCLOAK_URL, TOKENIZER_PATH, PASSPORT_MODE) and a URL with a user but no password", seedWith(service({ nlp: { env: { MONKEY: "x", KEYCLOAK_URL: "https://sso.example.com/realms/aura", TOKENIZER_PATH: "/models/tok", PASSPORT_MODE: "on", REPO: "https://git@example.com/aura" } } }))],
    [
        "settings that describe a secret or use the word otherwise (KEY_VAULT_NAME, TOKEN_URL, MAX_TOKENS, PUBLIC_KEY, CACHE_KEY_PREFIX, SECRET_NAME, PASSWORD_MIN_LENGTH, SECRETARY_EMAIL…)",
        seedWith(service({ nlp: { env: Object.fromEntries([
            "KEY_VAULT_NAME", "AZURE_KEY_VAULT_URL", "TOKEN_URL", "OAUTH_TOKEN_URL", "TOKEN_TTL", "MAX_TOKENS", "maxTokens", "NUM_TOKENS", "PUBLIC_KEY", "JWT_PUBLIC_KEY",
            "KMS_KEY_ID", "CACHE_KEY_PREFIX", "PARTITION_KEY", "API_KEY_HEADER", "SECRET_NAME", "SECRET_REF", "PASSWORD_MIN_LENGTH", "PASSWORD_RESET_URL",
            "PASS_THROUGH", "DSN_TIMEOUT", "SECRETARY_EMAIL", "PASSWORDLESS_ENABLED", "CREDENTIALING_URL",
        ].map((n) => [n, "x"])) } })),
    ],
    ["a secret variable through secret_env", seedWith(service({ nlp: { secret_env: { DB_PASSWORD: "nlp-db-password" }, env: { DB_HOST: "pg" } } }))],
    ["an agents range whose zonal subnets just fit (three /28s of 11 for the busiest zone's 7)", seedWith(network({ agents_subnet: "10.240.16.0/26" }))],
    ["without zones, an agents subnet that just fits", seedWith({ infrastructure: { zones: [], network: { agents_subnet: "10.240.16.0/27" } } })],
    ["without zones, a big pool in one subnet", seedWith({ infrastructure: { zones: [], network: { agents_subnet: "10.240.16.0/24" }, compute: { common_nodes: pool(0, 180) } } })],
    ["YAML anchors and aliases used sensibly", SEED.replace('type: "Standard_DS2_v2"', 'type: &size "Standard_DS2_v2"').replace(/type: "Standard_DS2_v2"/g, "type: *size")],
];

describe("profile hardening: what must still pass", () => {
    for (const [what, text] of GOOD) {
        it(`accepts ${what}`, async () => {
            const r = await aura("validate", tempFile("dev.yaml", text), "--stack", "dev");
            assert.strictEqual(r.code, 0, r.stderr);
        });
    }

    it("keeps every committed profile and the seed valid", async () => {
        // Each with the stack it is for (profiles/<stack>.yaml); the seed as dev's.
        const files = [...fs.readdirSync("profiles").filter((f) => f.endsWith(".yaml")).map((f) => `profiles/${f}`), "tests/fixtures/seed.yaml"];
        for (const file of files) {
            const stack = file.startsWith("profiles/") ? path.basename(file, ".yaml") : "dev";
            const r = await aura("validate", file, "--stack", stack);
            assert.strictEqual(r.code, 0, `${file}: ${r.stderr}`);
        }
    });
});

describe("profile value checks", () => {
    it("reads quantities as Kubernetes does", () => {
        const cases: Array<[string, number]> = [["2", 2], ["500m", 0.5], ["1.5Gi", 1.5 * 2 ** 30], ["1k", 1000], ["1e3", 1000], ["1E3", 1000], ["2E", 2e18], [".5", 0.5], ["1Ki", 1024]];
        for (const [text, value] of cases) assert.strictEqual(parseQuantity(text), value, text);
        for (const text of ["1K", "1 Gi", "Gi", "1.5.1", "1gi", "0x10", ""]) assert.strictEqual(parseQuantity(text), undefined, text);
        assert.strictEqual(quantityProblem("2", "cpu"), undefined);
    });

    it("reads image references by the registry grammar", () => {
        for (const ok of ["nginx:1.27", "localhost:5000/a/b:1", "a.io/b/c_d/e-f:v1.2", `a@sha256:${"0".repeat(64)}`]) assert.strictEqual(imageProblem(ok), undefined, ok);
        for (const bad of ["Nginx:1", "a.io//b:1", "a:1:2", "a.io:65536/b:1", "$(id):1", "a:-x"]) assert.ok(imageProblem(bad), bad);
    });

    it("describes values without expanding them, and escapes keys", () => {
        const shared: unknown[] = [];
        let v: unknown = shared;
        for (let i = 0; i < 50; i++) v = [v, v, v, v];
        assert.ok(describeValue(v).length < 200);
        assert.ok(describeValue("x".repeat(100_000)).length < 120);
        assert.strictEqual(describeValue(Infinity), ".inf");
        assert.strictEqual(keyPath(["a", "b\nc", 0, "d"]), 'a."b\\nc"[0].d');
    });

    it("refuses an Arm64 v6 size for masters for being Arm64 only, not also for NVMe", () => {
        const text = SEED.replace(/(masters:\n\s+size: 3\n\s+type: )"Standard_DS2_v2"/, '$1"Standard_D2pls_v6"');
        assert.throws(() => parseProfile(text, { file: "seed.yaml", stack: "dev" }), (e: Error) => {
            assert.match(e.message, /masters\.type: is an Arm64 size/);
            assert.doesNotMatch(e.message, /NVMe/);
            return true;
        });
    });

    it("accepts an NVMe-only size for an agent pool (agents have no data disk), only masters need SCSI", () => {
        const text = SEED.replace(/(common_nodes:[\s\S]*?type: )"Standard_DS2_v2"/, '$1"Standard_D4as_v6"');
        assert.notStrictEqual(text, SEED);
        const p = parseProfile(text, { file: "seed.yaml", stack: "dev" });
        assert.strictEqual(p.pools.find((x) => x.name === "common")?.vmSize, "Standard_D4as_v6");
    });

    it("keeps the Azure lists and the Kubernetes bounds in one place", () => {
        assert.ok(AZURE_REGIONS.includes("westeurope") && !AZURE_REGIONS.includes("westeruope"));
        for (const size of ["Standard_DS2_v2", "Standard_DS3_v2", "Standard_D4s_v5", "Standard_D2as_v6", "Standard_E8s_v5", "Standard_F8s_v2", "Standard_B2s_v2", "Standard_NC6s_v3"]) {
            assert.ok(AZURE_VM_SIZES.has(size), size);
        }
        assert.strictEqual(MIN_KUBERNETES_MINOR, OLDEST_KUBERNETES.minor, "cloud-init reads the bound from profiles/versions.ts");
    });

    it("plans the smallest masters ranges it accepts: a /29 per zone, the API address last in zone 1's", async () => {
        for (const [zones, range, address] of [[["1", "2", "3"], "10.240.0.0/27", "10.240.0.6"], [[], "10.240.0.16/28", "10.240.0.30"]] as const) {
            const text = seedWith({ infrastructure: { zones, network: { masters_subnet: range } } });
            const file = tempFile("dev.yaml", text);
            assert.strictEqual((await aura("validate", file, "--stack", "dev")).code, 0);
            const planned = await plan({ profile: file, stack: "dev" });
            const ilb = planned.resources.find((r) => r.name === "aura-dev-control-plane-api-ilb")!;
            assert.strictEqual((ilb.inputs.frontendIPConfigurations as any)[0].privateIPAddress, address);
        }
    });

    it("parses the seed profile with every hardening rule in place, and plans it", async () => {
        const p = parseProfile(SEED, { file: "seed.yaml", stack: "dev" });
        assert.deepStrictEqual(p.pools.map((x) => x.name), ["common", "database", "management"]);
        const planned = await plan({ profile: SEED_PROFILE, stack: "dev" });
        assert.ok(planned.resources.length > 100, `${planned.resources.length} resources`);
    });
});
