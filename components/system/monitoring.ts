// Monitoring in aura-system: kube-prometheus-stack (Prometheus Operator, Prometheus, Alertmanager,
// node-exporter, kube-state-metrics, Grafana with its node and pod dashboards), the Grafana admin
// credential, and the PodMonitor through which Prometheus scrapes the core services.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { CONTROL_PLANE_METRICS_PORTS } from "../infra/cloudinit";
import { ALERT_WEBHOOK_SECRET, alertWebhookValues } from "./alerting";
import { pinnedChart } from "./charts";
import type { PodMonitorSpec } from "./crds";
import { PLATFORM_LABELS, namespaceOnlyIngress } from "./namespaces";
import {
    SystemServiceArgs,
    SystemServiceOptions,
    TOLERATE_ALL,
    childOptions,
    customResource,
    onPool,
    resources,
    zoneSpread,
} from "./workloads";

/** Helm release name and name prefix: StatefulSets `prometheus-monitoring`, `alertmanager-monitoring`. */
export const MONITORING_RELEASE = "monitoring";

/** Sizes and retention the seed does not give; sized for a few weeks of a small cluster. */
const PROMETHEUS_STORAGE = "50Gi";
const PROMETHEUS_RETENTION = "15d";
const PROMETHEUS_RETENTION_SIZE = "45GB";
const ALERTMANAGER_STORAGE = "2Gi";
/** A core service container port with this name is scraped (path /metrics). */
export const METRICS_PORT_NAME = "metrics";

