// The system stage (Kubernetes), replacing the first half of `./aura deploy_system`: the Kubernetes
// provider, the API readiness gate, the namespaces, the CNI, the Azure cloud provider, disks,
// the cluster-autoscaler, metrics-server and per-user access.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Profile } from "../../profiles";
import { createChecksumKey } from "../checksum";
import type { PoolInfo } from "../infra/agentPools";
import { BOOTSTRAP_LOG_PATH } from "../infra/cloudinit";
import type { ClusterFacts } from "../infra";
import type { DatabaseReady } from "../core/workload";
import { Access } from "./access";
import { ApiGate } from "./apiGate";
import { ClusterAutoscaler } from "./autoscaler";
import { CloudConfig } from "./cloudConfig";
import { CloudProvider } from "./cloudProvider";
import { Cni } from "./cni";
import { DATABASE_SECRET_NAMES, Databases } from "./databases";
import { Logging } from "./logging";
import { MetricsServer } from "./metricsServer";
import { Monitoring } from "./monitoring";
import { ACCESS_NAMESPACE, Namespaces } from "./namespaces";
import { Storage } from "./storage";

export { DEFAULT_API_READY_TIMEOUT_MINUTES, parseApiReadyTimeout } from "./apiGate";
export { ALERT_WEBHOOK_KEY, readAlertWebhook } from "./alerting";

/** The default StorageClass (Azure Disk CSI, Premium SSD, WaitForFirstConsumer). */
export const STORAGE_CLASS_NAME = "aura-disk";

/** Database credential Secrets in the core namespace (created by the databases component). */
export const DATABASE_SECRETS = DATABASE_SECRET_NAMES;

export interface SystemStageArgs {
    /** The validated deployment profile. */
    profile: Profile;
    /** Admin kubeconfig from the infra stage (secret); the Kubernetes provider is built from it. */
    kubeconfig: pulumi.Input<string>;
    /** Tenant, subscription, network names, CA, API URL and service principal of the cluster. */
    cluster: ClusterFacts;
    /** The agent scale sets (infra stage), one autoscaler node group each. */
    pools: PoolInfo[];
    /** Bounded wait for the API server, in minutes (stack config `aura:apiReadyTimeoutMinutes`). */
    apiReadyTimeoutMinutes: number;
    /** Where Alertmanager sends alerts (stack secret `aura:alertWebhookUrl`); none when undefined. */
    alertWebhookUrl?: pulumi.Output<string>;
}

export class SystemStage extends pulumi.ComponentResource {
    /** The one Kubernetes provider, built from the infra stage's admin kubeconfig (secret). */
    readonly provider: k8s.Provider;
    /** Namespace of the core services, `aura-<environment>` (profile.namespaces.core). */
    readonly coreNamespace: string;
    /** Namespace of the system services, `aura-system` (profile.namespaces.system). */
    readonly systemNamespace: string;
    /** What every workload waits for: API gate, CNI, cloud provider, CSI + StorageClass, namespaces.
     *  Pass it as `dependsOn` of every workload resource (or of a component AND its children). */
    readonly foundation: pulumi.Resource[];
    /** Name of the default StorageClass (Azure Disk CSI, WaitForFirstConsumer). */
    readonly storageClassName: string;
    /** Secrets with database credentials in the core namespace: keys HOST, PORT, USERNAME, PASSWORD, DATABASE, URI. */
    readonly databaseSecrets: { postgresql: string; mongodb: string };
    /** The passwords in them (secret). */
    readonly databasePasswords: { postgresql: pulumi.Output<string>; mongodb: pulumi.Output<string> };
    /** What a workload that connects to each database waits for (its credential Secret, the database ready). */
    readonly databaseReady: DatabaseReady;
    /** The API readiness gate every Kubernetes object depends on. */
    readonly gate: ApiGate;
    /** Kubeconfig per `access.users` name (each a secret): stack output `kubeconfigs`. */
    readonly kubeconfigs: Record<string, pulumi.Output<string>>;

