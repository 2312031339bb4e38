// The infra stage (Azure), replacing `./aura deploy_infra`: resource group, network, service
// principal, metadata store, PKI, control plane and agent pools.
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as random from "@pulumi/random";
import * as resources from "@pulumi/azure-native/resources";
import type { Profile } from "../../profiles";
import { AgentPools, PoolInfo } from "./agentPools";
import { API_SERVER_PORT, ControlPlane } from "./controlPlane";
import { METADATA_BLOBS } from "./cloudinit";
import { MetadataStore } from "./metadataStore";
import { apiDnsLabel, storageAccountName } from "./names";
import { Network, zonalRanges } from "./network";
import { Pki, adminKubeconfig } from "./pki";
import { ServicePrincipal } from "./servicePrincipal";

export { agentKubeletFloor, checkAgentSkew, checkKubernetesVersion, checkMasterCount, checkOneMasterChange, parseRebuildMasters } from "./guard";
export { deployedScaleSetNames } from "./agentPools";

/** Where the root kubeconfig is kept in the metadata store. */
export const ADMIN_KUBECONFIG_BLOB = "kubeconfig/admin.json";
/** The cluster's password renews on the first `pulumi up` after this many days… */
const SP_PASSWORD_ROTATION_DAYS = 300;
/** …and stays valid this long, so a late run still finds the old password working. */
const SP_PASSWORD_LIFETIME_DAYS = 400;

export interface InfraStageArgs {
    /** The validated deployment profile. */
    profile: Profile;
    /** OpenSSH public key for the nodes' admin user (stack config `aura:sshPublicKey`). */
    sshPublicKey: string;
    /** Service principal password generation (stack config); changing it rotates the password. */
    servicePrincipalRotation: string;
    /** Scale set names the last deployment reported (stack output `pools`); [] on the first. */
    deployedScaleSets?: string[];
    /** Indexes of the masters being rebuilt (stack config `aura:rebuildMasters`). */
    rebuildMasters?: number[];
}

/** What the stage publishes as stack outputs. */
export interface InfraOutputs {
    resourceGroup: pulumi.Output<string>;
    location: string;
    apiServerUrl: pulumi.Output<string>;
    metadataStoreUrl: pulumi.Output<string>;
    /** Per pool: its bounds and VM size, and its scale sets (one per zone) with their autoscaler bounds. */
    pools: Record<string, PoolOutput>;
    servicePrincipalClientId: pulumi.Output<string>;
    /** When the cluster's current password expires (RFC 3339); it renews well before. */
    servicePrincipalPasswordExpiry: pulumi.Output<string>;
    /** Resource group of the metadata store, outside the cluster principal's scope. */
    metadataResourceGroup: pulumi.Output<string>;
    /** The root kubeconfig (secret): the runbook's node and system tasks and break-glass, never everyday work. */
    adminKubeconfig: pulumi.Output<string>;
}

/** Stack output `pools`: one entry per profile pool. */
export interface PoolOutput {
    minSize: number;
    maxSize: number;
    vmSize: string;
    scaleSets: Array<Omit<PoolInfo, "name" | "vmSize">>;
}

/** Groups the scale sets by pool; the bounds are the sums of the pool's scale sets (the profile's). */
export function poolOutputs(scaleSets: PoolInfo[]): Record<string, PoolOutput> {
    const out: Record<string, PoolOutput> = {};
    for (const { name, vmSize, ...set } of scaleSets) {
        const pool = (out[name] ??= { minSize: 0, maxSize: 0, vmSize, scaleSets: [] });
        pool.minSize += set.minSize;
        pool.maxSize += set.maxSize;
        pool.scaleSets.push(set);
    }
    return out;
}

/** What the system stage needs to know of the cluster and its Azure surroundings. */
export interface ClusterFacts {
    tenantId: pulumi.Input<string>;
    subscriptionId: pulumi.Input<string>;
    resourceGroup: pulumi.Input<string>;
    location: string;
    vnetName: pulumi.Input<string>;
    /** The agents' subnet and NSG: where the cloud provider puts load-balancer rules. */
    subnetName: pulumi.Input<string>;
    securityGroupName: pulumi.Input<string>;
    /** The cluster CA certificate (PEM): the only trust anchor for the API server. */
    caCertPem: pulumi.Input<string>;
    /** `https://<fqdn>:6443`. */
    apiServerUrl: pulumi.Input<string>;
    /** The cluster service principal (client secret is a Pulumi secret). */
    clientId: pulumi.Input<string>;
    clientSecret: pulumi.Input<string>;
}

