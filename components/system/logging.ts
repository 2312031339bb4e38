// Logging in aura-system: Fluent Bit on every node tails the container logs of every namespace and
// adds Kubernetes metadata, forwards them to the `fluent-bit-aggregator` StatefulSet (persistent
// buffer), which writes them to Elasticsearch; Kibana reads them. Elasticsearch and Kibana run
// under the ECK operator.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { IMAGES, pinnedChart } from "./charts";
import type { ElasticsearchSpec, KibanaSpec } from "./crds";
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
/** The aggregator's forward input (the chart's default additional port). */
const FORWARD_PORT = 24224;

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
        // ECK keeps the `elastic` user's password and the HTTP CA in these Secrets.
        env: [{ name: "ES_PASSWORD", valueFrom: { secretKeyRef: { name: `${es}-es-elastic-user`, key: "elastic" } } }],
        extraVolumes: [{ name: "es-ca", secret: { secretName: `${es}-es-http-certs-public` } }],
        extraVolumeMounts: [{ name: "es-ca", mountPath: "/es-ca", readOnly: true }],
        config: {
            pipeline: {
                outputs: [
                    {
                        name: "es",
                        alias: "to-elasticsearch",
                        match: "*",
                        host: `${es}-es-http.${args.namespace}.svc.cluster.local`,
                        port: 9200,
                        http_user: "elastic",
                        http_passwd: "${ES_PASSWORD}",
                        tls: "on",
                        "tls.verify": "on",
                        "tls.ca_file": "/es-ca/ca.crt",
                        // Daily indices logs-YYYY.MM.DD: Kibana's data view is `logs-*`.
                        logstash_format: "on",
                        logstash_prefix: "logs",
                        // Label keys such as app.kubernetes.io/name would clash with object mappings.
                        replace_dots: "on",
                        suppress_type_name: "on",
                        retry_limit: "no_limits",
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

        this.elasticsearch = customResource<ElasticsearchSpec>(`${name}-elasticsearch`, {
            apiVersion: "elasticsearch.k8s.elastic.co/v1",
            kind: "Elasticsearch",
            metadata: { name: LOGGING_NAMES.elasticsearch, namespace },
            spec: elasticsearchSpec({ replicas: profile.system.elasticsearch.replicas, storageClassName }),
        }, afterEck);

        customResource<KibanaSpec>(`${name}-kibana`, {
            apiVersion: "kibana.k8s.elastic.co/v1",
            kind: "Kibana",
            metadata: { name: LOGGING_NAMES.kibana, namespace },
            spec: kibanaSpec(),
        }, afterEck);

        // After Elasticsearch: its pods mount the Secrets ECK creates for the cluster.
        const aggregator = pinnedChart(`${name}-fluent-bit-aggregator`, {
            chart: "fluentBitAggregator",
            release: LOGGING_NAMES.aggregator,
            namespace,
            values: aggregatorValues({ replicas: profile.system.fluent_bit_aggregator.replicas, storageClassName, namespace }),
        }, { ...child, dependsOn: [...args.dependsOn, this.elasticsearch] });

        pinnedChart(`${name}-fluent-bit`, {
            chart: "fluentBitCollector",
            release: LOGGING_NAMES.collector,
            namespace,
            values: collectorValues({ namespace }),
        }, { ...child, dependsOn: [...args.dependsOn, aggregator] });

        this.registerOutputs({});
    }
}
