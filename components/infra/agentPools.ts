// Agent pools: one VM scale set per `<pool>_nodes` entry of the profile. The cluster-autoscaler owns
// the capacity (pulumi up never resets it), and a change of instance type rolls instance by instance.
import * as pulumi from "@pulumi/pulumi";
import * as compute from "@pulumi/azure-native/compute";
import type { AgentPool } from "../../profiles";
import { encodeCustomData, renderAgentCloudInit } from "./cloudinit";
import { ADMIN_USERNAME, NODE_OS_DISK, UBUNTU_IMAGE, linuxConfiguration } from "./controlPlane";
import { computerNamePrefix, scaleSetName } from "./names";

/** The kubelet's local health endpoint: the scale set's health signal for rolling upgrades. */
export const KUBELET_HEALTHZ = { protocol: "http", port: 10248, requestPath: "/healthz" };

/** Tags that cluster-autoscaler's Azure auto-discovery reads, plus the pool name. */
export function autoscalerTags(clusterName: string, pool: AgentPool): Record<string, string> {
    return {
        poolName: pool.name,
        "k8s.io_cluster-autoscaler_enabled": "true",
        [`k8s.io_cluster-autoscaler_${clusterName}`]: "owned",
        min: String(pool.minSize),
        max: String(pool.maxSize),
    };
}

export interface AgentPoolsArgs {
    resourceGroupName: pulumi.Input<string>;
    location: string;
    environment: string;
    clusterName: string;
    pools: AgentPool[];
    zones: string[];
    subnetId: pulumi.Input<string>;
    kubernetesVersion: string;
    podCidr: string;
    serviceCidr: string;
    apiServerHost: pulumi.Input<string>;
    apiServerPort: number;
    /** Private address of the internal API load balancer: agents reach the API inside the VNet. */
    apiServerInternalIp: pulumi.Input<string>;
    caCertHash: pulumi.Input<string>;
    /** Where agents fetch the current join token, with an identity that can read only that. */
    joinToken: {
        blobEndpoint: pulumi.Input<string>;
        identityId: pulumi.Input<string>;
        identityClientId: pulumi.Input<string>;
    };
    sshPublicKey: string;
    tags: Record<string, string>;
}

/** What the system stage and the stack outputs need of each pool. */
export interface PoolInfo {
    name: string;
    scaleSetName: string;
    minSize: number;
    maxSize: number;
    vmSize: string;
}

export class AgentPools extends pulumi.ComponentResource {
    readonly scaleSets: Record<string, compute.VirtualMachineScaleSet> = {};
    readonly pools: PoolInfo[];

    constructor(name: string, args: AgentPoolsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aura:infra:AgentPools", name, {}, opts);
        const { resourceGroupName, location } = args;

        this.pools = args.pools.map((pool) => {
            const vmssName = scaleSetName(args.environment, pool.name);
            // No secret in the model: instances fetch the current join token at boot, so a token
            // rotation never changes the scale set.
            const customData = pulumi
                .all([args.apiServerHost, args.apiServerInternalIp, args.caCertHash, args.joinToken.blobEndpoint, args.joinToken.identityClientId])
                .apply(([apiServerHost, apiServerInternalIp, caCertHash, blobEndpoint, identityClientId]) =>
                    encodeCustomData(
                        renderAgentCloudInit({
                            clusterName: args.clusterName,
                            kubernetesVersion: args.kubernetesVersion,
                            apiServerHost,
                            apiServerPort: args.apiServerPort,
                            apiServerInternalIp,
                            podCidr: args.podCidr,
                            serviceCidr: args.serviceCidr,
                            pool: pool.name,
                            caCertHash,
                            metadata: { blobEndpoint, identityClientId },
                        }),
                    ),
                );

            this.scaleSets[pool.name] = new compute.VirtualMachineScaleSet(vmssName, {
                resourceGroupName,
                location,
                vmScaleSetName: vmssName,
                zones: args.zones,
                identity: { type: "UserAssigned", userAssignedIdentities: [args.joinToken.identityId] },
                sku: { name: pool.vmSize, tier: "Standard", capacity: pool.minSize },
                orchestrationMode: "Uniform",
                overprovision: false,
                singlePlacementGroup: false,
                zoneBalance: false,
                upgradePolicy: {
                    mode: "Rolling",
                    rollingUpgradePolicy: {
                        maxBatchInstancePercent: 20,
                        maxUnhealthyInstancePercent: 20,
                        maxUnhealthyUpgradedInstancePercent: 20,
                        pauseTimeBetweenBatches: "PT2M",
                        prioritizeUnhealthyInstances: true,
                    },
                },
                virtualMachineProfile: {
                    osProfile: {
                        computerNamePrefix: computerNamePrefix(args.environment, pool.name),
                        adminUsername: ADMIN_USERNAME,
                        customData,
                        linuxConfiguration: linuxConfiguration(args.sshPublicKey),
                    },
                    storageProfile: {
                        imageReference: UBUNTU_IMAGE,
                        osDisk: NODE_OS_DISK,
                    },
                    networkProfile: {
                        networkInterfaceConfigurations: [{
                            name: `${vmssName}-nic`,
                            primary: true,
                            enableIPForwarding: true,
                            ipConfigurations: [{ name: "ipconfig1", primary: true, subnet: { id: args.subnetId } }],
                        }],
                    },
                    // Rolling upgrades need a health signal: the kubelet's health endpoint, probed
                    // from inside each instance by the Application Health extension.
                    extensionProfile: {
                        extensions: [{
                            name: "kubelet-health",
                            publisher: "Microsoft.ManagedServices",
                            type: "ApplicationHealthLinux",
                            typeHandlerVersion: "1.0",
                            autoUpgradeMinorVersion: true,
                            settings: KUBELET_HEALTHZ,
                        }],
                    },
                },
                tags: { ...args.tags, ...autoscalerTags(args.clusterName, pool) },
            }, {
                parent: this,
                // The cluster-autoscaler owns the capacity: pulumi up never sets it back.
                ignoreChanges: ["sku.capacity"],
            });

            return { name: pool.name, scaleSetName: vmssName, minSize: pool.minSize, maxSize: pool.maxSize, vmSize: pool.vmSize };
        });

        this.registerOutputs({ pools: this.pools });
    }
}
