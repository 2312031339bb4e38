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

/**
 * Compares the Kubernetes version of the last deployment (a stack output, undefined before the
 * first) with the profile's. kubeadm upgrades one minor version at a time and never downgrades:
 * returns the reason to stop, or undefined when the run may go on.
 */
export function checkKubernetesVersion(previous: unknown, requested: string): string | undefined {
    if (typeof previous !== "string") return undefined;
    const parse = (v: string) => /^(\d+)\.(\d+)\.(\d+)$/.exec(v)?.slice(1).map(Number);
    const from = parse(previous);
    const to = parse(requested);
    if (!from || !to) return undefined;
    const order = (v: number[]) => v[0] * 1e8 + v[1] * 1e4 + v[2];
    if (order(to) < order(from)) {
        return (
            `kubernetes.version is ${requested}, older than the ${previous} this environment runs. ` +
            `Kubernetes cannot be downgraded (etcd and the API objects are already at the newer version). ` +
            `Set kubernetes.version back to ${previous} or newer; nothing was changed.`
        );
    }
    if (to[0] !== from[0] || to[1] > from[1] + 1) {
        return (
            `kubernetes.version is ${requested}, but this environment runs ${previous}: kubeadm upgrades one minor version at a time. ` +
            `Set kubernetes.version to a ${from[0]}.${from[1] + 1}.x release, run pulumi up, then go on to ${requested}; nothing was changed.`
        );
    }
    return undefined;
}