export class InfraStage extends pulumi.ComponentResource {
    readonly resourceGroupName: pulumi.Output<string>;
    /** The root kubeconfig (secret); the system stage builds its Kubernetes provider from it. */
    readonly adminKubeconfig: pulumi.Output<string>;
    readonly servicePrincipal: ServicePrincipal;
    readonly agentPools: AgentPools;
    readonly outputs: InfraOutputs;
    /** Facts the system stage builds the cloud config and the API gate from. */
    readonly cluster: ClusterFacts;

    constructor(name: string, args: InfraStageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aura:infra:InfraStage", name, {}, opts);
        const parent = { parent: this };
        const { profile } = args;
        const infra = profile.infrastructure;
        const location = infra.region;
        const env = profile.environment;
        const tags = { environment: env, tier: profile.tier, "managed-by": "pulumi", project: "aura-platform" };
        validateSshPublicKey(args.sshPublicKey, pulumi.getStack());

        const rg = new resources.ResourceGroup(`${name}-rg`, { resourceGroupName: `${name}-rg`, location, tags }, parent);
        this.resourceGroupName = rg.name;
        const clientConfig = authorization.getClientConfigOutput(parent);
        const subscriptionId = clientConfig.subscriptionId;

        // The metadata store (CA keys, root kubeconfig) lives in its own resource group: the cluster
        // principal's Contributor role covers the cluster's group only, so it can neither list the
        // store's keys nor read its blobs.
        const metadataRg = new resources.ResourceGroup(`${name}-metadata-rg`, { resourceGroupName: `${name}-metadata-rg`, location, tags }, parent);

        const net = new Network(`${name}-net`, {
            resourceGroupName: rg.name,
            location,
            zones: infra.zones,
            vnetCidr: infra.network.vnet_cidr,
            mastersSubnet: infra.network.masters_subnet,
            agentsSubnet: infra.network.agents_subnet,
            apiAllowedCidrs: infra.network.api_allowed_cidrs,
            tags,
        }, parent);

        this.servicePrincipal = new ServicePrincipal(`${name}-cluster`, {
            resourceGroupId: rg.id,
            subscriptionId,
            rotation: args.servicePrincipalRotation,
            passwordRotationDays: SP_PASSWORD_ROTATION_DAYS,
            passwordLifetimeDays: SP_PASSWORD_LIFETIME_DAYS,
        }, parent);

        // Globally unique names need a random part; it is kept in state, so names never change.
        const suffix = new random.RandomString(`${name}-suffix`, { length: 6, lower: true, numeric: true, upper: false, special: false }, parent).result;
        const store = new MetadataStore(`${name}-metadata`, {
            resourceGroupName: metadataRg.name,
            zoneRedundant: infra.zones.length > 0,
            location,
            subscriptionId,
            accountName: suffix.apply((s) => storageAccountName(env, s)),
            tags,
        }, parent);

        const pki = new Pki(`${name}-pki`, { clusterName: name }, parent);
        const pkiBlobs = [
            store.put(METADATA_BLOBS.caCrt, pki.clusterCa.certPem),
            store.put(METADATA_BLOBS.caKey, pki.clusterCa.keyPem),
            store.put(METADATA_BLOBS.etcdCaCrt, pki.etcdCa.certPem),
            store.put(METADATA_BLOBS.etcdCaKey, pki.etcdCa.keyPem),
            store.put(METADATA_BLOBS.frontProxyCaCrt, pki.frontProxyCa.certPem),
            store.put(METADATA_BLOBS.frontProxyCaKey, pki.frontProxyCa.keyPem),
            store.put(METADATA_BLOBS.saKey, pki.serviceAccountKey),
            store.put(METADATA_BLOBS.saPub, pki.serviceAccountPub),
        ];

        const dnsLabel = suffix.apply((s) => apiDnsLabel(env, s));
        const controlPlane = new ControlPlane(`${name}-control-plane`, {
            resourceGroupName: rg.name,
            location,
            subscriptionId,
            environment: env,
            clusterName: name,
            count: infra.compute.masters.size,
            rebuild: args.rebuildMasters,
            vmSize: infra.compute.masters.type,
            zones: infra.zones,
            subnetIds: net.mastersSubnets.map((s) => s.id),
            // The first masters subnet (the internal API frontend lives there).
            mastersSubnetCidr: zonalRanges(infra.network.masters_subnet, Math.max(1, infra.zones.length))[0],
            apiDnsLabel: dnsLabel,
            kubernetesVersion: profile.kubernetes.version,
            podCidr: infra.network.pod_cidr,
            serviceCidr: infra.network.service_cidr,
            sshPublicKey: args.sshPublicKey,
            metadata: {
                blobEndpoint: store.blobEndpoint,
                identityId: store.readerIdentity.id,
                identityClientId: store.readerIdentity.clientId,
            },
            bootDependencies: [...pkiBlobs, ...store.masterAssignments],
            tags,
        }, parent);

        this.adminKubeconfig = adminKubeconfig({
            clusterName: name,
            server: controlPlane.apiServerUrl,
            caCertPem: pki.clusterCa.certPem,
            admin: pki.admin,
        });
        // Break-glass only: in a container no node identity has a role on.
        store.put(ADMIN_KUBECONFIG_BLOB, this.adminKubeconfig, "application/json", "breakGlass");

        this.agentPools = new AgentPools(`${name}-pools`, {
            resourceGroupName: rg.name,
            location,
            environment: env,
            clusterName: name,
            pools: profile.pools,
            zones: infra.zones,
            subnetIds: net.agentsSubnets.map((s) => s.id),
            kubernetesVersion: profile.kubernetes.version,
            podCidr: infra.network.pod_cidr,
            serviceCidr: infra.network.service_cidr,
            apiServerHost: controlPlane.apiServerHost,
            apiServerPort: API_SERVER_PORT,
            apiServerInternalIp: controlPlane.apiServerInternalIp,
            caCertHash: pki.caCertHash,
            joinToken: { blobEndpoint: store.blobEndpoint, identityId: store.agentIdentity.id, identityClientId: store.agentIdentity.clientId },
            sshPublicKey: args.sshPublicKey,
            deployedScaleSets: args.deployedScaleSets ?? [],
            readAfter: pulumi.all([...controlPlane.masters, ...controlPlane.gates, ...controlPlane.upgrades].map((r) => r.id)),
            tags,
        }, { ...parent, dependsOn: [controlPlane, store.agentAssignment] }); // after every master's upgrade

        this.cluster = {
            tenantId: clientConfig.tenantId,
            subscriptionId,
            resourceGroup: rg.name,
            location,
            vnetName: net.vnet.name,
            // One agents subnet per zone; the cloud provider's default (internal load balancers) is the first.
            subnetName: net.agentsSubnets[0].name.apply((n) => n ?? "agents"),
            securityGroupName: net.agentsNsg.name,
            caCertPem: pki.clusterCa.certPem,
            apiServerUrl: controlPlane.apiServerUrl,
            clientId: this.servicePrincipal.clientId,
            clientSecret: this.servicePrincipal.clientSecret,
        };

        this.outputs = {
            resourceGroup: rg.name,
            location,
            apiServerUrl: controlPlane.apiServerUrl,
            metadataStoreUrl: store.url,
            pools: poolOutputs(this.agentPools.pools),
            servicePrincipalClientId: this.servicePrincipal.clientId,
            servicePrincipalPasswordExpiry: this.servicePrincipal.passwordExpiry,
            metadataResourceGroup: metadataRg.name,
            adminKubeconfig: this.adminKubeconfig,
        };
        this.registerOutputs({ ...this.outputs });
    }
}

/** Azure accepts RSA (ssh-rsa) and Ed25519 public keys for Linux VMs. */
function validateSshPublicKey(key: string, stack: string): void {
    if (!/^(ssh-rsa|ssh-ed25519) [A-Za-z0-9+/]+={0,3}( .*)?$/.test(key.trim())) {
        throw new pulumi.RunError(
            `stack config aura:sshPublicKey (Pulumi.${stack}.yaml): must be an OpenSSH public key (ssh-rsa … or ssh-ed25519 …); set it with \`pulumi config set aura:sshPublicKey "$(cat ~/.ssh/id_ed25519.pub)" -s ${stack}\``,
        );
    }
}
