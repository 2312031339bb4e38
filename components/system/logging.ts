// Logging in aura-system: Fluent Bit on every node tails the container logs of every namespace and
// adds Kubernetes metadata, forwards them to the `fluent-bit-aggregator` StatefulSet (persistent
// buffer), which writes them to Elasticsearch; Kibana reads them. Elasticsearch and Kibana run
// under the ECK operator; a setup job gives the daily indices their retention and Kibana its data view.
// The aggregator writes as a user that may only add documents to the daily indices, not as `elastic`.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as yaml from "js-yaml";
import { IMAGES, pinnedChart } from "./charts";
import type { ElasticsearchSpec, KibanaSpec } from "./crds";
import { PLATFORM_LABELS, namespaceOnlyIngress } from "./namespaces";
import {
    SystemServiceArgs,
    SystemServiceOptions,
    TOLERATE_ALL,
    ZONE_KEY,
    childOptions,
    customResource,
    onPool,
    resources,
} from "./workloads";

/** Names the runbook uses (README, "Runbook names"). */
export const LOGGING_NAMES = {
    /** Elasticsearch resource; ECK names its StatefulSet `elasticsearch-es-<nodeSet>`. */
    elasticsearch: "elasticsearch",
    nodeSet: "nodes",
    kibana: "kibana",
    collector: "fluent-bit",
    aggregator: "fluent-bit-aggregator",
} as const;

const ELASTICSEARCH_STORAGE = "100Gi";
const AGGREGATOR_BUFFER = "10Gi";
/**
 * Caps on what Fluent Bit keeps on disk while its destination is away (decimal units, as Fluent Bit
 * reads them); past the cap it drops the oldest chunks instead of filling the disk. The aggregator's
 * fits its volume (AGGREGATOR_BUFFER); the collector's is per node, on the node's disk.
 */
const AGGREGATOR_BUFFER_LIMIT = "8G";
const COLLECTOR_BUFFER_LIMIT = "2G";
/** Prefix of the daily indices (logs-YYYY.MM.DD), and the Kibana data view over them. */
export const LOG_INDEX_PREFIX = "logs";
/** The aggregator's forward input (the chart's default additional port). */
const FORWARD_PORT = 24224;

/**
 * The user the aggregator writes as, in ECK's file realm: a `kubernetes.io/basic-auth` Secret with
 * `username`, `password` and `roles` (ECK 3.5.0, spec.auth.fileRealm), and its role from a Secret's
 * `roles.yml` (spec.auth.roles).
 */
export const LOG_WRITER = {
    user: "aura-log-writer",
    role: "aura_log_writer",
    userSecret: "aura-log-writer",
    roleSecret: "aura-log-writer-role",
} as const;

/**
 * The writer's role: add documents to the daily indices (`create_doc`, which also allows the mapping
 * updates of new fields) and have a day's index created on its first document (`auto_configure`);
 * no read, no delete, no overwrite, nothing cluster-wide. Fluent Bit sends bulk `create` actions.
 */
export function logWriterRoles(): string {
    return yaml.dump({
        [LOG_WRITER.role]: {
            cluster: [],
            indices: [{ names: [`${LOG_INDEX_PREFIX}-*`], privileges: ["create_doc", "auto_configure"] }],
        },
    });
}

/** Fluent Bit on every node: the chart's tail input with the kubernetes processor, forwarded on. */
export function collectorValues(args: { namespace: string }): Record<string, unknown> {
    return {
        fullnameOverride: LOGGING_NAMES.collector,
        // Every node, masters included.
        tolerations: TOLERATE_ALL,
        // The seed's figures for its per-node log collector (fluentd).
        resources: resources(["50m", "100m"], ["256Mi", "512Mi"]),
        // Tail positions and the filesystem buffer on the node survive a pod restart.
        storage: { enabled: true },
        config: {
            pipeline: {
                // The chart's default input tails /var/log/containers/*.log of every namespace and its
                // kubernetes processor adds kubernetes.namespace_name, kubernetes.pod_name and
                // kubernetes.labels (the `app` label among them) to each record.
                outputs: [
                    {
                        name: "forward",
                        alias: "to-aggregator",
                        match: "kube.*",
                        host: `${LOGGING_NAMES.aggregator}.${args.namespace}.svc.cluster.local`,
                        port: FORWARD_PORT,
                        retry_limit: "no_limits",
                        "storage.total_limit_size": COLLECTOR_BUFFER_LIMIT,
                    },
                ],
            },
        },
    };
}

