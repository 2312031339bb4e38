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
