// The control plane: one VM per master (the seed: masters are individual VMs, not a scale set),
// round-robin over the zones, each with its own protected etcd disk, and the API server behind two
// Standard load balancers probed on HTTPS /readyz: a public one for operators (NSG allow-list) and an
// internal one in the masters' subnet that every node uses, so narrowing the allow-list never cuts
// off a kubelet. Masters update one after another (etcd keeps its quorum) and take SSH key changes
// through an extension (a VM's keys are fixed at creation). Masters fetch the PKI from the metadata
// store at boot with their managed identity, so their custom data holds no secret and nothing that
// rotates (a VM's custom data can never change). What must change later (the Kubernetes version)
// reaches them through one Azure Run Command per master, chained so masters upgrade one at a time,
// before the agents.
import * as pulumi from "@pulumi/pulumi";
import * as compute from "@pulumi/azure-native/compute";
import * as network from "@pulumi/azure-native/network";
import type * as types from "@pulumi/azure-native/types";
import { parseCidr } from "../../profiles/cidr";
import { MasterCloudInitArgs, encodeCustomData, renderMasterCloudInit, renderMasterSettleScript, renderMasterUpgradeScript } from "./cloudinit";
import { masterName } from "./names";
import { SSH_ACCESS_EXTENSION, sshAccessSettings, supportsAcceleratedNetworking, zonesInput } from "./nodes";
import { ETCD_DISK_SPEC, NODE_IMAGE } from "./pins";

export const API_SERVER_PORT = 6443;
/** Size of each master's etcd disk. */

/** The OS image of every node (pinned in pins.ts). */
export const UBUNTU_IMAGE = NODE_IMAGE;
/** How long a master's Run Command may take: it first waits for the boot, then upgrades. */
const RUN_COMMAND_TIMEOUT_SECONDS = 90 * 60;

/**
 * The internal API load balancer's frontend: the last usable address of the masters' subnet
 * (Azure reserves the first four and the last), out of the way of the masters' dynamic addresses.
 */
export function internalApiAddress(mastersSubnet: string): string {
    const c = parseCidr(mastersSubnet);
    // The profile's checks guarantee a /29 or larger with this address free (profiles/schema.ts).
    if (!c || c.prefix > 29) throw new Error(`masters subnet ${mastersSubnet} is not an IPv4 CIDR of /29 or larger`);
    const n = c.base + 2 ** (32 - c.prefix) - 2;
    return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}
export const ADMIN_USERNAME = "azureuser";
/** The OS disk of every node. */
export const NODE_OS_DISK = {
    createOption: "FromImage",
    caching: "ReadWrite",
    diskSizeGB: 128,
    managedDisk: { storageAccountType: "Premium_LRS" },
} as const;

/** Linux settings shared by masters and agents: SSH keys only, no password login. */
export function linuxConfiguration(sshPublicKey: string) {
    return {
        disablePasswordAuthentication: true,
        provisionVMAgent: true,
        ssh: { publicKeys: [{ path: `/home/${ADMIN_USERNAME}/.ssh/authorized_keys`, keyData: sshPublicKey }] },
    };
}

export interface ControlPlaneArgs {
    resourceGroupName: pulumi.Input<string>;
    location: string;
    subscriptionId: pulumi.Input<string>;
    environment: string;
    clusterName: string;
    count: number;
    /**
     * Masters being rebuilt (stack config `aura:rebuildMasters`, by index): their boot document,
     * image and SSH key are the current ones instead of kept, so `pulumi up --replace` creates the
     * new VM from what the program renders now.
     */
    rebuild?: number[];
    vmSize: string;
    /** Availability zones; [] in a region without zones. */
    zones: string[];
    /** Masters subnet per zone, in the order of `zones` (one without zones); master i joins subnet i mod n. */
    subnetIds: pulumi.Input<string>[];
    /** The first masters subnet's range: the internal API frontend takes an address in it (subnetIds[0]). */
    mastersSubnetCidr: string;
    /** DNS label of the API server's public IP. */
    apiDnsLabel: pulumi.Input<string>;
    kubernetesVersion: string;
    podCidr: string;
    serviceCidr: string;
    sshPublicKey: string;
    /** The metadata store and the masters' identity (see metadataStore.ts). */
    metadata: {
        blobEndpoint: pulumi.Input<string>;
        identityId: pulumi.Input<string>;
        identityClientId: pulumi.Input<string>;
    };
    /** Resources the masters need before they boot (the PKI blobs, the reader's role assignment). */
    bootDependencies: pulumi.Resource[];
    tags: Record<string, string>;
}

