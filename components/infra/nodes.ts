// Rules shared by masters and agent pools that decide what a later `pulumi up` may change on a
// running node: zones, accelerated networking by VM size, SSH keys through an extension, and the
// capacity and load-balancer wiring of a scale set that other controllers own.

/** Availability zones as Azure takes them: absent (not `[]`) in a region without zones. */
export function zonesInput(zones: string[]): string[] | undefined {
    return zones.length ? zones : undefined;
}

/**
 * VM sizes with accelerated networking, kept in one place. Azure refuses a NIC with accelerated
 * networking on a size without it, so a size not listed here gets none (always valid).
 * Each entry: a size pattern whose first group is the vCPU figure of the name, and the fewest vCPUs
 * the family needs (hyper-threaded v3 families need 4).
 */
const ACCELERATED_NETWORKING: ReadonlyArray<readonly [RegExp, number]> = [
    [/^Standard_DS?(\d+)_v2$/, 2], // Dv2/DSv2, including the memory sizes 11-15 (2+ vCPUs)
    [/^Standard_[DE](\d+)s?_v3$/, 4], // Dv3/Dsv3/Ev3/Esv3: 4+ vCPUs
    [/^Standard_F(\d+)s_v2$/, 4], // Fsv2: 4+ vCPUs
    [/^Standard_[DE](\d+)(?:a|d|ad)?s?_v[45]$/, 2], // Dv4/Dv5/Ev4/Ev5 and their a/d/s variants
];

/** Whether a VM size supports accelerated networking (see the table above). */
export function supportsAcceleratedNetworking(vmSize: string): boolean {
    return ACCELERATED_NETWORKING.some(([pattern, minCpus]) => {
        const match = pattern.exec(vmSize);
        return match !== null && Number(match[1]) >= minCpus;
    });
}

/**
 * The VMAccess extension that installs the admin user's SSH key on running VMs. A VM's
 * `osProfile.linuxConfiguration.ssh` is fixed at creation (PropertyChangeNotAllowed), so a new
 * `aura:sshPublicKey` reaches existing nodes through this extension; `remove_prior_keys` makes it a
 * rotation (the old key stops working), not an addition.
 */
export const SSH_ACCESS_EXTENSION = {
    publisher: "Microsoft.OSTCExtensions",
    type: "VMAccessForLinux",
    typeHandlerVersion: "1.5",
    autoUpgradeMinorVersion: true,
} as const;

/** The extension's protected settings for `username` with the single key `sshPublicKey`. */
export function sshAccessSettings(username: string, sshPublicKey: string) {
    return { username, ssh_key: sshPublicKey, remove_prior_keys: true, reset_ssh: false };
}

/**
 * A scale set's capacity to send with an update. azure-native updates with a full PUT, so the
 * capacity sent is the capacity Azure applies: sending the profile's min_size would delete nodes the
 * autoscaler added, without draining them. So: the live capacity when the scale set exists (raised
 * to min_size if the profile raised it; never lowered to max_size — the autoscaler drains the
 * surplus), min_size on creation.
 */
export function scaleSetCapacity(live: number | undefined, minSize: number): number {
    return live === undefined ? minSize : Math.max(live, minSize);
}

/**
 * Splits a pool's bounds over its zonal scale sets so that the sums equal the profile's: the first
 * zones take the remainder. Each scale set gets at least max 1, so the autoscaler can use it.
 */
export function splitOverZones(minSize: number, maxSize: number, zones: number): Array<{ minSize: number; maxSize: number }> {
    const share = (total: number, i: number) => Math.floor(total / zones) + (i < total % zones ? 1 : 0);
    return Array.from({ length: zones }, (_, i) => ({ minSize: share(minSize, i), maxSize: share(maxSize, i) }));
}

/** vCPUs of the v2 sizes, whose names do not say it (Dv2/DSv2: 1, 2, 3, 4, 5 and the memory 11-15). */
const V2_VCPUS: Record<string, number> = { 1: 1, 2: 2, 3: 4, 4: 8, 5: 16, 11: 2, 12: 4, 13: 8, 14: 16, 15: 20 };

/** vCPUs of a VM size, or undefined for a size this table does not know. */
export function vcpusOf(vmSize: string): number | undefined {
    const v2 = /^Standard_DS?(\d+)_v2$/.exec(vmSize);
    if (v2) return V2_VCPUS[v2[1]];
    // From v3 on, and in the Fsv2 family, the figure in the name is the vCPU count.
    const named = /^Standard_(?:[DEF](\d+)[a-z]*_v[2-6]|B(\d+)[a-z]*)$/.exec(vmSize);
    return named ? Number(named[1] ?? named[2]) : undefined;
}

/** The vCPU quota a profile needs in its region: per VM size and in total, at min_size and at max_size. */
export function vcpuQuota(nodes: Array<{ vmSize: string; minCount: number; maxCount: number }>): {
    bySize: Record<string, { min: number; max: number }>;
    min: number;
    max: number;
    unknownSizes: string[];
} {
    const bySize: Record<string, { min: number; max: number }> = {};
    const unknownSizes = new Set<string>();
    for (const { vmSize, minCount, maxCount } of nodes) {
        const vcpus = vcpusOf(vmSize);
        if (vcpus === undefined) {
            unknownSizes.add(vmSize);
            continue;
        }
        const need = (bySize[vmSize] ??= { min: 0, max: 0 });
        need.min += vcpus * minCount;
        need.max += vcpus * maxCount;
    }
    const sum = (key: "min" | "max") => Object.values(bySize).reduce((total, need) => total + need[key], 0);
    return { bySize, min: sum("min"), max: sum("max"), unknownSizes: [...unknownSizes] };
}
