// Agent pools: per `<pool>_nodes` entry of the profile, one VM scale set per availability zone (one
// scale set in a region without zones). Zonal scale sets let the cluster-autoscaler add a node in the
// zone where a pending pod's disk lives (stateful pools: database, management) and give each zone its
// own subnet and NAT gateway; `--balance-similar-node-groups` keeps the zones level.
// A later `pulumi up` keeps what other controllers own on a running scale set: the capacity (the
// autoscaler) and the load-balancer backend pools (cloud-provider-azure). A change of instance type
// rolls instance by instance.
import * as pulumi from "@pulumi/pulumi";
import * as compute from "@pulumi/azure-native/compute";
import type { AgentPool } from "../../profiles";
import { encodeCustomData, renderAgentCloudInit } from "./cloudinit";
import { ADMIN_USERNAME, NODE_OS_DISK, UBUNTU_IMAGE, linuxConfiguration } from "./controlPlane";
import { computerNamePrefix, scaleSetName } from "./names";
import { SSH_ACCESS_EXTENSION, scaleSetCapacity, splitOverZones, sshAccessSettings, supportsAcceleratedNetworking } from "./nodes";

/** The kubelet's local health endpoint: the scale set's health signal for rolling upgrades. */
export const KUBELET_HEALTHZ = { protocol: "http", port: 10248, requestPath: "/healthz" };

/** Marks a scale set whose capacity the program reads back from the live scale set (not `ignoreChanges`). */
export const CAPACITY_TAG = { "aura-capacity": "live" };

/** Tags that cluster-autoscaler's Azure auto-discovery reads (bounds of this scale set), plus the pool name. */
export function autoscalerTags(clusterName: string, pool: string, bounds: { minSize: number; maxSize: number }): Record<string, string> {
    return {
        poolName: pool,
        "k8s.io_cluster-autoscaler_enabled": "true",
        [`k8s.io_cluster-autoscaler_${clusterName}`]: "owned",
        min: String(bounds.minSize),
        max: String(bounds.maxSize),
    };
}

export interface AgentPoolsArgs {
    /** Resource group of the scale sets. */
    resourceGroupName: pulumi.Input<string>;
    location: string;
    environment: string;
    clusterName: string;
    /** The profile's pools. */
    pools: AgentPool[];
    /** Availability zones; [] in a region without zones. */
    zones: string[];
    /** Agents subnet per zone, in the order of `zones` (one subnet when there are no zones). */
    subnetIds: pulumi.Input<string>[];
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
    /**
     * Scale sets the last deployment reported (stack output `pools`): each must exist. Every scale set
     * is read before the update; one not listed may exist too (see readScaleSet).
     */
    deployedScaleSets: string[];
    /** Known once the control plane is done: the live reads wait for it, so that they happen just before the update. */
    readAfter: pulumi.Output<unknown>;
    tags: Record<string, string>;
}

/**
 * One entry per scale set: what the system stage (cluster-autoscaler node groups) and the stack
 * outputs need. The min/max of a pool's entries add up to the profile's.
 */
export interface PoolInfo {
    /** The pool (`agentpool` label), shared by its zonal scale sets. */
    name: string;
    /** The zone of this scale set; absent in a region without zones. */
    zone?: string;
    scaleSetName: string;
    minSize: number;
    maxSize: number;
    vmSize: string;
}

export class AgentPools extends pulumi.ComponentResource {
    /** By scale set name. */
    readonly scaleSets: Record<string, compute.VirtualMachineScaleSet> = {};
    readonly pools: PoolInfo[];

