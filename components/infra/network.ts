// The network: one VNet with a masters subnet and an agents subnet, an NSG on each, and a NAT
// gateway for outbound traffic (new VNets get no default outbound access).
import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";

export interface NetworkArgs {
    /** Resource group that holds the network. */
    resourceGroupName: pulumi.Input<string>;
    location: string;
    zones: string[];
    vnetCidr: string;
    mastersSubnet: string;
    agentsSubnet: string;
    /** Source ranges allowed to reach the API server (6443). */
    apiAllowedCidrs: string[];
    tags: Record<string, string>;
}

export class Network extends pulumi.ComponentResource {
    readonly vnet: network.VirtualNetwork;
    readonly mastersSubnet: network.Subnet;
    readonly agentsSubnet: network.Subnet;
    readonly agentsNsg: network.NetworkSecurityGroup;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aura:infra:Network", name, {}, opts);
        const parent = { parent: this };
        const { resourceGroupName, location, tags } = args;

        const natIp = new network.PublicIPAddress(`${name}-nat-ip`, {
            resourceGroupName,
            location,
            publicIpAddressName: `${name}-nat-ip`,
            sku: { name: "Standard", tier: "Regional" },
            publicIPAllocationMethod: "Static",
            tags,
        }, parent);
        const nat = new network.NatGateway(`${name}-nat`, {
            resourceGroupName,
            location,
            natGatewayName: `${name}-nat`,
            sku: { name: "Standard" },
            publicIpAddresses: [{ id: natIp.id }],
            idleTimeoutInMinutes: 10,
            tags,
        }, parent);

        // The API server is the only service open to the internet, and only from the allowed ranges.
        // The default rules still let the VNet and Azure's load-balancer probes in.
        const mastersNsg = new network.NetworkSecurityGroup(`${name}-masters-nsg`, {
            resourceGroupName,
            location,
            networkSecurityGroupName: `${name}-masters-nsg`,
            securityRules: [{
                name: "allow-kube-apiserver",
                priority: 100,
                direction: "Inbound",
                access: "Allow",
                protocol: "Tcp",
                sourceAddressPrefixes: args.apiAllowedCidrs,
                sourcePortRange: "*",
                destinationAddressPrefix: "*",
                destinationPortRange: "6443",
            }],
            tags,
        }, parent);
        // Agents accept nothing from the internet; the Azure cloud provider adds rules here for
        // Services of type LoadBalancer.
        this.agentsNsg = new network.NetworkSecurityGroup(`${name}-agents-nsg`, {
            resourceGroupName,
            location,
            networkSecurityGroupName: `${name}-agents-nsg`,
            tags,
        }, { ...parent, ignoreChanges: ["securityRules"] });

        this.vnet = new network.VirtualNetwork(`${name}-vnet`, {
            resourceGroupName,
            location,
            virtualNetworkName: `${name}-vnet`,
            addressSpace: { addressPrefixes: [args.vnetCidr] },
            tags,
        }, { ...parent, ignoreChanges: ["subnets"] }); // subnets are their own resources below

        this.mastersSubnet = new network.Subnet(`${name}-masters`, {
            resourceGroupName,
            virtualNetworkName: this.vnet.name,
            subnetName: "masters",
            addressPrefix: args.mastersSubnet,
            networkSecurityGroup: { id: mastersNsg.id },
            natGateway: { id: nat.id },
            defaultOutboundAccess: false,
        }, parent);
        this.agentsSubnet = new network.Subnet(`${name}-agents`, {
            resourceGroupName,
            virtualNetworkName: this.vnet.name,
            subnetName: "agents",
            addressPrefix: args.agentsSubnet,
            networkSecurityGroup: { id: this.agentsNsg.id },
            natGateway: { id: nat.id },
            defaultOutboundAccess: false,
        }, { ...parent, dependsOn: [this.mastersSubnet] }); // Azure rejects concurrent subnet writes on one VNet

        this.registerOutputs({ vnetId: this.vnet.id });
    }
}
