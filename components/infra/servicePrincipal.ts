// The cluster's service principal: what the Azure cloud provider, the disk CSI driver and the
// cluster-autoscaler act as. Contributor on the infra resource group only (the seed's setting), less
// everything on the masters but reading them (CLUSTER_ROLE_NOT_ACTIONS).
// Its password rotates by replacement; no node embeds it (the system stage hands it to the cluster
// as a Kubernetes Secret), so a rotation never reimages a node (unlike aks-engine, Azure/aks-engine#724).
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import * as authorization from "@pulumi/azure-native/authorization";
import * as time from "@pulumiverse/time";

/**
 * What the cluster's role denies in its resource group, where it may otherwise do what Contributor
 * may. Contributor's own exclusions (no role assignments), and everything on the masters beyond
 * reading them: the only VMs in the group, they hold the cluster CA keys and etcd. Code on them (Run
 * Commands, extensions), their disks (a VM update attaches, detaches or swaps disks; a disk's or
 * snapshot's export link), their identity, capture and power. The cloud provider, the disk CSI
 * driver and the autoscaler work on scale sets, load balancers, addresses and disks, and only read
 * the masters (control-plane nodes stay out of load balancers; no volume lands on them).
 * This closes the direct ways in, not every way: the role may still copy a disk (the CSI driver's
 * work) and attach it to an agent, where a scale set's model may run code. Only the masters in a
 * resource group of their own, where the principal reads, would close that.
 */
export const CLUSTER_ROLE_NOT_ACTIONS = [
    "Microsoft.Authorization/*/Delete",
    "Microsoft.Authorization/*/Write",
    "Microsoft.Authorization/elevateAccess/Action",
    "Microsoft.Compute/virtualMachines/write",
    "Microsoft.Compute/virtualMachines/delete",
    "Microsoft.Compute/virtualMachines/attachDetachDataDisks/action",
    "Microsoft.Compute/virtualMachines/runCommand/action",
    "Microsoft.Compute/virtualMachines/runCommands/write",
    "Microsoft.Compute/virtualMachines/extensions/write",
    "Microsoft.Compute/virtualMachines/extensions/delete",
    "Microsoft.Compute/virtualMachines/capture/action",
    "Microsoft.Compute/virtualMachines/reimage/action",
    "Microsoft.Compute/virtualMachines/redeploy/action",
    "Microsoft.Compute/virtualMachines/restart/action",
    "Microsoft.Compute/virtualMachines/powerOff/action",
    "Microsoft.Compute/virtualMachines/deallocate/action",
    "Microsoft.Compute/disks/beginGetAccess/action",
    "Microsoft.Compute/snapshots/beginGetAccess/action",
] as const;

/** A GUID derived from `seed` (a role definition's id: the same environment, the same role). */
export function stableGuid(seed: string): string {
    const h = crypto.createHash("sha256").update(seed).digest("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

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

        // Contributor on the infra resource group, less what CLUSTER_ROLE_NOT_ACTIONS names: a
        // leaked client secret must not reach the masters. Role names are unique in the tenant, so
        // this one names the resource group's id.
        const roleId = pulumi.output(args.resourceGroupId).apply((rg) => stableGuid(`aura-cluster-role:${rg.toLowerCase()}`));
        const role = new authorization.RoleDefinition(`${name}-role`, {
            scope: args.resourceGroupId,
            roleDefinitionId: roleId,
            roleName: pulumi.interpolate`Aura cluster (${args.resourceGroupId})`,
            description: "Aura cluster: load balancers, disks and scale sets in its resource group; nothing of the masters but reading them",
            roleType: "CustomRole",
            permissions: [{ actions: ["*"], notActions: [...CLUSTER_ROLE_NOT_ACTIONS] }],
            assignableScopes: [args.resourceGroupId],
        }, parent);
        // A new role definition takes a while to reach every region's replica; an assignment made
        // at once can fail with RoleDefinitionDoesNotExist.
        const replicated = new time.Sleep(`${name}-role-replication`, { createDuration: "60s", triggers: { roleId } }, { ...parent, dependsOn: [role] });
        new authorization.RoleAssignment(`${name}-assignment`, {
            principalId: sp.objectId,
            principalType: "ServicePrincipal",
            roleDefinitionId: pulumi.interpolate`/subscriptions/${args.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${roleId}`,
            scope: args.resourceGroupId,
            description: "Aura cluster: manage load balancers, disks and scale sets in its own resource group",
        }, { ...parent, dependsOn: [replicated] });

        this.clientId = app.clientId;
        this.objectId = sp.objectId;
        this.clientSecret = pulumi.secret(password.value);
        this.passwordExpiry = endDate;
        this.registerOutputs({ clientId: this.clientId });
    }
}