/** The aggregator StatefulSet: forward input (chart default) → Elasticsearch over TLS. */
export function aggregatorValues(args: { replicas: number; storageClassName: string; namespace: string }): Record<string, unknown> {
    const es = LOGGING_NAMES.elasticsearch;
    return {
        fullnameOverride: LOGGING_NAMES.aggregator,
        replicas: args.replicas,
        nodeSelector: onPool("management"),
        resources: resources(["100m", "500m"], ["256Mi", "512Mi"]),
        // The chart fills in the pod selector.
        topologySpreadConstraints: [{ maxSkew: 1, topologyKey: ZONE_KEY, whenUnsatisfiable: "ScheduleAnyway" }],
        podDisruptionBudget: { enabled: true, maxUnavailable: 1 },
        // The filesystem buffer outlives a restart while Elasticsearch is away.
        persistence: { enabled: true, storageClass: args.storageClassName, size: AGGREGATOR_BUFFER },
        // The writer's password (LOG_WRITER), and the HTTP CA ECK keeps in a Secret.
        env: [{ name: "ES_PASSWORD", valueFrom: { secretKeyRef: { name: LOG_WRITER.userSecret, key: "password" } } }],
        extraVolumes: [{ name: "es-ca", secret: { secretName: `${es}-es-http-certs-public` } }],
        extraVolumeMounts: [{ name: "es-ca", mountPath: "/es-ca", readOnly: true }],
        config: {
            pipeline: {
                outputs: [
                    {
                        name: "es",
                        alias: "to-elasticsearch",
                        match: "*",
                        // A name ECK's certificate carries (it has no .cluster.local names).
                        host: elasticsearchHost(args.namespace),
                        port: 9200,
                        http_user: LOG_WRITER.user,
                        http_passwd: "${ES_PASSWORD}",
                        // Fluent Bit's default, stated: the writer's role allows creating documents only.
                        write_operation: "create",
                        tls: "on",
                        "tls.verify": "on",
                        "tls.verify_hostname": "on",
                        "tls.ca_file": "/es-ca/ca.crt",
                        // Daily indices logs-YYYY.MM.DD: Kibana's data view is `logs-*`.
                        logstash_format: "on",
                        logstash_prefix: LOG_INDEX_PREFIX,
                        // Label keys such as app.kubernetes.io/name would clash with object mappings.
                        replace_dots: "on",
                        suppress_type_name: "on",
                        retry_limit: "no_limits",
                        "storage.total_limit_size": AGGREGATOR_BUFFER_LIMIT,
                    },
                ],
            },
        },
    };
}

/** The Elasticsearch cluster: `replicas` nodes (each master, data and ingest), zone-aware, on disks. */
export function elasticsearchSpec(args: { replicas: number; storageClassName: string }): ElasticsearchSpec {
    return {
        version: IMAGES.elasticStack.image,
        nodeSets: [
            {
                name: LOGGING_NAMES.nodeSet,
                count: args.replicas,
                // No mmap: no privileged sysctl init container raising vm.max_map_count on the node.
                config: { "node.store.allow_mmap": false },
                podTemplate: {
                    spec: {
                        nodeSelector: onPool("management"),
                        containers: [{ name: "elasticsearch", resources: resources(["500m", "2"], ["2Gi", "4Gi"]) }],
                    },
                },
                volumeClaimTemplates: [
                    {
                        metadata: { name: "elasticsearch-data" },
                        spec: {
                            accessModes: ["ReadWriteOnce"],
                            storageClassName: args.storageClassName,
                            resources: { requests: { storage: ELASTICSEARCH_STORAGE } },
                        },
                    },
                ],
                // Spread over zones and allocate shard copies across them.
                zoneAwareness: {},
            },
        ],
        // The log writer and its role (LOG_WRITER).
        auth: { roles: [{ secretName: LOG_WRITER.roleSecret }], fileRealm: [{ secretName: LOG_WRITER.userSecret }] },
        // podDisruptionBudget left unset: ECK's default PDB allows one node down, and only while
        // the cluster is green (so a drain never takes the last copy of a shard).
    };
}