    constructor(name: string, args: SystemStageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aura:system:SystemStage", name, {}, opts);
        const { profile, cluster } = args;
        this.coreNamespace = profile.namespaces.core;
        this.systemNamespace = profile.namespaces.system;

        // Children do not inherit the stage's dependsOn: the gate waits for the infra stage itself,
        // so its timeout starts once the masters exist.
        this.gate = new ApiGate(`${name}-api-gate`, {
            url: cluster.apiServerUrl,
            caPem: cluster.caCertPem,
            timeoutMinutes: args.apiReadyTimeoutMinutes,
            bootLog: BOOTSTRAP_LOG_PATH,
        }, { parent: this, dependsOn: opts?.dependsOn });
        const gate = [this.gate];

        this.provider = new k8s.Provider(`${name}-k8s`, {
            kubeconfig: args.kubeconfig,
            enableServerSideApply: true,
        }, { parent: this, dependsOn: gate });
        const k8sOpts = { parent: this, provider: this.provider };

        const namespaces = new Namespaces(`${name}-ns`, {
            core: this.coreNamespace,
            system: this.systemNamespace,
            environment: profile.environment,
            dependsOn: gate,
        }, k8sOpts);

        // The order that lets nodes become Ready: CNI, then the cloud provider (its node manager
        // clears the `uninitialized` taint), then disks; everything else waits for all three.
        const network = profile.infrastructure.network;
        // Key of the checksum annotations that restart the pods reading the credentials.
        const checksumKey = createChecksumKey(`${name}-checksum-key`, { parent: this });
        const cloudConfig = new CloudConfig(`${name}-cloud-config`, { facts: cluster, checksumKey, dependsOn: gate }, k8sOpts);
        const cni = new Cni(`${name}-cni`, { podCidr: network.pod_cidr, dependsOn: gate }, k8sOpts);
        const cloudProvider = new CloudProvider(`${name}-cloud-provider`, {
            clusterName: name,
            podCidr: network.pod_cidr,
            dependsOn: [this.gate, cloudConfig, cni],
        }, k8sOpts);
        this.storageClassName = STORAGE_CLASS_NAME;
        const storage = new Storage(`${name}-storage`, {
            storageClassName: this.storageClassName,
            cloudConfigChecksum: cloudConfig.checksum,
            dependsOn: [this.gate, cloudConfig, cni, cloudProvider],
        }, k8sOpts);
        this.foundation = [this.gate, namespaces, cni, cloudProvider, storage];

        new ClusterAutoscaler(`${name}-autoscaler`, { facts: cluster, pools: args.pools, kubernetesVersion: args.profile.kubernetes.version, checksumKey, dependsOn: this.foundation }, k8sOpts);
        new MetricsServer(`${name}-metrics-server`, {
            environment: profile.environment,
            nodeSubnets: [network.masters_subnet, network.agents_subnet],
            dependsOn: this.foundation,
        }, k8sOpts);

        const access = new Access(`${name}-access`, {
            users: profile.access.users,
            defaultNamespace: this.coreNamespace,
            accountNamespace: ACCESS_NAMESPACE,
            clusterName: name,
            server: cluster.apiServerUrl,
            caCertPem: cluster.caCertPem,
            dependsOn: [this.gate, namespaces],
        }, k8sOpts);
        this.kubeconfigs = access.kubeconfigs;

        // The system services: each Kubernetes object in them waits for the foundation.
        const services = {
            profile,
            namespace: this.systemNamespace,
            coreNamespace: this.coreNamespace,
            storageClassName: this.storageClassName,
            dependsOn: this.foundation,
        };
        new Monitoring(`${name}-monitoring`, { ...services, alertWebhookUrl: args.alertWebhookUrl }, k8sOpts);
        new Logging(`${name}-logging`, services, k8sOpts);
        const databases = new Databases(`${name}-databases`, services, k8sOpts);
        this.databaseSecrets = databases.secrets;
        this.databasePasswords = databases.passwords;
        this.databaseReady = databases.ready;

        this.registerOutputs({ coreNamespace: this.coreNamespace, systemNamespace: this.systemNamespace, storageClassName: this.storageClassName });
    }
}