export class ControlPlane extends pulumi.ComponentResource {
    /** FQDN of the API server: `<label>.<region>.cloudapp.azure.com`. */
    readonly apiServerHost: pulumi.Output<string>;
    /** `https://<host>:6443` */
    readonly apiServerUrl: pulumi.Output<string>;
    /** Private address of the internal API load balancer (in the masters' subnet). */
    readonly apiServerInternalIp: string;
    readonly masters: compute.VirtualMachine[];
    /** One Run Command per master bringing it to the profile's Kubernetes version, chained in order. */
    readonly upgrades: compute.VirtualMachineRunCommandByVirtualMachine[];
    /** One Run Command per master that returns once a restarted master is back; the next master waits for it. */
    readonly gates: compute.VirtualMachineRunCommandByVirtualMachine[];

    constructor(name: string, args: ControlPlaneArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aura:infra:ControlPlane", name, {}, opts);
        const parent = { parent: this };
        const { resourceGroupName, location, tags } = args;

        const ip = new network.PublicIPAddress(`${name}-api-ip`, {
            resourceGroupName,
            location,
            publicIpAddressName: `${name}-api-ip`,
            sku: { name: "Standard", tier: "Regional" },
            publicIPAllocationMethod: "Static",
            zones: zonesInput(args.zones),
            dnsSettings: { domainNameLabel: args.apiDnsLabel },
            tags,
        }, parent);
        this.apiServerHost = ip.dnsSettings.apply((d) => d?.fqdn ?? "");
        this.apiServerUrl = pulumi.interpolate`https://${this.apiServerHost}:${API_SERVER_PORT}`;

        // One load balancer per audience, the same probe and rule on each: a frontend, the masters
        // behind it, HTTPS /readyz deciding which master gets traffic.
        const apiLoadBalancer = (lbName: string, frontend: types.input.network.FrontendIPConfigurationArgs & { name: string }, extraRule: { disableOutboundSnat?: boolean }) => {
            const lbId = pulumi.interpolate`/subscriptions/${args.subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.Network/loadBalancers/${lbName}`;
            return new network.LoadBalancer(lbName, {
                resourceGroupName,
                location,
                loadBalancerName: lbName,
                sku: { name: "Standard", tier: "Regional" },
                frontendIPConfigurations: [frontend],
                backendAddressPools: [{ name: "masters" }],
                probes: [{
                    name: "kube-apiserver-readyz",
                    protocol: "Https",
                    port: API_SERVER_PORT,
                    requestPath: "/readyz",
                    intervalInSeconds: 5,
                    probeThreshold: 2,
                }],
                loadBalancingRules: [{
                    name: "kube-apiserver",
                    protocol: "Tcp",
                    frontendPort: API_SERVER_PORT,
                    backendPort: API_SERVER_PORT,
                    frontendIPConfiguration: { id: pulumi.interpolate`${lbId}/frontendIPConfigurations/${frontend.name}` },
                    backendAddressPool: { id: pulumi.interpolate`${lbId}/backendAddressPools/masters` },
                    probe: { id: pulumi.interpolate`${lbId}/probes/kube-apiserver-readyz` },
                    idleTimeoutInMinutes: 30,
                    enableTcpReset: true,
                    ...extraRule,
                }],
                tags,
            }, parent);
        };
        // Outbound traffic leaves through the subnet's NAT gateway.
        const lb = apiLoadBalancer(`${name}-api-lb`, { name: "api", publicIPAddress: { id: ip.id } }, { disableOutboundSnat: true });

        // Nodes reach the API here, inside the VNet: the NSG's allow-list (api_allowed_cidrs) only
        // governs the public frontend, and the default VNet rule lets every node in.
        this.apiServerInternalIp = internalApiAddress(args.mastersSubnetCidr);
        const ilb = apiLoadBalancer(`${name}-api-ilb`, {
            name: "api-internal",
            privateIPAllocationMethod: "Static",
            privateIPAddress: this.apiServerInternalIp,
            subnet: { id: args.subnetIds[0] },
            // Zone-redundant where the region has zones.
            zones: zonesInput(args.zones),
        }, {});

        this.masters = [];
        this.upgrades = [];
        this.gates = [];
        // Every master boots from the same document and decides at boot whether to create or join.
        const bootArgs: pulumi.Output<MasterCloudInitArgs> = pulumi
            .all([this.apiServerHost, args.metadata.blobEndpoint, args.metadata.identityClientId])
            .apply(([apiServerHost, blobEndpoint, identityClientId]) => ({
                clusterName: args.clusterName,
                kubernetesVersion: args.kubernetesVersion,
                apiServerHost,
                apiServerPort: API_SERVER_PORT,
                apiServerInternalIp: this.apiServerInternalIp,
                podCidr: args.podCidr,
                serviceCidr: args.serviceCidr,
                metadata: { blobEndpoint, identityClientId },
            }));
        const customData = bootArgs.apply((a) => encodeCustomData(renderMasterCloudInit(a)));
        const upgradeScript = bootArgs.apply(renderMasterUpgradeScript);
        const settleScript = bootArgs.apply((a) => renderMasterSettleScript({ ...a, vmSize: args.vmSize }));
        for (let i = 0; i < args.count; i++) {
            const vmName = masterName(args.environment, i);
            const zone: string | undefined = args.zones[i % args.zones.length];
            const nic = new network.NetworkInterface(`${vmName}-nic`, {
                resourceGroupName,
                location,
                networkInterfaceName: `${vmName}-nic`,
                enableAcceleratedNetworking: supportsAcceleratedNetworking(args.vmSize),
                ipConfigurations: [{
                    name: "ipconfig1",
                    primary: true,
                    privateIPAllocationMethod: "Dynamic",
                    subnet: { id: args.subnetIds[i % args.subnetIds.length] },
                    loadBalancerBackendAddressPools: [
                        { id: pulumi.interpolate`${lb.id}/backendAddressPools/masters` },
                        { id: pulumi.interpolate`${ilb.id}/backendAddressPools/masters` },
                    ],
                }],
                tags,
            }, parent);

            // etcd's disk is its own resource, protected and in its master's zone: a rebuilt master
            // attaches the same disk (its data survives), and nothing deletes it by accident.
            const etcdDisk = new compute.Disk(`${vmName}-etcd`, {
                resourceGroupName,
                location,
                diskName: `${vmName}-etcd`,
                zones: zonesInput(zone ? [zone] : []),
                sku: { name: ETCD_DISK_SPEC.storageAccountType },
                creationData: { createOption: "Empty" },
                diskSizeGB: ETCD_DISK_SPEC.diskSizeGB,
                tags: { ...tags, role: "etcd" },
            }, { ...parent, protect: true });

            const previous = this.gates[i - 1];
            const master = new compute.VirtualMachine(vmName, {
                resourceGroupName,
                location,
                vmName,
                zones: zonesInput(zone ? [zone] : []),
                hardwareProfile: { vmSize: args.vmSize },
                identity: { type: "UserAssigned", userAssignedIdentities: [args.metadata.identityId] },
                osProfile: {
                    computerName: vmName,
                    adminUsername: ADMIN_USERNAME,
                    customData,
                    linuxConfiguration: linuxConfiguration(args.sshPublicKey),
                },
                storageProfile: {
                    imageReference: UBUNTU_IMAGE,
                    osDisk: { ...NODE_OS_DISK, name: `${vmName}-os`, deleteOption: "Delete" },
                    // etcd gets its own disk (LUN 0): its fsync latency decides the cluster's health.
                    dataDisks: [{
                        lun: 0,
                        createOption: "Attach",
                        caching: ETCD_DISK_SPEC.caching,
                        managedDisk: { id: etcdDisk.id },
                        deleteOption: "Detach",
                    }],
                },
                networkProfile: { networkInterfaces: [{ id: nic.id, primary: true }] },
                diagnosticsProfile: { bootDiagnostics: { enabled: true } },
                tags: { ...tags, role: "master", ...(zone ? { zone } : {}) },
            }, {
                ...parent,
                // One master after another: an update that restarts a VM (a size change) starts only
                // once the previous master is back, control plane healthy and node Ready (its gate
                // below), so etcd never misses two members.
                dependsOn: [...args.bootDependencies, ...(previous ? [previous] : [])],
                // Custom data is read once, at first boot, and Azure refuses to change it afterwards:
                // a newer boot script applies to masters created from now on. The image's "latest" is
                // resolved at creation in the same way. The SSH keys are fixed at creation too
                // (PropertyChangeNotAllowed): a new key arrives through the extension below. Pulumi
                // keeps ignored inputs even on `--replace`, so a master being rebuilt
                // (`aura:rebuildMasters`) takes the current ones: its new VM boots what runs now
                // (Kubernetes version, scripts, pins, key), not what its predecessor was created with.
                ignoreChanges: args.rebuild?.includes(i) ? [] : ["osProfile.customData", "storageProfile.imageReference", "osProfile.linuxConfiguration.ssh"],
                // A replaced master keeps its name and its etcd disk, which only one VM can hold:
                // the old VM goes first (`pulumi up --replace <master>`; see docs/operations.md).
                deleteBeforeReplace: true,
            });
            this.masters.push(master);

            new compute.VirtualMachineExtension(`${vmName}-ssh-access`, {
                resourceGroupName,
                location,
                vmName: master.name,
                vmExtensionName: "ssh-access",
                ...SSH_ACCESS_EXTENSION,
                protectedSettings: sshAccessSettings(ADMIN_USERNAME, args.sshPublicKey),
                tags,
            }, parent);

            // A script run on this master by Azure (a managed Run Command), to the end, failing the
            // deployment when it fails.
            const runCommand = (suffix: string, runCommandName: string, script: pulumi.Input<string>, extraTags: Record<string, string>, opts: pulumi.CustomResourceOptions) =>
                new compute.VirtualMachineRunCommandByVirtualMachine(`${vmName}-${suffix}`, {
                    resourceGroupName,
                    location,
                    vmName: master.name,
                    runCommandName,
                    source: { script },
                    asyncExecution: false,
                    treatFailureAsDeploymentFailure: true,
                    timeoutInSeconds: RUN_COMMAND_TIMEOUT_SECONDS,
                    tags: { ...tags, ...extraTags },
                }, opts);

            // The gate the next master's VM waits for: after a change that restarted this VM (its
            // size is in the script, so a resize runs it again), it waits for the master to be back;
            // during a first boot it returns at once, and masters boot side by side.
            this.gates.push(runCommand("settle", "aura-settle", settleScript, { vmSize: args.vmSize }, parent));

            // The Kubernetes version reaches existing masters here, never through a VM update: the
            // script waits for the boot, does nothing when the master already runs the version,
            // else upgrades it with kubeadm. Each waits for the previous master's, so masters
            // upgrade one at a time (and the agent pools wait for all of them).
            const previousUpgrade = this.upgrades[this.upgrades.length - 1];
            this.upgrades.push(runCommand("kubernetes", "aura-kubernetes-version", upgradeScript, { kubernetesVersion: args.kubernetesVersion }, {
                ...parent,
                dependsOn: previousUpgrade ? [previousUpgrade] : [],
            }));
        }

        this.registerOutputs({ apiServerUrl: this.apiServerUrl });
    }
}
