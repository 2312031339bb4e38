// The system services (monitoring, logging, databases): replica counts from the profile land in
// the right chart values and custom resources, placement on the pools, PDBs, requests and limits,
// pinned charts, operator resources against their CRD fields, and database credentials as secrets.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as yaml from "js-yaml";
import diff from "microdiff";
import { Plan, PlannedResource, runPlan } from "../cli/plan";
import { CHARTS, IMAGES } from "../components/system/charts";
import { REQUIRED_FIELDS, missingRequired } from "../components/system/crds";
import { DATABASE_SECRET_KEYS, Databases, POSTGRES_INSTANCES } from "../components/system/databases";
import { LOGGING_SETUP_SCRIPT, Logging } from "../components/system/logging";
import { GRAFANA_ROLE, Monitoring, monitoringValues } from "../components/system/monitoring";
import { SystemServiceArgs, TOLERATE_ALL, quorum } from "../components/system/workloads";
import { Profile, parseProfile } from "../profiles";
import { parseQuantity } from "../profiles/values";
import { ROOT, plan, tempFile } from "./helpers";
import { CHART_TYPE, isCustomResource, k8sObjects, testProvider, validateK8s } from "./k8s-helpers";

const DEV = path.join(ROOT, "profiles", "dev.yaml");
const devText = fs.readFileSync(DEV, "utf8");
const devProfile = (): Profile => parseProfile(devText, { file: DEV, stack: "dev" });

/** The three components alone, under the recording mocks, with a literal provider. */
function servicesPlan(profile: Profile, showSecrets = false): Promise<Plan> {
    return runPlan({
        profile: DEV,
        stack: "dev",
        showSecrets,
        program: async () => {
            const args: SystemServiceArgs = {
                profile,
                namespace: profile.namespaces.system,
                coreNamespace: profile.namespaces.core,
                storageClassName: "aura-disk",
                dependsOn: [],
            };
            const opts = { provider: testProvider() };
            new Monitoring("t-monitoring", args, opts);
            new Logging("t-logging", args, opts);
            new Databases("t-databases", args, opts);
            return {};
        },
    });
}

/** The one resource whose name ends with `suffix` (child names derive from the component name). */
function named(p: Plan, suffix: string): PlannedResource {
    const found = p.resources.filter((r) => r.name.endsWith(suffix));
    assert.strictEqual(found.length, 1, `one resource named *${suffix}, found ${found.map((r) => r.name).join(", ")}`);
    return found[0];
}

type Json = Record<string, any>;
const values = (p: Plan, suffix: string): Json => named(p, suffix).inputs.values as Json;
const spec = (p: Plan, suffix: string): Json => named(p, suffix).inputs.spec as Json;

/** Every value under a key named `key` anywhere in `obj`, with its path. */
function findKey(obj: unknown, key: string, at = ""): { path: string; value: any }[] {
    if (typeof obj !== "object" || obj === null) return [];
    return Object.entries(obj).flatMap(([k, v]) => [
        ...(k === key ? [{ path: `${at}${k}`, value: v }] : []),
        ...findKey(v, key, `${at}${k}.`),
    ]);
}

/** Resources of the component whose names start with `prefix`. */
const ofComponent = (p: Plan, prefix: string) => p.resources.filter((r) => r.name.startsWith(prefix));