    constructor(name: string, args: AgentPoolsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aura:infra:AgentPools", name, {}, opts);
        const { resourceGroupName, location } = args;
        const deployed = new Set(args.deployedScaleSets);
        const zones: Array<string | undefined> = args.zones.length ? args.zones : [undefined];

        // One boot document per pool, shared by its zonal scale sets (nothing in it depends on the
        // zone). No secret in it: instances fetch the current join token at boot, so a token
        // rotation never changes a scale set.
        const bootDocument = (pool: string): pulumi.Output<string> =>
            pulumi
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
                            pool,
                            caCertHash,
                            metadata: { blobEndpoint, identityClientId },
                        }),
                    ),
                );

        const documents = new Map(args.pools.map((pool) => [pool.name, bootDocument(pool.name)]));

        this.pools = args.pools.flatMap((pool) => {
            const bounds = splitOverZones(pool.minSize, pool.maxSize, zones.length);
            // A zone whose share of max_size is 0 gets no scale set (the autoscaler needs max ≥ 1).
            return zones.flatMap((zone, i) => (bounds[i].maxSize > 0 ? [{ pool, zone, subnetId: args.subnetIds[i], ...bounds[i] }] : []));
        }).map(({ pool, zone, subnetId, minSize, maxSize }) => {
            const vmssName = scaleSetName(args.environment, pool.name, zone);
            const customData = documents.get(pool.name)!;

            // azure-native updates a scale set with a full PUT of the program's inputs, and
            // `ignoreChanges` would send the last *state* input (stale unless refreshed). So the
            // program reads the live scale set, as late as it can (after the control plane), and sends
            // back what others own: the capacity (cluster-autoscaler) and the backend pools
            // (cloud-provider-azure adds them for Services of type LoadBalancer). `refresh: always`
            // in Pulumi.yaml keeps the preview free of these diffs; this read is what makes the
            // update safe even without a refresh. A scale set Azure does not have is new: it starts
            // at min_size with no backend pools.
            const live = pulumi
                .all([resourceGroupName, args.readAfter])
                .apply(([rg]) => readScaleSet(rg, vmssName, deployed.has(vmssName), this));
            const capacity = live.apply((vmss) => scaleSetCapacity(vmss?.sku?.capacity, minSize));
            const backendPools = live.apply((vmss) => (vmss ? liveBackendPools(vmss) : []));

            this.scaleSets[vmssName] = new compute.VirtualMachineScaleSet(vmssName, {
                resourceGroupName,
                location,
                vmScaleSetName: vmssName,
                zones: zone ? [zone] : undefined,
                identity: { type: "UserAssigned", userAssignedIdentities: [args.joinToken.identityId] },
                sku: { name: pool.vmSize, tier: "Standard", capacity },
                orchestrationMode: "Uniform",
                overprovision: false,
                singlePlacementGroup: false,
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
                        computerNamePrefix: computerNamePrefix(args.environment, pool.name, zone),
                        adminUsername: ADMIN_USERNAME,
                        customData,
                        // A scale set's model may change: new instances get the new key here,
                        // running ones through the VMAccess extension below at their rolling upgrade.
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
                            enableAcceleratedNetworking: supportsAcceleratedNetworking(pool.vmSize),
                            ipConfigurations: [{
                                name: "ipconfig1",
                                primary: true,
                                subnet: { id: subnetId },
                                loadBalancerBackendAddressPools: backendPools,
                            }],
                        }],
                    },
                    extensionProfile: {
                        extensions: [
                            // Rolling upgrades need a health signal: the kubelet's health endpoint,
                            // probed from inside each instance by the Application Health extension.
                            {
                                name: "kubelet-health",
                                publisher: "Microsoft.ManagedServices",
                                type: "ApplicationHealthLinux",
                                typeHandlerVersion: "1.0",
                                autoUpgradeMinorVersion: true,
                                settings: KUBELET_HEALTHZ,
                            },
                            { name: "ssh-access", ...SSH_ACCESS_EXTENSION, protectedSettings: sshAccessSettings(ADMIN_USERNAME, args.sshPublicKey) },
                        ],
                    },
                },
                // CAPACITY_TAG tells the policy pack (policy/) that the capacity sent is the live one.
                tags: { ...args.tags, ...autoscalerTags(args.clusterName, pool.name, { minSize, maxSize }), ...CAPACITY_TAG, ...(zone ? { zone } : {}) },
            }, { parent: this });

            const info: PoolInfo = { name: pool.name, scaleSetName: vmssName, minSize, maxSize, vmSize: pool.vmSize };
            return zone ? { ...info, zone } : info;
        });

        this.registerOutputs({ pools: this.pools });
    }
}

/**
 * The live scale set, or undefined when Azure has none of that name. One the last deployment
 * reported must be there: any error stops the run. One it did not report may exist all the same (a
 * first `pulumi up` that created the scale sets and then failed records no stack outputs), so it is
 * read too, and only Azure's not-found makes it new: treating a running scale set as new would send
 * min_size (Azure removes the extra nodes, undrained) and drop its load-balancer wiring.
 */
async function readScaleSet(
    resourceGroupName: string,
    vmScaleSetName: string,
    reported: boolean,
    parent: pulumi.Resource,
): Promise<compute.GetVirtualMachineScaleSetResult | undefined> {
    try {
        return await compute.getVirtualMachineScaleSet({ resourceGroupName, vmScaleSetName }, { parent });
    } catch (e) {
        if (!reported && isAzureNotFound(e)) return undefined;
        throw e;
    }
}

/**
 * Azure's answer for a resource, or its resource group, that does not exist: an HTTP 404 with the
 * ARM code ResourceNotFound or ResourceGroupNotFound, as azure-native reports a failed request
 * (`request failed <id>: Status=404 Code="ResourceNotFound" …`; the Azure SDK's own form says
 * `RESPONSE 404` and `ERROR CODE: ResourceNotFound`).
 */
export function isAzureNotFound(e: unknown): boolean {
    const text = e instanceof Error ? e.message : String(e);
    return /\b(Status|StatusCode)=404\b|\bRESPONSE 404\b/.test(text) && /(\bCode="|ERROR CODE: )Resource(Group)?NotFound\b/.test(text);
}

/** The backend pools on the live model's primary IP configuration (set by cloud-provider-azure). */
export function liveBackendPools(vmss: compute.GetVirtualMachineScaleSetResult): Array<{ id: string }> {
    const nic = vmss.virtualMachineProfile?.networkProfile?.networkInterfaceConfigurations?.find((n) => n.primary);
    const ip = nic?.ipConfigurations.find((c) => c.primary);
    return (ip?.loadBalancerBackendAddressPools ?? []).flatMap((p) => (p.id ? [{ id: p.id }] : []));
}

/** Scale set names found in the last deployment's `pools` output (any shape that names them). */
export function deployedScaleSetNames(previousPools: unknown): string[] {
    if (Array.isArray(previousPools)) return previousPools.flatMap(deployedScaleSetNames);
    if (previousPools === null || typeof previousPools !== "object") return [];
    return Object.entries(previousPools).flatMap(([key, value]) =>
        key === "scaleSetName" && typeof value === "string" ? [value] : deployedScaleSetNames(value),
    );
}
