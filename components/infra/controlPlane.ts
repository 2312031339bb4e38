// The control plane: one VM per master (the seed: masters are individual VMs, not a scale set),
// round-robin over the zones, each with its own protected etcd disk, and the API server behind a
// Standard public load balancer probed on HTTPS /readyz. Masters update one after another (etcd keeps
// its quorum) and take SSH key changes through an extension (a VM's keys are fixed at creation).
// Masters fetch the PKI from the metadata store at boot with a read-only managed identity, so their
// custom data holds no secret and nothing that rotates (a VM's custom data can never change).
import * as pulumi from "@pulumi/pulumi";
import * as compute from "@pulumi/azure-native/compute";
import * as network from "@pulumi/azure-native/network";
import { encodeCustomData, renderMasterCloudInit } from "./cloudinit";
import { masterName } from "./names";
import { SSH_ACCESS_EXTENSION, sshAccessSettings, supportsAcceleratedNetworking, zonesInput } from "./nodes";

export const API_SERVER_PORT = 6443;
/** Size of each master's etcd disk. */
const ETCD_DISK_GB = 64;

/** The OS image of every node: Ubuntu 24.04 LTS (Gen2). */
export const UBUNTU_IMAGE = { publisher: "Canonical", offer: "ubuntu-24_04-lts", sku: "server", version: "latest" };
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
    vmSize: string;
    /** Availability zones; [] in a region without zones. */
    zones: string[];
    /** Masters subnet per zone, in the order of `zones` (one without zones); master i joins subnet i mod n. */
    subnetIds: pulumi.Input<string>[];
    /** DNS label of the API server's public IP. */
    apiDnsLabel: pulumi.Input<string>;
    kubernetesVersion: string;
    podCidr: string;
    serviceCidr: string;
    sshPublicKey: string;
    metadata: {
        blobEndpoint: pulumi.Input<string>;
        container: pulumi.Input<string>;
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
    readonly masters: compute.VirtualMachine[];

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

        const lbName = `${name}-api-lb`;
        const lbId = pulumi.interpolate`/subscriptions/${args.subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.Network/loadBalancers/${lbName}`;
        const lb = new network.LoadBalancer(lbName, {
            resourceGroupName,
            location,
            loadBalancerName: lbName,
            sku: { name: "Standard", tier: "Regional" },
            frontendIPConfigurations: [{ name: "api", publicIPAddress: { id: ip.id } }],
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
                frontendIPConfiguration: { id: pulumi.interpolate`${lbId}/frontendIPConfigurations/api` },
                backendAddressPool: { id: pulumi.interpolate`${lbId}/backendAddressPools/masters` },
                probe: { id: pulumi.interpolate`${lbId}/probes/kube-apiserver-readyz` },
                idleTimeoutInMinutes: 30,
                enableTcpReset: true,
                // Outbound traffic leaves through the subnet's NAT gateway.
                disableOutboundSnat: true,
            }],
            tags,
        }, parent);

        this.masters = [];
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
                    loadBalancerBackendAddressPools: [{ id: pulumi.interpolate`${lb.id}/backendAddressPools/masters` }],
                }],
                tags,
            }, parent);

            const customData = pulumi
                .all([this.apiServerHost, args.metadata.blobEndpoint, args.metadata.container, args.metadata.identityClientId])
                .apply(([apiServerHost, blobEndpoint, container, identityClientId]) =>
                    encodeCustomData(
                        renderMasterCloudInit({
                            role: i === 0 ? "init" : "join",
                            clusterName: args.clusterName,
                            kubernetesVersion: args.kubernetesVersion,
                            apiServerHost,
                            apiServerPort: API_SERVER_PORT,
                            podCidr: args.podCidr,
                            serviceCidr: args.serviceCidr,
                            metadata: { blobEndpoint, container, identityClientId },
                        }),
                    ),
                );

            // etcd's disk is its own resource, protected and in its master's zone: a rebuilt master
            // attaches the same disk (its data survives), and nothing deletes it by accident.
            const etcdDisk = new compute.Disk(`${vmName}-etcd`, {
                resourceGroupName,
                location,
                diskName: `${vmName}-etcd`,
                zones: zonesInput(zone ? [zone] : []),
                sku: { name: "Premium_LRS" },
                creationData: { createOption: "Empty" },
                diskSizeGB: ETCD_DISK_GB,
                tags: { ...tags, role: "etcd" },
            }, { ...parent, protect: true });

            const previous = this.masters[i - 1];
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
                        caching: "None",
                        managedDisk: { id: etcdDisk.id },
                        deleteOption: "Detach",
                    }],
                },
                networkProfile: { networkInterfaces: [{ id: nic.id, primary: true }] },
                diagnosticsProfile: { bootDiagnostics: { enabled: true } },
                tags: { ...tags, role: "master", ...(zone ? { zone } : {}) },
            }, {
                ...parent,
                // One master at a time: an update that restarts a VM (a size change) waits until the
                // previous master is back, so etcd never loses two members at once.
                dependsOn: [...args.bootDependencies, ...(previous ? [previous] : [])],
                // Custom data is read once, at first boot, and Azure refuses to change it afterwards:
                // a newer boot script applies to masters created from now on, never by replacement.
                // The image's "latest" is resolved at creation in the same way. The SSH keys are fixed
                // at creation too (PropertyChangeNotAllowed): a new key arrives through the extension below.
                ignoreChanges: ["osProfile.customData", "storageProfile.imageReference", "osProfile.linuxConfiguration.ssh"],
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
        }

        this.registerOutputs({ apiServerUrl: this.apiServerUrl });
    }
}
