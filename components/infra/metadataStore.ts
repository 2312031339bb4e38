// The metadata store: a storage account with private containers holding the cluster PKI, the boot
// locks, the agents' current join token and the root kubeconfig (the seed: "if you lose this
// bucket, you need to rebuild the cluster manually"). Losing it must take deliberate effort:
// protect, a CanNotDelete lock, versioning and soft delete.
// Least privilege per container: the masters' identity reads the PKI and writes the locks and the
// join token; the agents' identity reads the join token only; no node identity has any role on the
// break-glass container that holds the root kubeconfig.
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as storage from "@pulumi/azure-native/storage";
import { METADATA_CONTAINERS } from "./cloudinit";

/** Azure's built-in Storage Blob Data Reader role. */
export const BLOB_READER_ROLE = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
/** Azure's built-in Storage Blob Data Contributor role (read, write, lease). */
export const BLOB_CONTRIBUTOR_ROLE = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
export const METADATA_CONTAINER = METADATA_CONTAINERS.pki;
type ContainerKey = keyof typeof METADATA_CONTAINERS;
const RETENTION_DAYS = 30;

export interface MetadataStoreArgs {
    /** A resource group of its own: outside the cluster principal's scope. */
    resourceGroupName: pulumi.Input<string>;
    /** Zone-redundant storage (ZRS) where the region has zones; locally redundant (LRS) otherwise. */
    zoneRedundant: boolean;
    location: string;
    subscriptionId: pulumi.Input<string>;
    /** Storage account name (see names.ts). */
    accountName: pulumi.Input<string>;
    tags: Record<string, string>;
}

export class MetadataStore extends pulumi.ComponentResource {
    readonly account: storage.StorageAccount;
    /** The PKI container. */
    readonly container: storage.BlobContainer;
    readonly containers: Record<ContainerKey, storage.BlobContainer>;
    /** `https://<account>.blob.core.windows.net/` */
    readonly blobEndpoint: pulumi.Output<string>;
    /** `https://<account>.blob.core.windows.net/cluster-metadata` */
    readonly url: pulumi.Output<string>;
    /** The masters' identity: reads the PKI, writes the boot locks and the agents' join token. */
    readonly readerIdentity: managedidentity.UserAssignedIdentity;
    /** The masters' role assignments; masters depend on them so they never boot without access. */
    readonly readerAssignment: authorization.RoleAssignment;
    readonly masterAssignments: authorization.RoleAssignment[];
    /** The agents' identity: reads the current join token, nothing else. */
    readonly agentIdentity: managedidentity.UserAssignedIdentity;
    readonly agentAssignment: authorization.RoleAssignment;

    private readonly resourceGroupName: pulumi.Input<string>;
    private readonly baseName: string;

    constructor(name: string, args: MetadataStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aura:infra:MetadataStore", name, {}, opts);
        const { resourceGroupName, location, tags } = args;
        this.resourceGroupName = resourceGroupName;
        this.baseName = name;
        const protectedChild = { parent: this, protect: true };

        this.account = new storage.StorageAccount(`${name}-account`, {
            resourceGroupName,
            location,
            accountName: args.accountName,
            kind: "StorageV2",
            sku: { name: args.zoneRedundant ? "Standard_ZRS" : "Standard_LRS" },
            accessTier: "Hot",
            enableHttpsTrafficOnly: true,
            minimumTlsVersion: "TLS1_2",
            allowBlobPublicAccess: false,
            allowCrossTenantReplication: false,
            tags,
        }, protectedChild);

        new storage.BlobServiceProperties(`${name}-blob-service`, {
            resourceGroupName,
            accountName: this.account.name,
            blobServicesName: "default",
            isVersioningEnabled: true,
            deleteRetentionPolicy: { enabled: true, days: RETENTION_DAYS },
            containerDeleteRetentionPolicy: { enabled: true, days: RETENTION_DAYS },
        }, { parent: this });

        const container = (key: ContainerKey, suffix: string) =>
            new storage.BlobContainer(`${name}-${suffix}`, {
                resourceGroupName,
                accountName: this.account.name,
                containerName: METADATA_CONTAINERS[key],
                publicAccess: "None",
            }, protectedChild);
        this.containers = {
            pki: container("pki", "container"),
            bootstrap: container("bootstrap", "bootstrap"),
            join: container("join", "join"),
            breakGlass: container("breakGlass", "break-glass"),
        };
        this.container = this.containers.pki;

        new authorization.ManagementLockByScope(`${name}-lock`, {
            scope: this.account.id,
            lockName: `${name}-do-not-delete`,
            level: "CanNotDelete",
            notes: "Holds the cluster PKI and root kubeconfig: without it the cluster must be rebuilt by hand.",
        }, protectedChild);

        const grant = (resourceName: string, principalId: pulumi.Input<string>, role: string, key: ContainerKey, description: string) =>
            new authorization.RoleAssignment(resourceName, {
                principalId,
                principalType: "ServicePrincipal",
                roleDefinitionId: pulumi.interpolate`/subscriptions/${args.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${role}`,
                scope: pulumi.interpolate`${this.account.id}/blobServices/default/containers/${this.containers[key].name}`,
                description,
            }, { parent: this });

        this.readerIdentity = new managedidentity.UserAssignedIdentity(`${name}-reader`, {
            resourceGroupName,
            location,
            resourceName: `${name}-reader`,
            tags,
        }, { parent: this });
        const masters = this.readerIdentity.principalId;
        this.readerAssignment = grant(`${name}-reader-access`, masters, BLOB_READER_ROLE, "pki", "Aura masters: read the cluster PKI at boot");
        this.masterAssignments = [
            this.readerAssignment,
            grant(`${name}-master-locks`, masters, BLOB_CONTRIBUTOR_ROLE, "bootstrap", "Aura masters: init and maintenance locks (blob leases)"),
            grant(`${name}-master-join-token`, masters, BLOB_CONTRIBUTOR_ROLE, "join", "Aura masters: publish the agents' current join token"),
        ];

        this.agentIdentity = new managedidentity.UserAssignedIdentity(`${name}-agent`, {
            resourceGroupName,
            location,
            resourceName: `${name}-agent`,
            tags,
        }, { parent: this });
        this.agentAssignment = grant(`${name}-agent-join-token`, this.agentIdentity.principalId, BLOB_READER_ROLE, "join", "Aura agents: read the current join token at boot");

        this.blobEndpoint = this.account.primaryEndpoints.blob;
        this.url = pulumi.interpolate`${this.blobEndpoint}${this.container.name}`;
        this.registerOutputs({ url: this.url });
    }

    /** Uploads `content` as the blob `path` of a container (the PKI one by default); secret content stays secret. */
    put(path: string, content: pulumi.Input<string>, contentType = "application/octet-stream", container: ContainerKey = "pki"): storage.Blob {
        return new storage.Blob(`${this.baseName}-${path.replace(/[^a-zA-Z0-9]+/g, "-")}`, {
            resourceGroupName: this.resourceGroupName,
            accountName: this.account.name,
            containerName: this.containers[container].name,
            blobName: path,
            type: "Block",
            contentType,
            source: pulumi.output(content).apply((text) => new pulumi.asset.StringAsset(text)),
        }, { parent: this });
    }
}