describe("system services", function () {
    this.timeout(120_000);
    let base: Plan;

    before(async () => {
        base = await servicesPlan(devProfile());
    });

    describe("replicas from the profile", () => {
        it("aura plan of a profile with prometheus 3 and elasticsearch 5 shows them in the chart values and the Elasticsearch resource", async () => {
            const text = devText
                .replace("prometheus: { replicas: 2 }", "prometheus: { replicas: 3 }")
                .replace("elasticsearch: { replicas: 3 }", "elasticsearch: { replicas: 5 }");
            assert.notStrictEqual(text, devText);
            const p = await plan({ profile: tempFile("dev.yaml", text), stack: "dev" });
            const kps = values(p, "-monitoring-kube-prometheus-stack");
            assert.strictEqual(kps.prometheus.prometheusSpec.replicas, 3);
            const es = named(p, "-logging-elasticsearch");
            assert.strictEqual(es.type, "kubernetes:elasticsearch.k8s.elastic.co/v1:Elasticsearch");
            assert.deepStrictEqual((es.inputs.spec as Json).nodeSets.map((n: Json) => n.count), [5]);
            // The defaults elsewhere stay.
            assert.strictEqual(kps.alertmanager.alertmanagerSpec.replicas, 2);
            assert.strictEqual(values(p, "-logging-fluent-bit-aggregator").replicas, 3);
        });

        // Each system.*.replicas key, the planned values it must move (the count itself, and the
        // figures derived from it: PDB bounds and the MongoDB connection string's member list).
        const moves: Record<keyof Profile["system"], string[]> = {
            prometheus: [
                "t-monitoring-kube-prometheus-stack values.prometheus.prometheusSpec.replicas",
                "t-monitoring-kube-prometheus-stack values.prometheus.podDisruptionBudget.minAvailable",
            ],
            alertmanager: [
                "t-monitoring-kube-prometheus-stack values.alertmanager.alertmanagerSpec.replicas",
                "t-monitoring-kube-prometheus-stack values.alertmanager.podDisruptionBudget.minAvailable",
            ],
            kube_state_metrics: ["t-monitoring-kube-prometheus-stack values.kube-state-metrics.replicas"],
            elasticsearch: ["t-logging-elasticsearch spec.nodeSets.0.count"],
            fluent_bit_aggregator: ["t-logging-fluent-bit-aggregator values.replicas"],
            mongodb: [
                "t-databases-mongodb spec.members",
                "t-databases-mongodb-pdb spec.minAvailable",
                "t-databases-mongodb-core stringData.URI",
            ],
        };
        for (const [key, expected] of Object.entries(moves)) {
            it(`system.${key}.replicas moves exactly its own values`, async () => {
                // The components read the typed profile; the schema's fixed counts (mongodb 3,
                // kube_state_metrics 1) are bypassed here to see where the number goes.
                const profile = devProfile();
                const section = profile.system[key as keyof Profile["system"]];
                const before = section.replicas;
                section.replicas = before + 2;
                // One at a time: a plan run owns the process-wide mock runtime.
                const a = await servicesPlan(devProfile(), true);
                const b = await servicesPlan(profile, true);
                const inputs = (p: Plan) => Object.fromEntries(p.resources.map((r) => [r.name, r.inputs]));
                const changed = diff(inputs(a), inputs(b)).map((d) => `${d.path[0]} ${d.path.slice(1).join(".")}`);
                assert.deepStrictEqual(changed.sort(), [...expected].sort());
                const moved = diff(inputs(a), inputs(b)).find((d) => /replicas|count|members$/.test(String(d.path.at(-1))));
                assert.ok(moved && moved.type === "CHANGE");
                assert.strictEqual(moved.value, before + 2);
            });
        }

        it("kube-state-metrics runs exactly one replica, PostgreSQL one primary and two replicas", () => {
            assert.strictEqual(values(base, "-kube-prometheus-stack")["kube-state-metrics"].replicas, 1);
            assert.strictEqual(spec(base, "-databases-postgresql").instances, 3);
            assert.strictEqual(POSTGRES_INSTANCES, 3);
            assert.strictEqual(spec(base, "-databases-mongodb").members, 3);
        });
    });

    describe("placement", () => {
        // Where each workload's node selector sits in the values or the custom resource.
        const selectors: Record<string, { pool: string; at: Record<string, string[]> }> = {
            "t-monitoring": {
                pool: "management",
                at: {
                    "-kube-prometheus-stack": [
                        "values.prometheusOperator.nodeSelector",
                        "values.prometheus.prometheusSpec.nodeSelector",
                        "values.alertmanager.alertmanagerSpec.nodeSelector",
                        "values.kube-state-metrics.nodeSelector",
                        "values.grafana.nodeSelector",
                    ],
                },
            },
            "t-logging": {
                pool: "management",
                at: {
                    "-eck-operator": ["values.nodeSelector"],
                    "-elasticsearch": ["spec.nodeSets.0.podTemplate.spec.nodeSelector"],
                    "-kibana": ["spec.podTemplate.spec.nodeSelector"],
                    "-fluent-bit-aggregator": ["values.nodeSelector"],
                },
            },
            "t-databases": {
                pool: "database",
                at: {
                    "-cloudnative-pg": ["values.nodeSelector"],
                    "-databases-postgresql": ["spec.affinity.nodeSelector"],
                    "-mongodb-kubernetes": ["values.operator.nodeSelector"],
                    "-databases-mongodb": ["spec.statefulSet.spec.template.spec.nodeSelector"],
                },
            },
        };
        const get = (obj: unknown, p: string) => p.split(".").reduce((o: any, k) => o?.[k], obj);

        for (const [component, { pool, at }] of Object.entries(selectors)) {
            it(`every ${component.slice(2)} workload selects agentpool: ${pool}`, () => {
                for (const [suffix, paths] of Object.entries(at)) {
                    for (const p of paths) assert.deepStrictEqual(get(named(base, suffix).inputs, p), { agentpool: pool }, `${suffix} ${p}`);
                }
                // And no selector anywhere in the component points elsewhere.
                const found = ofComponent(base, component).flatMap((r) => findKey(r.inputs, "nodeSelector").map((f) => ({ ...f, r: r.name })));
                assert.ok(found.length >= Object.values(at).flat().length);
                for (const f of found) assert.deepStrictEqual(f.value, { agentpool: pool }, `${f.r} ${f.path}`);
            });
        }

        it("the DaemonSets (node-exporter, Fluent Bit) select no pool and tolerate every taint, masters included", () => {
            const exporter = values(base, "-kube-prometheus-stack")["prometheus-node-exporter"];
            const collector = values(base, "-logging-fluent-bit");
            for (const ds of [exporter, collector]) {
                assert.strictEqual(ds.nodeSelector, undefined);
                assert.deepStrictEqual(ds.tolerations, TOLERATE_ALL);
            }
            assert.deepStrictEqual(TOLERATE_ALL, [{ operator: "Exists" }]);
        });

        it("database members: one per node and spread over zones", () => {
            const pg = spec(base, "-databases-postgresql");
            assert.deepStrictEqual(
                { enable: pg.affinity.enablePodAntiAffinity, type: pg.affinity.podAntiAffinityType, key: pg.affinity.topologyKey },
                { enable: true, type: "required", key: "kubernetes.io/hostname" },
            );
            assert.strictEqual(pg.topologySpreadConstraints[0].topologyKey, "topology.kubernetes.io/zone");
            const mongoPod = spec(base, "-databases-mongodb").statefulSet.spec.template.spec;
            const term = mongoPod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0];
            assert.strictEqual(term.topologyKey, "kubernetes.io/hostname");
            assert.deepStrictEqual(term.labelSelector.matchLabels, { app: "mongodb-svc" });
            assert.strictEqual(mongoPod.topologySpreadConstraints[0].topologyKey, "topology.kubernetes.io/zone");
            const es = spec(base, "-logging-elasticsearch").nodeSets[0];
            assert.deepStrictEqual(es.zoneAwareness, {});
        });

        it("everything lives in aura-system except the core services' credential copies", () => {
            for (const r of base.resources.filter((x) => x.custom && x.type.startsWith("kubernetes:"))) {
                const ns = r.type === CHART_TYPE ? r.inputs.namespace : (r.inputs.metadata as Json).namespace;
                const expected = r.name.endsWith("-core") ? "aura-dev" : "aura-system";
                assert.strictEqual(ns, expected, r.name);
            }
        });
    });

    describe("network", () => {
        it("only aura-system reaches the services that answer without authentication: Alertmanager, Prometheus, kube-state-metrics, the log aggregator's forward input, the databases but for their database port", () => {
            const policies = base.resources.filter((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy");
            const selected = Object.fromEntries(policies.map((p) => [(p.inputs.metadata as Json).name, (p.inputs.spec as Json).podSelector.matchLabels]));
            // prometheus-operator v0.93.0 labels Alertmanager and Prometheus pods app.kubernetes.io/name=alertmanager, =prometheus;
            // kube-state-metrics 8.4.0 app.kubernetes.io/name=kube-state-metrics; the aggregator chart its pods
            // app.kubernetes.io/instance=<release>; CloudNativePG cnpg.io/cluster=<cluster>; the MongoDB operator app=<name>-svc.
            const aggregator = base.resources.find((r) => r.type === CHART_TYPE && r.inputs.chart === "fluent-bit-aggregator")!;
            assert.deepStrictEqual(selected, {
                "alertmanager-ingress": { "app.kubernetes.io/name": "alertmanager" },
                "prometheus-ingress": { "app.kubernetes.io/name": "prometheus" },
                "kube-state-metrics-ingress": { "app.kubernetes.io/name": "kube-state-metrics" },
                "fluent-bit-aggregator-ingress": { "app.kubernetes.io/instance": aggregator.inputs.name },
                "postgresql-ingress": { "cnpg.io/cluster": "postgresql" },
                "mongodb-ingress": { app: "mongodb-svc" },
            });
            const systemOnly = { from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "aura-system" } } }] };
            const coreOn = (port: number) => ({ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "aura-dev" } } }], ports: [{ protocol: "TCP", port }] });
            const databasePort: Record<string, number> = { "postgresql-ingress": 5432, "mongodb-ingress": 27017 };
            for (const p of policies) {
                const spec = p.inputs.spec as Json;
                const policyName = (p.inputs.metadata as Json).name as string;
                assert.strictEqual((p.inputs.metadata as Json).namespace, "aura-system");
                assert.deepStrictEqual(spec.policyTypes, ["Ingress"]);
                assert.deepStrictEqual(spec.ingress, policyName in databasePort ? [systemOnly, coreOn(databasePort[policyName])] : [systemOnly], policyName);
            }
            // The MongoDB selector is the one the operator's pods carry (the PDB selects them alike).
            const pdb = base.resources.find((r) => r.type === "kubernetes:policy/v1:PodDisruptionBudget" && (r.inputs.metadata as Json).name === "mongodb")!;
            assert.deepStrictEqual((pdb.inputs.spec as Json).selector.matchLabels, selected["mongodb-ingress"]);
            // The collectors that send to the aggregator are ordinary pods of aura-system, not on the host network.
            const collector = base.resources.find((r) => r.type === CHART_TYPE && r.inputs.chart === "fluent-bit-collector")!;
            assert.notStrictEqual((collector.inputs.values as Json).hostNetwork, true);
        });
    });

    describe("availability", () => {
        it("every quorum-based service has a PDB that keeps its quorum", () => {
            const kps = values(base, "-kube-prometheus-stack");
            const am = kps.alertmanager;
            assert.strictEqual(am.podDisruptionBudget.enabled, true);
            assert.ok(am.podDisruptionBudget.minAvailable >= 1 && am.podDisruptionBudget.minAvailable < am.alertmanagerSpec.replicas);
            // A lone replica gets no budget: one that kept it up would block every drain of its node.
            const single = monitoringValues({ prometheusReplicas: 2, alertmanagerReplicas: 1, kubeStateMetricsReplicas: 1, storageClassName: "sc", grafanaAdminSecret: "g", namespace: "aura-system" }) as Json;
            assert.deepStrictEqual(single.alertmanager.podDisruptionBudget, { enabled: false });
            assert.strictEqual(kps.prometheus.podDisruptionBudget.enabled, true);
            // Elasticsearch: ECK's default PDB (only while green, one node at a time) stays on.
            assert.strictEqual(spec(base, "-logging-elasticsearch").podDisruptionBudget, undefined);
            // PostgreSQL: the operator's PDBs (primary, replicas).
            assert.strictEqual(spec(base, "-databases-postgresql").enablePDB, true);
            // MongoDB: the operator makes none, so the program does; it selects the member pods.
            const pdb = named(base, "-databases-mongodb-pdb");
            assert.strictEqual(pdb.type, "kubernetes:policy/v1:PodDisruptionBudget");
            const members = spec(base, "-databases-mongodb").members;
            assert.strictEqual((pdb.inputs.spec as Json).minAvailable, quorum(members));
            assert.strictEqual(quorum(3), 2);
            assert.strictEqual(quorum(5), 3);
            assert.deepStrictEqual((pdb.inputs.spec as Json).selector.matchLabels, { app: "mongodb-svc" });
            assert.strictEqual(values(base, "-logging-fluent-bit-aggregator").podDisruptionBudget.enabled, true);
        });

        it("Prometheus, Alertmanager, Elasticsearch, the aggregator and the databases keep their data on the StorageClass", () => {
            const kps = values(base, "-kube-prometheus-stack");
            for (const s of [kps.prometheus.prometheusSpec.storageSpec, kps.alertmanager.alertmanagerSpec.storage]) {
                assert.strictEqual(s.volumeClaimTemplate.spec.storageClassName, "aura-disk");
            }
            assert.strictEqual(spec(base, "-logging-elasticsearch").nodeSets[0].volumeClaimTemplates[0].spec.storageClassName, "aura-disk");
            assert.strictEqual(spec(base, "-logging-elasticsearch").nodeSets[0].volumeClaimTemplates[0].metadata.name, "elasticsearch-data");
            assert.deepStrictEqual(values(base, "-logging-fluent-bit-aggregator").persistence, { enabled: true, storageClass: "aura-disk", size: "10Gi" });
            assert.strictEqual(spec(base, "-databases-postgresql").storage.storageClass, "aura-disk");
            const claims = spec(base, "-databases-mongodb").statefulSet.spec.volumeClaimTemplates;
            assert.deepStrictEqual(claims.map((c: Json) => [c.metadata.name, c.spec.storageClassName]), [["data-volume", "aura-disk"], ["logs-volume", "aura-disk"]]);
        });
    });

    describe("log retention and the Kibana data view", () => {
        const setupJob = (p: Plan) => named(p, "-logging-setup");
        const env = (job: PlannedResource): Record<string, unknown> =>
            Object.fromEntries(((job.inputs.spec as Json).template.spec.containers[0].env as Json[]).map((e) => [e.name, e.value ?? e.valueFrom]));

        it("a setup job in the Elasticsearch image ECK runs, after Elasticsearch and Kibana, with the profile's retention", () => {
            const job = setupJob(base);
            const pod = (job.inputs.spec as Json).template.spec;
            assert.strictEqual(pod.containers[0].image, `docker.elastic.co/elasticsearch/elasticsearch:${IMAGES.elasticStack.image}`);
            assert.deepStrictEqual(pod.containers[0].command, ["bash", "-c", LOGGING_SETUP_SCRIPT]);
            assert.deepStrictEqual(pod.nodeSelector, { agentpool: "management" });
            assert.strictEqual(pod.automountServiceAccountToken, false);
            assert.strictEqual(pod.containers[0].securityContext.readOnlyRootFilesystem, true);
            const vars = env(job);
            assert.strictEqual(vars.RETENTION_DAYS, "14", "the default");
            assert.strictEqual(vars.PREFIX, values(base, "-logging-fluent-bit-aggregator").config.pipeline.outputs[0].logstash_prefix);
            assert.strictEqual(vars.ES_URL, "https://elasticsearch-es-http.aura-system.svc:9200");
            assert.strictEqual(vars.KIBANA_URL, "https://kibana-kb-http.aura-system.svc:5601");
            assert.deepStrictEqual(vars.ES_PASSWORD, { secretKeyRef: { name: "elasticsearch-es-elastic-user", key: "elastic" } });
            assert.deepStrictEqual(pod.volumes.map((v: Json) => v.secret.secretName), ["elasticsearch-es-http-certs-public", "kibana-kb-http-certs-public"]);
            for (const cr of ["-logging-elasticsearch", "-logging-kibana"]) assert.ok(job.options.dependsOn?.includes(named(base, cr).urn), `after ${cr}`);
            assert.deepStrictEqual(job.options.customTimeouts, { create: "30m", update: "30m" });
        });

        it("a new retention is a new Job (a completed one never runs again); the same profile keeps the same one", async () => {
            const again = await servicesPlan(devProfile());
            const longer = await servicesPlan(parseProfile(devText.replace("elasticsearch: { replicas: 3 }", "elasticsearch: { replicas: 3, log_retention_days: 30 }"), { file: DEV, stack: "dev" }));
            const name = (p: Plan) => (setupJob(p).inputs.metadata as Json).name as string;
            assert.match(name(base), /^logging-setup-[0-9a-f]{8}$/);
            assert.strictEqual(name(again), name(base));
            assert.strictEqual(env(setupJob(longer)).RETENTION_DAYS, "30");
            assert.notStrictEqual(name(longer), name(base));
        });

        it("the profile refuses a retention out of bounds", () => {
            assert.throws(() => parseProfile(devText.replace("elasticsearch: { replicas: 3 }", "elasticsearch: { replicas: 3, log_retention_days: 0 }"), { file: DEV, stack: "dev" }), /system\.elasticsearch\.log_retention_days: must be at least 1/);
        });
    });

    describe("requests and limits", () => {
        it("every container the program configures has CPU and memory requests and limits", () => {
            const all = ofComponent(base, "t-").flatMap((r) => findKey(r.inputs, "resources").map((f) => ({ ...f, r: r.name })));
            // Volume claims call their size `resources` too: skip those (they request storage only), and
            // RBAC rules their list of resource kinds.
            const containers = all.filter((f) => !Array.isArray(f.value) && !("storage" in (f.value.requests ?? {})));
            assert.strictEqual(containers.length, 19, "8 in monitoring, 6 in logging (the setup job's among them), 5 in databases");
            for (const f of containers) {
                for (const kind of ["requests", "limits"]) {
                    assert.match(String(f.value[kind]?.cpu), /^[0-9]+m?$/, `${f.r} ${f.path}.${kind}.cpu`);
                    assert.match(String(f.value[kind]?.memory), /^[0-9]+(Mi|Gi)$/, `${f.r} ${f.path}.${kind}.memory`);
                }
            }
        });

        it("uses the seed's figures for the log collector and node-exporter", () => {
            assert.deepStrictEqual(values(base, "-logging-fluent-bit").resources, {
                requests: { cpu: "50m", memory: "256Mi" },
                limits: { cpu: "100m", memory: "512Mi" },
            });
            assert.deepStrictEqual(values(base, "-kube-prometheus-stack")["prometheus-node-exporter"].resources, {
                requests: { cpu: "10m", memory: "24Mi" },
                limits: { cpu: "50m", memory: "32Mi" },
            });
        });

        it("names the operator-managed containers it sizes as the operators name them", () => {
            const names = (cs: Json[]) => cs.map((c) => c.name);
            assert.deepStrictEqual(names(spec(base, "-logging-elasticsearch").nodeSets[0].podTemplate.spec.containers), ["elasticsearch"]);
            assert.deepStrictEqual(names(spec(base, "-logging-kibana").podTemplate.spec.containers), ["kibana"]);
            assert.deepStrictEqual(names(spec(base, "-databases-mongodb").statefulSet.spec.template.spec.containers), ["mongod", "mongodb-agent"]);
        });
    });

    describe("software", () => {
        it("every chart comes from CHARTS: exact version, its repository, a reason", () => {
            const charts = base.resources.filter((r) => r.type === CHART_TYPE);
            assert.strictEqual(charts.length, 6);
            for (const c of charts) {
                const pin = Object.values(CHARTS).find((x) => x.chart === c.inputs.chart);
                assert.ok(pin, `${c.name}: ${String(c.inputs.chart)} is pinned in CHARTS`);
                assert.strictEqual(c.inputs.version, pin.version);
                assert.deepStrictEqual(c.inputs.repositoryOpts, { repo: pin.repo });
            }
            for (const pin of [...Object.values(CHARTS), ...Object.values(IMAGES)]) {
                if ("version" in pin) assert.match(pin.version, /^[0-9]+\.[0-9]+\.[0-9]+$/, "an exact version, no range");
                assert.ok(pin.why.length > 20);
            }
            assert.ok(!Object.values(CHARTS).some((c) => /bitnami/i.test(c.repo + c.chart)), "no Bitnami charts");
        });

        it("operator images are pinned where the resource names them", () => {
            assert.strictEqual(spec(base, "-logging-elasticsearch").version, IMAGES.elasticStack.image);
            assert.strictEqual(spec(base, "-logging-kibana").version, IMAGES.elasticStack.image);
            assert.strictEqual(spec(base, "-databases-postgresql").imageName, IMAGES.postgresql.image);
            assert.strictEqual(spec(base, "-databases-mongodb").version, IMAGES.mongodb.image);
        });

        it("kube-prometheus-stack: CRDs managed by Pulumi, no hook-only pieces, cluster-wide discovery, the core services scraped", () => {
            const kps = values(base, "-kube-prometheus-stack");
            assert.deepStrictEqual(kps.crds, { enabled: true, upgradeJob: { enabled: false } });
            assert.strictEqual(named(base, "-kube-prometheus-stack").inputs.skipCrds, undefined);
            assert.strictEqual(kps.prometheusOperator.admissionWebhooks.enabled, false);
            assert.strictEqual(kps.prometheusOperator.tls.enabled, false);
            assert.strictEqual(kps.prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues, false);
            assert.strictEqual(kps.prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues, false);
            assert.strictEqual(kps.prometheus.prometheusSpec.scrapeConfigSelectorNilUsesHelmValues, false);
            // Retention by age and by size: the size bound stays under the volume (50Gi ≈ 53.7 GB).
            assert.strictEqual(kps.prometheus.prometheusSpec.retention, "15d");
            assert.match(kps.prometheus.prometheusSpec.retentionSize, /^(\d+)GB$/);
            assert.ok(parseInt(kps.prometheus.prometheusSpec.retentionSize, 10) * 1e9 < 0.9 * 50 * 2 ** 30);
            assert.strictEqual(kps.grafana.defaultDashboardsEnabled, true);
            assert.strictEqual(kps.grafana.admin.existingSecret, "grafana-admin");
            // Grafana gets a Role in aura-system, not the chart's ClusterRole (every Secret of the
            // cluster), and its sidecars read ConfigMaps there only (the chart's default is ALL).
            // (The chart's own Role would grant every Secret of aura-system: GRAFANA_ROLE reads ConfigMaps only.)
            assert.deepStrictEqual(kps.grafana.rbac, { namespaced: true, useExistingRole: GRAFANA_ROLE });
            const role = base.resources.find((r) => r.type === "kubernetes:rbac.authorization.k8s.io/v1:Role" && (r.inputs.metadata as Json).name === GRAFANA_ROLE)!;
            assert.strictEqual((role.inputs.metadata as Json).namespace, "aura-system");
            assert.deepStrictEqual(role.inputs.rules, [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }]);
            const chart = base.resources.find((r) => r.name.endsWith("-kube-prometheus-stack"))!;
            assert.ok(chart.options.dependsOn?.includes(role.urn), "the Role exists before the chart binds it");
            for (const sidecar of ["dashboards", "datasources"]) {
                assert.deepStrictEqual(kps.grafana.sidecar[sidecar], { searchNamespace: "aura-system", resource: "configmap" }, sidecar);
            }
            // kube-state-metrics without its Secrets collector, so without list/watch on every Secret.
            assert.deepStrictEqual(kps["kube-state-metrics"].collectorsExclude, ["secrets"]);
            const monitor = spec(base, "-monitoring-core-services");
            assert.deepStrictEqual(monitor.namespaceSelector, { matchNames: ["aura-dev"] });
            assert.deepStrictEqual(monitor.podMetricsEndpoints.map((e: Json) => e.port), ["metrics"]);
        });

        it("logs flow collector → fluent-bit-aggregator → Elasticsearch with Kubernetes metadata", () => {
            const out = values(base, "-logging-fluent-bit").config.pipeline.outputs;
            assert.deepStrictEqual(out.map((o: Json) => [o.name, o.host, o.port]), [["forward", "fluent-bit-aggregator.aura-system.svc.cluster.local", 24224]]);
            // The chart's default input (tail + kubernetes processor) is kept: no inputs override.
            assert.strictEqual(values(base, "-logging-fluent-bit").config.pipeline.inputs, undefined);
            const agg = values(base, "-logging-fluent-bit-aggregator");
            assert.strictEqual(agg.fullnameOverride, "fluent-bit-aggregator");
            const es = agg.config.pipeline.outputs[0];
            // A name on ECK's certificate (it has no .cluster.local names), verified.
            assert.deepStrictEqual(
                [es.name, es.host, es.tls, es["tls.verify"], es["tls.verify_hostname"], es["tls.ca_file"], es.replace_dots],
                ["es", "elasticsearch-es-http.aura-system.svc", "on", "on", "on", "/es-ca/ca.crt", "on"],
            );
            // Neither buffer outgrows its disk while the next hop is away.
            assert.strictEqual(es["storage.total_limit_size"], "8G");
            // Fluent Bit's sizes are decimal (8G = 8e9 bytes), as Kubernetes reads G; the volume is in Gi.
            assert.ok(parseQuantity(es["storage.total_limit_size"])! < parseQuantity(agg.persistence.size)!, "the aggregator's cap fits its volume");
            assert.strictEqual(out[0]["storage.total_limit_size"], "2G");
            assert.deepStrictEqual(agg.env[0].valueFrom.secretKeyRef, { name: "aura-log-writer", key: "password" });
            assert.strictEqual(spec(base, "-logging-kibana").elasticsearchRef.name, (named(base, "-logging-elasticsearch").inputs.metadata as Json).name);
        });
    });

    describe("objects", () => {
        it("custom resources carry every field their CRD requires", () => {
            const crs = base.resources.filter((r) => isCustomResource(r));
            assert.deepStrictEqual(crs.map((r) => (r.inputs.kind as string)).sort(), ["Cluster", "Elasticsearch", "Kibana", "MongoDBCommunity", "PodMonitor"]);
            for (const r of crs) {
                assert.strictEqual(r.inputs.apiVersion, REQUIRED_FIELDS[r.inputs.kind as string].apiVersion);
                assert.deepStrictEqual(missingRequired(r.inputs.kind as string, r.inputs.spec), [], r.name);
            }
            // The check can fail.
            assert.deepStrictEqual(missingRequired("Elasticsearch", { version: "9", nodeSets: [{ count: 3 }] }), ["nodeSets[].name"]);
            assert.deepStrictEqual(missingRequired("MongoDBCommunity", { ...spec(base, "-databases-mongodb"), users: undefined }).slice(0, 2), ["users", "users[].name"]);
        });

        it("every object the program builds itself validates against the Kubernetes OpenAPI schema", async () => {
            const shown = await servicesPlan(devProfile(), true);
            const objects = k8sObjects(shown);
            assert.deepStrictEqual(
                objects.map((r) => r.type).sort(),
                ["kubernetes:batch/v1:Job", ...Array(7).fill("kubernetes:core/v1:Secret"), ...Array(6).fill("kubernetes:networking.k8s.io/v1:NetworkPolicy"), "kubernetes:policy/v1:PodDisruptionBudget", "kubernetes:rbac.authorization.k8s.io/v1:Role"],
            );
            for (const r of objects) await validateK8s(r);
            const pdb = objects.find((r) => r.type.endsWith("PodDisruptionBudget"))!;
            await assert.rejects(validateK8s({ ...pdb, inputs: { ...pdb.inputs, spec: { minAvailable: 2, selector: "app" } } }), /does not validate/);
        });
    });

    describe("the log writer", () => {
        it("the aggregator writes as a user that may only add documents to the daily indices, never as elastic", async () => {
            const agg = values(base, "-logging-fluent-bit-aggregator");
            const out = agg.config.pipeline.outputs[0];
            assert.deepStrictEqual([out.http_user, out.http_passwd, out.write_operation], ["aura-log-writer", "${ES_PASSWORD}", "create"]);
            assert.doesNotMatch(JSON.stringify(agg), /elastic-user|"elastic"/, "no trace of the superuser");
            // ECK loads the user and the role from the Secrets the Elasticsearch resource names.
            const es = named(base, "-logging-elasticsearch");
            assert.deepStrictEqual(spec(base, "-logging-elasticsearch").auth, { roles: [{ secretName: "aura-log-writer-role" }], fileRealm: [{ secretName: "aura-log-writer" }] });
            const shown = await servicesPlan(devProfile(), true);
            const secret = (suffix: string) => named(shown, suffix).inputs as Json;
            const user = secret("-logging-log-writer");
            assert.strictEqual(user.type, "kubernetes.io/basic-auth");
            assert.deepStrictEqual(Object.keys(user.stringData).sort(), ["password", "roles", "username"]);
            assert.strictEqual(user.stringData.username, "aura-log-writer");
            assert.ok(user.stringData.password.length >= 32, "a generated password, at least ECK's 6 characters");
            assert.strictEqual(user.stringData.roles, "aura_log_writer");
            const roles = yaml.load(secret("-logging-log-writer-role").stringData["roles.yml"]) as Json;
            assert.deepStrictEqual(roles, { aura_log_writer: { cluster: [], indices: [{ names: [`${out.logstash_prefix}-*`], privileges: ["create_doc", "auto_configure"] }] } });
            assert.strictEqual(named(base, "-logging-log-writer-password").type, "random:index/randomPassword:RandomPassword");
            for (const s of ["-logging-log-writer", "-logging-log-writer-role"]) assert.ok(es.options.dependsOn?.includes(named(base, s).urn), `Elasticsearch after ${s}`);
            // The setup Job alone (ILM, templates, Kibana) keeps the elastic user.
            assert.match(JSON.stringify(named(base, "-logging-setup").inputs), /elasticsearch-es-elastic-user/);
        });
    });

    describe("database credentials", () => {
        it("are generated in Pulumi state and stay secret in the plan", () => {
            for (const suffix of ["-databases-postgresql-password", "-databases-mongodb-password", "-monitoring-grafana-admin-password"]) {
                const pw = named(base, suffix);
                assert.strictEqual(pw.type, "random:index/randomPassword:RandomPassword");
                assert.ok(pw.options.additionalSecretOutputs?.includes("result"));
            }
            const secrets = base.resources.filter((r) => r.type === "kubernetes:core/v1:Secret");
            assert.ok(secrets.length >= 5);
            for (const s of secrets) assert.strictEqual(s.inputs.stringData, "[secret]", s.name);
            const json = JSON.stringify(base);
            assert.doesNotMatch(json, /postgresql:\/\/aura:/);
            assert.doesNotMatch(json, /mongodb:\/\/aura:/);
        });

        it("reach the core namespace with the contract's names and keys; the URIs carry the same password", async () => {
            const shown = await servicesPlan(devProfile(), true);
            const pg = named(shown, "-databases-postgresql-core").inputs;
            const mongo = named(shown, "-databases-mongodb-core").inputs;
            assert.deepStrictEqual([(pg.metadata as Json).name, (mongo.metadata as Json).name], ["aura-postgresql", "aura-mongodb"]);
            for (const s of [pg, mongo]) {
                assert.strictEqual((s.metadata as Json).namespace, "aura-dev");
                assert.deepStrictEqual(Object.keys(s.stringData as Json).sort(), [...DATABASE_SECRET_KEYS].sort());
            }
            const p = pg.stringData as Json;
            assert.match(p.PASSWORD, /^[A-Za-z0-9]{32}$/);
            assert.strictEqual(p.URI, `postgresql://aura:${p.PASSWORD}@postgresql-rw.aura-system.svc.cluster.local:5432/aura`);
            assert.strictEqual((named(shown, "-databases-postgresql-credentials").inputs.stringData as Json).password, p.PASSWORD);
            assert.strictEqual(spec(shown, "-databases-postgresql").bootstrap.initdb.secret.name, "postgresql-credentials");
            const m = mongo.stringData as Json;
            assert.strictEqual(
                m.URI,
                `mongodb://aura:${m.PASSWORD}@mongodb-0.mongodb-svc.aura-system.svc.cluster.local:27017,mongodb-1.mongodb-svc.aura-system.svc.cluster.local:27017,mongodb-2.mongodb-svc.aura-system.svc.cluster.local:27017/aura?replicaSet=mongodb&authSource=admin`,
            );
            assert.strictEqual((named(shown, "-databases-mongodb-user").inputs.stringData as Json).password, m.PASSWORD);
            assert.deepStrictEqual(spec(shown, "-databases-mongodb").users[0].passwordSecretRef, { name: "mongodb-aura-password", key: "password" });
            assert.notStrictEqual(m.PASSWORD, p.PASSWORD);
        });
    });
});
