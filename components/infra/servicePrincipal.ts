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
    /** Days after which the first `pulumi up` (it refreshes first: Pulumi.yaml) makes a new password. */
    passwordRotationDays: number;
    /** Days a password stays valid; longer than the rotation, so the two overlap. */
    passwordLifetimeDays: number;
}

/** `rfc3339` plus `days`, in the same RFC 3339 form (seconds, UTC). */
export function addDays(rfc3339: string, days: number): string {
    const t = Date.parse(rfc3339);
    if (Number.isNaN(t)) throw new Error(`not an RFC 3339 time: ${rfc3339}`);
    return new Date(t + days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export class ServicePrincipal extends pulumi.ComponentResource {
    readonly clientId: pulumi.Output<string>;
    readonly objectId: pulumi.Output<string>;
    /** The client secret (a Pulumi secret). */
    readonly clientSecret: pulumi.Output<string>;
    /** When the current password expires (RFC 3339). */
    readonly passwordExpiry: pulumi.Output<string>;

    constructor(name: string, args: ServicePrincipalArgs, opts?: pulumi.ComponentResourceOptions) {
        super("aura:infra:ServicePrincipal", name, {}, opts);
        const parent = { parent: this };

        const app = new azuread.Application(`${name}-app`, {
            displayName: name,
            description: "Kubernetes cloud provider, disk CSI and cluster-autoscaler of the Aura Platform",
        }, parent);
        const sp = new azuread.ServicePrincipal(`${name}-sp`, { clientId: app.clientId }, parent);

        // Times come from a resource that keeps them in state, never from the clock. time.Rotating
        // notices its rotation time only when refreshed (Pulumi.yaml: `refresh: always`); then it is
        // recreated, and so is the password. The password outlives the rotation time by
        // lifetime − rotation days, so a `pulumi up` run late still finds the old one valid, and
        // the new one exists (and reaches the cluster's Secrets) before the old one is deleted.
        const rotation = new time.Rotating(`${name}-rotation`, {
            rotationDays: args.passwordRotationDays,
            triggers: { rotation: args.rotation },
        }, parent);
        const endDate = rotation.rfc3339.apply((created) => addDays(created, args.passwordLifetimeDays));
        const password = new azuread.ApplicationPassword(`${name}-password`, {
            applicationId: app.id,
            displayName: `rotation ${args.rotation}`,
            endDate,
            rotateWhenChanged: { rotation: args.rotation, rotated: rotation.rfc3339 },
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
        this.passwordExpiry = endDate;
        this.registerOutputs({ clientId: this.clientId });
    }
}
