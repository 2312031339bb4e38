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
import { Network } from "./network";
import { Pki, adminKubeconfig } from "./pki";
import { ServicePrincipal } from "./servicePrincipal";

export { checkMasterCount } from "./guard";

/** Where the root kubeconfig is kept in the metadata store. */
export const ADMIN_KUBECONFIG_BLOB = "kubeconfig/admin.json";
const SP_PASSWORD_LIFETIME_DAYS = 365;

export interface InfraStageArgs {
    /** The validated deployment profile. */
    profile: Profile;
    /** OpenSSH public key for the nodes' admin user (stack config `aura:sshPublicKey`). */
    sshPublicKey: string;
    /** Service principal password generation (stack config); changing it rotates the password. */
    servicePrincipalRotation: string;
}

/** What the stage publishes as stack outputs. */
export interface InfraOutputs {
    resourceGroup: pulumi.Output<string>;
    location: string;
    apiServerUrl: pulumi.Output<string>;
    metadataStoreUrl: pulumi.Output<string>;
    /** Per pool: scale set name and autoscaler bounds. */
    pools: Record<string, Omit<PoolInfo, "name">>;
    servicePrincipalClientId: pulumi.Output<string>;
    /** The root kubeconfig (secret): break-glass only. */
    adminKubeconfig: pulumi.Output<string>;
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
        validateSshPublicKey(args.sshPublicKey);

        const rg = new resources.ResourceGroup(`${name}-rg`, { resourceGroupName: `${name}-rg`, location, tags }, parent);
        this.resourceGroupName = rg.name;
        const clientConfig = authorization.getClientConfigOutput(parent);
        const subscriptionId = clientConfig.subscriptionId;

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
            passwordLifetimeDays: SP_PASSWORD_LIFETIME_DAYS,
        }, parent);

        // Globally unique names need a random part; it is kept in state, so names never change.
        const suffix = new random.RandomString(`${name}-suffix`, { length: 6, lower: true, numeric: true, upper: false, special: false }, parent).result;
        const store = new MetadataStore(`${name}-metadata`, {
            resourceGroupName: rg.name,
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
            store.put(METADATA_BLOBS.bootstrapToken, pki.bootstrapToken, "text/plain"),
        ];

        const dnsLabel = suffix.apply((s) => apiDnsLabel(env, s));
        const controlPlane = new ControlPlane(`${name}-control-plane`, {
            resourceGroupName: rg.name,
            location,
            subscriptionId,
            environment: env,
            clusterName: name,
            count: infra.compute.masters.size,
            vmSize: infra.compute.masters.type,
            zones: infra.zones,
            subnetId: net.mastersSubnet.id,
            apiDnsLabel: dnsLabel,
            kubernetesVersion: profile.kubernetes.version,
            podCidr: infra.network.pod_cidr,
            serviceCidr: infra.network.service_cidr,
            sshPublicKey: args.sshPublicKey,
            metadata: {
                blobEndpoint: store.blobEndpoint,
                container: store.container.name,
                identityId: store.readerIdentity.id,
                identityClientId: store.readerIdentity.clientId,
            },
            bootDependencies: [...pkiBlobs, store.readerAssignment],
            tags,
        }, parent);

        this.adminKubeconfig = adminKubeconfig({
            clusterName: name,
            server: controlPlane.apiServerUrl,
            caCertPem: pki.clusterCa.certPem,
            admin: pki.admin,
        });
        store.put(ADMIN_KUBECONFIG_BLOB, this.adminKubeconfig, "application/json");

        this.agentPools = new AgentPools(`${name}-pools`, {
            resourceGroupName: rg.name,
            location,
            environment: env,
            clusterName: name,
            pools: profile.pools,
            zones: infra.zones,
            subnetId: net.agentsSubnet.id,
            kubernetesVersion: profile.kubernetes.version,
            podCidr: infra.network.pod_cidr,
            serviceCidr: infra.network.service_cidr,
            apiServerHost: controlPlane.apiServerHost,
            apiServerPort: API_SERVER_PORT,
            bootstrapToken: pki.bootstrapToken,
            caCertHash: pki.caCertHash,
            sshPublicKey: args.sshPublicKey,
            tags,
        }, { ...parent, dependsOn: [controlPlane] });

        this.cluster = {
            tenantId: clientConfig.tenantId,
            subscriptionId,
            resourceGroup: rg.name,
            location,
            vnetName: net.vnet.name,
            subnetName: net.agentsSubnet.name.apply((n) => n ?? "agents"),
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
            pools: Object.fromEntries(this.agentPools.pools.map(({ name: pool, ...info }) => [pool, info])),
            servicePrincipalClientId: this.servicePrincipal.clientId,
            adminKubeconfig: this.adminKubeconfig,
        };
        this.registerOutputs({ ...this.outputs });
    }
}

/** Azure accepts RSA (ssh-rsa) and Ed25519 public keys for Linux VMs. */
function validateSshPublicKey(key: string): void {
    if (!/^(ssh-rsa|ssh-ed25519) [A-Za-z0-9+/]+={0,3}( .*)?$/.test(key.trim())) {
        throw new pulumi.RunError(
            "aura:sshPublicKey must be an OpenSSH public key (ssh-rsa … or ssh-ed25519 …); set it with `pulumi config set aura:sshPublicKey \"$(cat ~/.ssh/id_ed25519.pub)\"`",
        );
    }
}