/** The kube-prometheus-stack values: everything the profile and the platform decide. */
export function monitoringValues(args: {
    prometheusReplicas: number;
    alertmanagerReplicas: number;
    kubeStateMetricsReplicas: number;
    storageClassName: string;
    grafanaAdminSecret: string;
    /** The release's namespace (aura-system): the only one Grafana's sidecars read. */
    namespace: string;
    /** Route alerts to the webhook in the Secret ALERT_WEBHOOK_SECRET (components/system/alerting.ts). */
    alertWebhook?: boolean;
}): Record<string, unknown> {
    const management = onPool("management");
    const webhook = args.alertWebhook ? alertWebhookValues() : undefined;
    const claim = (size: string) => ({
        volumeClaimTemplate: {
            spec: { storageClassName: args.storageClassName, accessModes: ["ReadWriteOnce"], resources: { requests: { storage: size } } },
        },
    });
    return {
        fullnameOverride: MONITORING_RELEASE,
        // Custom resources named like the release (`prometheus-monitoring`, not `…-prometheus-prometheus`).
        cleanPrometheusOperatorObjectNames: true,
        // The chart ships the prometheus-operator CRDs in its `crds` subchart's crds/ folder. Helm never
        // upgrades crds/, but helm.v4.Chart renders them (skipCrds unset) and Pulumi manages them as
        // ordinary objects with server-side apply (the provider enables it), so a chart bump here
        // updates the CRDs in the same `pulumi up`. The chart's hook-based upgrade job stays off:
        // helm.v4.Chart omits hooks.
        crds: { enabled: true, upgradeJob: { enabled: false } },
        prometheusOperator: {
            nodeSelector: management,
            resources: resources(["100m", "500m"], ["128Mi", "512Mi"]),
            // The admission webhook's certificate Secret is made by Helm hook Jobs, which helm.v4.Chart
            // omits: with the webhook or the operator's TLS on, the operator pod would wait forever
            // for that Secret. Rules are validated by Prometheus itself on reload instead.
            admissionWebhooks: { enabled: false },
            tls: { enabled: false },
            // The config reloader sidecar of every Prometheus and Alertmanager pod.
            prometheusConfigReloader: { resources: resources(["10m", "100m"], ["32Mi", "64Mi"]) },
        },
        prometheus: {
            prometheusSpec: {
                replicas: args.prometheusReplicas,
                retention: PROMETHEUS_RETENTION,
                // Whichever comes first: a busy cluster must not fill the volume before 15 days
                // (a full volume stops ingestion). About 85% of PROMETHEUS_STORAGE, WAL included.
                retentionSize: PROMETHEUS_RETENTION_SIZE,
                storageSpec: claim(PROMETHEUS_STORAGE),
                nodeSelector: management,
                resources: resources(["500m", "2"], ["2Gi", "4Gi"]),
                podAntiAffinity: "hard",
                podAntiAffinityTopologyKey: "kubernetes.io/hostname",
                topologySpreadConstraints: zoneSpread({ "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": MONITORING_RELEASE }),
                // Discover every ServiceMonitor/PodMonitor/rule in every namespace, not only those
                // labelled with this release: the core services' monitors are found too.
                serviceMonitorSelectorNilUsesHelmValues: false,
                podMonitorSelectorNilUsesHelmValues: false,
                ruleSelectorNilUsesHelmValues: false,
                probeSelectorNilUsesHelmValues: false,
                scrapeConfigSelectorNilUsesHelmValues: false,
            },
            // Each replica holds all metrics: keep all but one up during node drains.
            podDisruptionBudget: { enabled: true, minAvailable: Math.max(1, args.prometheusReplicas - 1) },
        },
        alertmanager: {
            ...(webhook && { config: webhook.config }),
            alertmanagerSpec: {
                ...webhook?.alertmanagerSpec,
                // Two or more replicas form one gossip cluster (the operator wires the peers).
                replicas: args.alertmanagerReplicas,
                storage: claim(ALERTMANAGER_STORAGE),
                nodeSelector: management,
                resources: resources(["50m", "200m"], ["64Mi", "256Mi"]),
                podAntiAffinity: "hard",
                podAntiAffinityTopologyKey: "kubernetes.io/hostname",
                topologySpreadConstraints: zoneSpread({ "app.kubernetes.io/name": "alertmanager", "app.kubernetes.io/instance": MONITORING_RELEASE }),
            },
            // The gossip cluster keeps notifying while all but one replica are up. A single replica
            // gets no budget: one that keeps it up would block every drain of its node.
            podDisruptionBudget: args.alertmanagerReplicas > 1
                ? { enabled: true, minAvailable: args.alertmanagerReplicas - 1 }
                : { enabled: false },
        },
        // The control plane, scraped where the kubeadm configuration serves its metrics
        // (CONTROL_PLANE_METRICS_PORTS). Stated rather than left to the chart, which guesses from
        // the Kubernetes version it sees. The controller manager and scheduler use self-signed
        // serving certificates (no CA to verify) and authorise Prometheus' token; etcd's and
        // kube-proxy's listeners are plain HTTP and get no token.
        kubeControllerManager: {
            service: { port: CONTROL_PLANE_METRICS_PORTS.controllerManager, targetPort: CONTROL_PLANE_METRICS_PORTS.controllerManager },
            serviceMonitor: { https: true, insecureSkipVerify: true },
        },
        kubeScheduler: {
            service: { port: CONTROL_PLANE_METRICS_PORTS.scheduler, targetPort: CONTROL_PLANE_METRICS_PORTS.scheduler },
            serviceMonitor: { https: true, insecureSkipVerify: true },
        },
        kubeEtcd: {
            service: { port: CONTROL_PLANE_METRICS_PORTS.etcd, targetPort: CONTROL_PLANE_METRICS_PORTS.etcd },
            serviceMonitor: { scheme: "http", bearerTokenFile: "" },
        },
        kubeProxy: {
            service: { port: CONTROL_PLANE_METRICS_PORTS.kubeProxy, targetPort: CONTROL_PLANE_METRICS_PORTS.kubeProxy },
            serviceMonitor: { https: false, bearerTokenFile: "" },
        },
        "kube-state-metrics": {
            // Exactly one: a second replica duplicates every metric (profile rule).
            replicas: args.kubeStateMetricsReplicas,
            nodeSelector: management,
            resources: resources(["50m", "200m"], ["128Mi", "256Mi"]),
            // No metrics of Secrets: the collector needs list/watch on every Secret of the cluster
            // (chart 8.4.0 grants it only for an active "secrets" collector, templates/role.yaml).
            collectorsExclude: ["secrets"],
        },
        "prometheus-node-exporter": {
            // Every node, masters included: the seed's node-exporter figures.
            tolerations: TOLERATE_ALL,
            resources: resources(["10m", "50m"], ["24Mi", "32Mi"]),
        },
        grafana: {
            // Ships the node (Node Exporter / Nodes) and pod (Compute Resources / Pod) dashboards
            // the runbook sends operators to, provisioned by the dashboard sidecar.
            defaultDashboardsEnabled: true,
            admin: { existingSecret: args.grafanaAdminSecret, userKey: "admin-user", passwordKey: "admin-password" },
            nodeSelector: management,
            resources: resources(["100m", "500m"], ["128Mi", "512Mi"]),
            // Grafana reads its dashboards and datasources from ConfigMaps in its own namespace only
            // (the chart's all live there), through GRAFANA_ROLE: not the chart's default ClusterRole
            // (every Secret of the cluster), nor its namespaced Role (every Secret of aura-system).
            rbac: { namespaced: true, useExistingRole: GRAFANA_ROLE },
            sidecar: {
                resources: resources(["20m", "100m"], ["64Mi", "128Mi"]),
                dashboards: { searchNamespace: args.namespace, resource: "configmap" },
                datasources: { searchNamespace: args.namespace, resource: "configmap" },
            },
        },
    };
}

