// The cluster's service principal: what the Azure cloud provider, the disk CSI driver and the
// cluster-autoscaler act as. Contributor on the infra resource group only (the seed's setting).
// Its password rotates by replacement; no node embeds it (the system stage hands it to the cluster
// as a Kubernetes Secret), so a rotation never reimages a node (unlike aks-engine, Azure/aks-engine#724).
import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import * as authorization from "@pulumi/azure-native/authorization";
import * as time from "@pulumiverse/time";

/** Azure's built-in Contributor role. */
export const CONTRIBUTOR_ROLE = "b24988ac-6180-42a0-ab88-20f7382dd24c";

export interface ServicePrincipalArgs {
    /** ARM id of the infra resource group: the only scope the principal gets. */
    resourceGroupId: pulumi.Input<string>;
    subscriptionId: pulumi.Input<string>;
    /** Changing it replaces the password at once (a manual rotation). */
    rotation: string;
    /** Days a password lives; a new one is made on the first `pulumi up` after that. */
    passwordLifetimeDays: number;
}

export class ServicePrincipal extends pulumi.ComponentResource {
    readonly clientId: pulumi.Output<string>;
    readonly objectId: pulumi.Output<string>;
    /** The client secret (a Pulumi secret). */
    readonly clientSecret: pulumi.Output<string>;

    constructor(name: string, args: ServicePrincipalArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aura:infra:ServicePrincipal", name, {}, opts);
        const parent = { parent: this };

        const app = new azuread.Application(`${name}-app`, {
            displayName: name,
            description: "Kubernetes cloud provider, disk CSI and cluster-autoscaler of the Aura Platform",
        }, parent);
        const sp = new azuread.ServicePrincipal(`${name}-sp`, { clientId: app.clientId }, parent);

        // The expiry comes from a resource that keeps its value in state, never from the clock.
        const expiry = new time.Rotating(`${name}-rotation`, {
            rotationDays: args.passwordLifetimeDays,
            triggers: { rotation: args.rotation },
        }, parent);
        const password = new azuread.ApplicationPassword(`${name}-password`, {
            applicationId: app.id,
            displayName: `rotation ${args.rotation}`,
            endDate: expiry.rotationRfc3339,
            rotateWhenChanged: { rotation: args.rotation, expiry: expiry.rotationRfc3339 },
        }, { ...parent, additionalSecretOutputs: ["value"] });

        new authorization.RoleAssignment(`${name}-contributor`, {
            principalId: sp.objectId,
            principalType: "ServicePrincipal",
            roleDefinitionId: pulumi.interpolate`/subscriptions/${args.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${CONTRIBUTOR_ROLE}`,
            scope: args.resourceGroupId,
            description: "Aura cluster: manage load balancers, disks and scale sets in its own resource group",
        }, parent);

        this.clientId = app.clientId;
        this.objectId = sp.objectId;
        this.clientSecret = pulumi.secret(password.value);
        this.registerOutputs({ clientId: this.clientId });
    }
}