/** Kibana, connected to the cluster by ECK (credentials and CA handled by the operator). */
export function kibanaSpec(): KibanaSpec {
    return {
        version: IMAGES.elasticStack.image,
        count: 1,
        elasticsearchRef: { name: LOGGING_NAMES.elasticsearch },
        podTemplate: {
            spec: {
                nodeSelector: onPool("management"),
                containers: [{ name: "kibana", resources: resources(["200m", "1"], ["1Gi", "2Gi"]) }],
            },
        },
    };
}

/** Elasticsearch's HTTPS service, by a name its ECK certificate carries. */
export function elasticsearchHost(namespace: string): string {
    return `${LOGGING_NAMES.elasticsearch}-es-http.${namespace}.svc`;
}

/** Kibana's HTTPS service, by a name its ECK certificate carries. */
function kibanaHost(namespace: string): string {
    return `${LOGGING_NAMES.kibana}-kb-http.${namespace}.svc`;
}

/**
 * The setup job's image: the Elasticsearch image ECK runs the nodes from (so already on the
 * management nodes, and no further image to pin); it has bash and curl (ECK's pre-stop hook uses both).
 */
export const LOGGING_SETUP_IMAGE = `docker.elastic.co/elasticsearch/elasticsearch:${IMAGES.elasticStack.image}`;
/** Name of the ILM policy and of the index template that applies it; id of the Kibana data view. */
export const LOG_RETENTION_POLICY = "aura-logs";
/** How long `pulumi up` waits for the setup job (the script gives up after 25 minutes). */
const SETUP_TIMEOUT = "30m";

/** What the setup job runs: logging-setup.sh (read from beside this file, as `pulumi up` runs it). */
export const LOGGING_SETUP_SCRIPT = fs.readFileSync(path.join(__dirname, "logging-setup.sh"), "utf8");

/** The setup job's pod: management pool, no API token, non-root with a read-only root filesystem. */
export function loggingSetupPod(args: { namespace: string; retentionDays: number }): k8s.types.input.core.v1.PodSpec {
    const es = LOGGING_NAMES.elasticsearch;
    return {
        restartPolicy: "Never",
        automountServiceAccountToken: false,
        nodeSelector: onPool("management"),
        // The image's elasticsearch user.
        securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
        containers: [
            {
                name: "setup",
                image: LOGGING_SETUP_IMAGE,
                command: ["bash", "-c", LOGGING_SETUP_SCRIPT],
                env: [
                    { name: "ES_URL", value: `https://${elasticsearchHost(args.namespace)}:9200` },
                    { name: "KIBANA_URL", value: `https://${kibanaHost(args.namespace)}:5601` },
                    { name: "ES_PASSWORD", valueFrom: { secretKeyRef: { name: `${es}-es-elastic-user`, key: "elastic" } } },
                    { name: "PREFIX", value: LOG_INDEX_PREFIX },
                    { name: "RETENTION_DAYS", value: String(args.retentionDays) },
                    { name: "POLICY", value: LOG_RETENTION_POLICY },
                ],
                resources: resources(["10m", "100m"], ["32Mi", "64Mi"]),
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
                volumeMounts: [
                    { name: "es-ca", mountPath: "/es-ca", readOnly: true },
                    { name: "kibana-ca", mountPath: "/kibana-ca", readOnly: true },
                ],
            },
        ],
        // ECK keeps each HTTP certificate's CA in these Secrets.
        volumes: [
            { name: "es-ca", secret: { secretName: `${es}-es-http-certs-public` } },
            { name: "kibana-ca", secret: { secretName: `${LOGGING_NAMES.kibana}-kb-http-certs-public` } },
        ],
    };
}

export class Logging extends pulumi.ComponentResource {
    /** The Elasticsearch custom resource. */
    readonly elasticsearch: k8s.apiextensions.CustomResource;