/** The Role Grafana's sidecars use: read ConfigMaps in aura-system, nothing else. */
export const GRAFANA_ROLE = "grafana-configmap-reader";

export class Monitoring extends pulumi.ComponentResource {
    /** The kube-prometheus-stack release. */
    readonly chart: k8s.helm.v4.Chart;
    /** Name of the Secret with Grafana's admin user and password (keys admin-user, admin-password). */
    readonly grafanaAdminSecret: string;

    constructor(name: string, args: SystemServiceArgs & { alertWebhookUrl?: pulumi.Output<string> }, opts: SystemServiceOptions) {
        super("aura:system:Monitoring", name, {}, opts);
        const { profile, namespace } = args;
        const child = childOptions(this, opts, args.dependsOn);

        // Not the chart's well-known default password: one generated and kept in Pulumi state.
        this.grafanaAdminSecret = "grafana-admin";
        const grafanaPassword = new random.RandomPassword(`${name}-grafana-admin-password`, { length: 32, special: false }, { parent: this });
        const adminSecret = new k8s.core.v1.Secret(`${name}-grafana-admin`, {
            metadata: { name: this.grafanaAdminSecret, namespace },
            type: "Opaque",
            stringData: { "admin-user": "admin", "admin-password": grafanaPassword.result },
        }, child);

        // What the chart's RoleBinding gives Grafana (rbac.useExistingRole).
        const grafanaRole = new k8s.rbac.v1.Role(`${name}-grafana-role`, {
            metadata: { name: GRAFANA_ROLE, namespace, labels: PLATFORM_LABELS },
            rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }],
        }, child);

        // The alert webhook's URL (stack secret aura:alertWebhookUrl), for the Alertmanager pods to mount.
        const alertSecret = args.alertWebhookUrl === undefined ? [] : [new k8s.core.v1.Secret(`${name}-alert-webhook`, {
            metadata: { name: ALERT_WEBHOOK_SECRET, namespace, labels: PLATFORM_LABELS },
            type: "Opaque",
            stringData: { url: args.alertWebhookUrl },
        }, child)];

        this.chart = pinnedChart(`${name}-kube-prometheus-stack`, {
            chart: "kubePrometheusStack",
            release: MONITORING_RELEASE,
            namespace,
            values: monitoringValues({
                prometheusReplicas: profile.system.prometheus.replicas,
                alertmanagerReplicas: profile.system.alertmanager.replicas,
                kubeStateMetricsReplicas: profile.system.kube_state_metrics.replicas,
                storageClassName: args.storageClassName,
                grafanaAdminSecret: this.grafanaAdminSecret,
                namespace,
                alertWebhook: args.alertWebhookUrl !== undefined,
            }),
        }, { ...child, dependsOn: [...args.dependsOn, adminSecret, grafanaRole, ...alertSecret] });

        // Alertmanager's API silences alerts without asking who: only aura-system (Prometheus, Grafana,
        // the other Alertmanagers) reaches it. Prometheus's API answers any query about the cluster
        // likewise: only aura-system (Grafana, Prometheus itself) reaches it. The operator labels its
        // pods app.kubernetes.io/name=alertmanager and =prometheus.
        // kube-state-metrics likewise: an inventory of every object of the cluster (chart 8.4.0's
        // selector label app.kubernetes.io/name=kube-state-metrics), for aura-system's pods (Prometheus).
        for (const app of ["alertmanager", "prometheus", "kube-state-metrics"]) {
            namespaceOnlyIngress(`${name}-${app}-ingress`, {
                namespace,
                policyName: `${app}-ingress`,
                podLabels: { "app.kubernetes.io/name": app },
            }, child);
        }

        // The core services: any pod with an `app` label in aura-<env> that names a container port
        // `metrics` is scraped; pods without one give no target. Lives here, next to Prometheus.
        customResource<PodMonitorSpec>(`${name}-core-services`, {
            apiVersion: "monitoring.coreos.com/v1",
            kind: "PodMonitor",
            metadata: { name: "core-services", namespace },
            spec: {
                selector: { matchExpressions: [{ key: "app", operator: "Exists" }] },
                namespaceSelector: { matchNames: [args.coreNamespace] },
                podMetricsEndpoints: [{ port: METRICS_PORT_NAME, path: "/metrics" }],
                podTargetLabels: ["app"],
            },
        }, { ...child, dependsOn: [...args.dependsOn, this.chart] });

        this.registerOutputs({ grafanaAdminSecret: this.grafanaAdminSecret });
    }
}
