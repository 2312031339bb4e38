// The master-count guard: the control plane of an existing environment keeps its size (the seed:
// "the number of master nodes in an existing environment cannot be modified").

/**
 * Compares the master count of the last deployment (a stack output, undefined before the first)
 * with the profile's. Returns the reason to stop, or undefined when the run may go on.
 */
export function checkMasterCount(previous: unknown, requested: number): string | undefined {
    if (previous === undefined || previous === null) return undefined;
    const count = Number(previous);
    if (!Number.isInteger(count)) return undefined;
    if (count === requested) return undefined;
    return (
        `infrastructure.compute.masters.size is ${requested}, but this environment runs ${count} masters. ` +
        `The master count of an existing environment cannot change (etcd membership and certificates are tied to it). ` +
        `Set infrastructure.compute.masters.size back to ${count}; nothing was changed.`
    );
}
