// Every Azure name the infra stage derives, computed in one place against Azure's rules.

/** The base of every name in an environment: `aura-<environment>`. */
export function clusterName(environment: string): string {
    return `aura-${environment}`;
}

/**
 * Storage account name: 3-24 lowercase letters and digits, globally unique. `suffix` is a random
 * string kept in state, so the name is stable for the life of the environment.
 */
export function storageAccountName(environment: string, suffix: string): string {
    const env = environment.replace(/[^a-z0-9]/g, "").slice(0, 24 - "aura".length - "meta".length - suffix.length);
    const name = `aura${env}meta${suffix}`;
    if (!/^[a-z0-9]{3,24}$/.test(name)) throw new Error(`derived storage account name "${name}" breaks Azure's rule (3-24 lowercase letters and digits)`);
    return name;
}

/** DNS label of the API server's public IP: `<label>.<region>.cloudapp.azure.com`. 3-63 characters. */
export function apiDnsLabel(environment: string, suffix: string): string {
    return `aura-${environment}-api-${suffix}`.slice(0, 63);
}

/** Master VM and computer name (Linux host names ≤ 64; kept short and stable). */
export function masterName(environment: string, index: number): string {
    return `aura-${environment}-master-${index}`;
}

/** VM scale set name of a pool's scale set in `zone` (none without zones); the autoscaler's node group name. */
export function scaleSetName(environment: string, pool: string, zone?: string): string {
    return zone ? `aura-${environment}-${pool}-z${zone}` : `aura-${environment}-${pool}`;
}

/**
 * Computer-name prefix of a pool's instances. Azure appends a 6-character suffix; the seed's nodes
 * read `k8s-<pool>-…`, and ours read `<env>-<pool>-` so two environments never share node names.
 * Instance ids count per scale set, so each zonal scale set needs its own prefix (`<env>-<pool>-z1-`).
 * Linux allows a prefix of up to 58 characters.
 */
export function computerNamePrefix(environment: string, pool: string, zone?: string): string {
    return `${environment}-${pool}-${zone ? `z${zone}-` : ""}`.slice(0, 58);
}
