// The Azure cloud config: the JSON that cloud-provider-azure and the Azure Disk CSI driver read
// (the format of aks-engine's /etc/kubernetes/azure.json), kept as the Secret
// `kube-system/azure-cloud-provider` under the key `cloud-config` — never a file in custom data, so a
// service principal rotation is a Secret update and never touches a VM.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { keyedChecksum } from "../checksum";
import type { ClusterFacts } from "../infra";
import { PLATFORM_LABELS } from "./namespaces";

/** Where both readers look by default (cloud-provider-azure and azuredisk-csi-driver flags). */
export const CLOUD_CONFIG_SECRET = { name: "azure-cloud-provider", namespace: "kube-system", key: "cloud-config" } as const;

/** The facts, resolved. */
export type ResolvedFacts = { [K in Exclude<keyof ClusterFacts, "location">]: string } & { location: string };

/**
 * The cloud config. Field names are cloud-provider-azure's (pkg/provider/config/azure.go, auth_conf.go).
 * - vmType `vmss` serves the pools' scale sets and, since availability-set support stays on, the
 *   masters' standalone VMs.
 * - loadBalancerSku `standard` (basic is retired); the masters stay out of service load balancers.
 * - loadBalancerBackendPoolConfigurationType `nodeIP`: backend pools hold node IPs, so the cloud
 *   provider never edits a scale set's model (which `pulumi up` owns).
 * - no routeTableName: the CNI is an overlay, the cloud provider configures no routes.
 */
export function azureCloudConfig(f: ResolvedFacts): Record<string, unknown> {
    return {
        cloud: "AzurePublicCloud",
        tenantId: f.tenantId,
        subscriptionId: f.subscriptionId,
        aadClientId: f.clientId,
        aadClientSecret: f.clientSecret,
        useManagedIdentityExtension: false,
        resourceGroup: f.resourceGroup,
        location: f.location,
        vmType: "vmss",
        disableAvailabilitySetNodes: false,
        vnetName: f.vnetName,
        vnetResourceGroup: f.resourceGroup,
        subnetName: f.subnetName,
        securityGroupName: f.securityGroupName,
        securityGroupResourceGroup: f.resourceGroup,
        loadBalancerSku: "standard",
        loadBalancerBackendPoolConfigurationType: "nodeIP",
        excludeMasterFromStandardLB: true,
        useInstanceMetadata: true,
        cloudProviderBackoff: true,
        cloudProviderRateLimit: true,
    };
}

/** Resolves the facts (the client secret stays a secret). */
export function resolveFacts(facts: ClusterFacts): pulumi.Output<ResolvedFacts> {
    return pulumi.output(facts) as pulumi.Output<ResolvedFacts>;
}

export interface CloudConfigArgs {
    /** The cluster's Azure facts and service principal. */
    facts: ClusterFacts;
    /** Key of the checksum of the cloud config (components/checksum.ts). */
    checksumKey: pulumi.Input<string>;
    /** What the Secret waits for (the API gate). */
    dependsOn: pulumi.Input<pulumi.Resource>[];
}

/** The cloud config Secret. */
export class CloudConfig extends pulumi.ComponentResource {
    readonly secret: k8s.core.v1.Secret;
    /** Changes with the cloud config (credentials included): the pod annotation of its readers. */
    readonly checksum: pulumi.Output<string>;

    constructor(name: string, args: CloudConfigArgs, opts: pulumi.ComponentResourceOptions & { provider: k8s.Provider }) {
        super("aura:system:CloudConfig", name, {}, opts);
        const json = pulumi.secret(resolveFacts(args.facts).apply((f) => JSON.stringify(azureCloudConfig(f), null, 2)));
        this.secret = new k8s.core.v1.Secret(name, {
            metadata: {
                name: CLOUD_CONFIG_SECRET.name,
                namespace: CLOUD_CONFIG_SECRET.namespace,
                labels: { ...PLATFORM_LABELS },
            },
            type: "Opaque",
            stringData: { [CLOUD_CONFIG_SECRET.key]: json },
        }, { parent: this, provider: opts.provider, dependsOn: args.dependsOn });
        this.checksum = keyedChecksum(args.checksumKey, json);
        this.registerOutputs({});
    }
}
