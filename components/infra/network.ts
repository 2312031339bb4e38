// The network: one VNet, an NSG per role, and outbound traffic through NAT gateways (new VNets get no
// default outbound access). A NAT gateway lives in one zone and a subnet takes one NAT gateway, so
// outbound survives the loss of a zone only with a NAT gateway per zone and a subnet per zone and
// role: the masters and agents ranges are split into one subnet per zone, and each zone's nodes join
// their zone's subnet. Without zones: one subnet per role and one regional NAT gateway.
import * as pulumi from "@pulumi/pulumi";
import * as network from "@pulumi/azure-native/network";
import { parseCidr } from "../../profiles/cidr";
import { zonesInput } from "./nodes";

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
    /** One per zone, in the order of `zones` (one without zones). */
    readonly mastersSubnets: network.Subnet[];
    /** One per zone, in the order of `zones` (one without zones). */
    readonly agentsSubnets: network.Subnet[];
    readonly agentsNsg: network.NetworkSecurityGroup;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aura:infra:Network", name, {}, opts);
        const parent = { parent: this };
        const { resourceGroupName, location, tags } = args;

        const zones: Array<string | undefined> = args.zones.length ? args.zones : [undefined];
        const nats = zones.map((zone) => {
            const natName = zone ? `${name}-nat-z${zone}` : `${name}-nat`;
            const ip = new network.PublicIPAddress(`${natName}-ip`, {
                resourceGroupName,
                location,
                publicIpAddressName: `${natName}-ip`,
                sku: { name: "Standard", tier: "Regional" },
                publicIPAllocationMethod: "Static",
                zones: zonesInput(zone ? [zone] : []),
                tags,
            }, parent);
            return new network.NatGateway(natName, {
                resourceGroupName,
                location,
                natGatewayName: natName,
                sku: { name: "Standard" },
                zones: zonesInput(zone ? [zone] : []),
                publicIpAddresses: [{ id: ip.id }],
                idleTimeoutInMinutes: 10,
                tags,
            }, parent);
        });

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

        // Azure rejects concurrent subnet writes on one VNet: each subnet waits for the previous one.
        let previous: network.Subnet | undefined;
        const subnet = (role: string, i: number, prefix: string, nsg: network.NetworkSecurityGroup): network.Subnet => {
            const zone = zones[i];
            const subnetName = zone ? `${role}-z${zone}` : role;
            previous = new network.Subnet(`${name}-${subnetName}`, {
                resourceGroupName,
                virtualNetworkName: this.vnet.name,
                subnetName,
                addressPrefix: prefix,
                networkSecurityGroup: { id: nsg.id },
                natGateway: { id: nats[i].id },
                defaultOutboundAccess: false,
            }, { ...parent, dependsOn: previous ? [previous] : [] });
            return previous;
        };
        const mastersRanges = zonalRanges(args.mastersSubnet, zones.length);
        const agentsRanges = zonalRanges(args.agentsSubnet, zones.length);
        this.mastersSubnets = zones.map((_, i) => subnet("masters", i, mastersRanges[i], mastersNsg));
        this.agentsSubnets = zones.map((_, i) => subnet("agents", i, agentsRanges[i], this.agentsNsg));

        this.registerOutputs({ vnetId: this.vnet.id });
    }
}

/**
 * Splits `cidr` into `count` equal subnets (the smallest power of two ≥ count; the spare ones stay
 * free): with 3 zones, 10.240.16.0/20 gives 10.240.16.0/22, 10.240.20.0/22 and 10.240.24.0/22.
 */
export function zonalRanges(cidr: string, count: number): string[] {
    const parsed = parseCidr(cidr);
    if (!parsed) throw new Error(`not a CIDR: ${cidr}`);
    if (count === 1) return [cidr];
    const bits = Math.ceil(Math.log2(count));
    const prefix = parsed.prefix + bits;
    if (prefix > 29) {
        throw new pulumi.RunError(`infrastructure.network: ${cidr} is too small to split into ${count} zonal subnets (each at least a /29) — give it a shorter prefix`);
    }
    const size = 2 ** (32 - prefix);
    return Array.from({ length: count }, (_, i) => {
        const base = parsed.base + i * size;
        return `${[24, 16, 8, 0].map((shift) => Math.floor(base / 2 ** shift) % 256).join(".")}/${prefix}`;
    });
}