    constructor(name: string, args: SystemServiceArgs, opts: SystemServiceOptions) {
        super("aura:system:Logging", name, {}, opts);
        const { profile, namespace, storageClassName } = args;
        const child = childOptions(this, opts, args.dependsOn);

        const eck = pinnedChart(`${name}-eck-operator`, {
            chart: "eckOperator",
            release: "elastic-operator",
            namespace,
            values: {
                nodeSelector: onPool("management"),
                resources: resources(["100m", "1"], ["150Mi", "1Gi"]),
            },
        }, child);
        const afterEck = { ...child, dependsOn: [...args.dependsOn, eck] };

        // The aggregator's user and role, for ECK to load into Elasticsearch.
        const writerPassword = new random.RandomPassword(`${name}-log-writer-password`, { length: 32, special: false }, { parent: this });
        const writer = new k8s.core.v1.Secret(`${name}-log-writer`, {
            metadata: { name: LOG_WRITER.userSecret, namespace, labels: PLATFORM_LABELS },
            type: "kubernetes.io/basic-auth",
            stringData: { username: LOG_WRITER.user, password: writerPassword.result, roles: LOG_WRITER.role },
        }, child);
        const writerRole = new k8s.core.v1.Secret(`${name}-log-writer-role`, {
            metadata: { name: LOG_WRITER.roleSecret, namespace, labels: PLATFORM_LABELS },
            stringData: { "roles.yml": logWriterRoles() },
        }, child);

        this.elasticsearch = customResource<ElasticsearchSpec>(`${name}-elasticsearch`, {
            apiVersion: "elasticsearch.k8s.elastic.co/v1",
            kind: "Elasticsearch",
            metadata: { name: LOGGING_NAMES.elasticsearch, namespace },
            spec: elasticsearchSpec({ replicas: profile.system.elasticsearch.replicas, storageClassName }),
        }, { ...afterEck, dependsOn: [...afterEck.dependsOn, writer, writerRole] });

        const kibana = customResource<KibanaSpec>(`${name}-kibana`, {
            apiVersion: "kibana.k8s.elastic.co/v1",
            kind: "Kibana",
            metadata: { name: LOGGING_NAMES.kibana, namespace },
            spec: kibanaSpec(),
        }, afterEck);

        // Retention and the data view. A Job's pod template is immutable and a completed Job does
        // not run again: the object's name carries a hash of its pod, so a new retention (or image)
        // is a new Job, and an unchanged one is left alone.
        const setupPod = loggingSetupPod({ namespace, retentionDays: profile.system.elasticsearch.log_retention_days });
        const setupLabels = { app: "logging-setup", ...PLATFORM_LABELS };
        const backoffLimit = 2;
        const hash = crypto.createHash("sha256").update(JSON.stringify({ setupPod, backoffLimit })).digest("hex").slice(0, 8);
        new k8s.batch.v1.Job(`${name}-setup`, {
            metadata: {
                name: `logging-setup-${hash}`,
                namespace,
                labels: setupLabels,
                // A run that failed is replaced, i.e. run again, on the next `pulumi up`.
                annotations: { "pulumi.com/replaceUnready": "true" },
            },
            spec: {
                backoffLimit,
                // No ttlSecondsAfterFinished: a Job the cluster deleted would run again at the next refresh.
                template: { metadata: { labels: setupLabels }, spec: setupPod },
            },
        }, { ...child, dependsOn: [...args.dependsOn, this.elasticsearch, kibana], customTimeouts: { create: SETUP_TIMEOUT, update: SETUP_TIMEOUT } });

        // After Elasticsearch: its pods mount the Secrets ECK creates for the cluster.
        const aggregator = pinnedChart(`${name}-fluent-bit-aggregator`, {
            chart: "fluentBitAggregator",
            release: LOGGING_NAMES.aggregator,
            namespace,
            values: aggregatorValues({ replicas: profile.system.fluent_bit_aggregator.replicas, storageClassName, namespace }),
        }, { ...child, dependsOn: [...args.dependsOn, this.elasticsearch] });

        // The forward input takes any record it is sent: only aura-system (the per-node collectors,
        // Prometheus) reaches the aggregator. The chart's pods carry app.kubernetes.io/instance=<release>.
        namespaceOnlyIngress(`${name}-aggregator-ingress`, {
            namespace,
            policyName: "fluent-bit-aggregator-ingress",
            podLabels: { "app.kubernetes.io/instance": LOGGING_NAMES.aggregator },
        }, child);

        pinnedChart(`${name}-fluent-bit`, {
            chart: "fluentBitCollector",
            release: LOGGING_NAMES.collector,
            namespace,
            values: collectorValues({ namespace }),
        }, { ...child, dependsOn: [...args.dependsOn, aggregator] });

        this.registerOutputs({});
    }
}
