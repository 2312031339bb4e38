// The metadata store: a storage account and private container holding the cluster PKI and root
// kubeconfig (the seed: "if you lose this bucket, you need to rebuild the cluster manually").
// Losing it must take deliberate effort: protect, a CanNotDelete lock, versioning and soft delete.
// Masters read it at boot through a managed identity that may only read this container.
import * as pulumi from "@pulumi/pulumi";
import * as authorization from "@pulumi/azure-native/authorization";
import * as managedidentity from "@pulumi/azure-native/managedidentity";
import * as storage from "@pulumi/azure-native/storage";

/** Azure's built-in Storage Blob Data Reader role. */
export const BLOB_READER_ROLE = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";
export const METADATA_CONTAINER = "cluster-metadata";
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
    readonly container: storage.BlobContainer;
    /** `https://<account>.blob.core.windows.net/` */
    readonly blobEndpoint: pulumi.Output<string>;
    /** `https://<account>.blob.core.windows.net/cluster-metadata` */
    readonly url: pulumi.Output<string>;
    /** The identity masters use to read the container. */
    readonly readerIdentity: managedidentity.UserAssignedIdentity;
    /** The reader's role assignment; masters depend on it so they never boot without access. */
    readonly readerAssignment: authorization.RoleAssignment;

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

        this.container = new storage.BlobContainer(`${name}-container`, {
            resourceGroupName,
            accountName: this.account.name,
            containerName: METADATA_CONTAINER,
            publicAccess: "None",
        }, protectedChild);

        new authorization.ManagementLockByScope(`${name}-lock`, {
            scope: this.account.id,
            lockName: `${name}-do-not-delete`,
            level: "CanNotDelete",
            notes: "Holds the cluster PKI and root kubeconfig: without it the cluster must be rebuilt by hand.",
        }, protectedChild);

        this.readerIdentity = new managedidentity.UserAssignedIdentity(`${name}-reader`, {
            resourceGroupName,
            location,
            resourceName: `${name}-reader`,
            tags,
        }, { parent: this });
        this.readerAssignment = new authorization.RoleAssignment(`${name}-reader-access`, {
            principalId: this.readerIdentity.principalId,
            principalType: "ServicePrincipal",
            roleDefinitionId: pulumi.interpolate`/subscriptions/${args.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${BLOB_READER_ROLE}`,
            scope: pulumi.interpolate`${this.account.id}/blobServices/default/containers/${this.container.name}`,
            description: "Aura masters: read the cluster PKI at boot",
        }, { parent: this });

        this.blobEndpoint = this.account.primaryEndpoints.blob;
        this.url = pulumi.interpolate`${this.blobEndpoint}${this.container.name}`;
        this.registerOutputs({ url: this.url });
    }

    /** Uploads `content` as the blob `path` of the container; secret content stays secret. */
    put(path: string, content: pulumi.Input<string>, contentType = "application/octet-stream"): storage.Blob {
        return new storage.Blob(`${this.baseName}-${path.replace(/[^a-zA-Z0-9]+/g, "-")}`, {
            resourceGroupName: this.resourceGroupName,
            accountName: this.account.name,
            containerName: this.container.name,
            blobName: path,
            type: "Block",
            contentType,
            source: pulumi.output(content).apply((text) => new pulumi.asset.StringAsset(text)),
        }, { parent: this });
    }
}
