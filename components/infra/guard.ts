// The master-count guard: the control plane of an existing environment keeps its size (the seed:
// "the number of master nodes in an existing environment cannot be modified").
import { refusal } from "../stackConfig";

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

/**
 * A new master VM size and a new Kubernetes version in one run: every master restarts for the
 * resize (each after the one before it is back) while the upgrade restarts their etcd members one
 * after another, and the two chains do not wait for each other, so two members could be down at
 * once. Compares with the last deployment's outputs (undefined before the first, or before they
 * existed); returns the reason to stop, or undefined.
 */
export function checkOneMasterChange(previous: { version: unknown; size: unknown }, requested: { version: string; size: string }): string | undefined {
    if (typeof previous.version !== "string" || typeof previous.size !== "string") return undefined;
    if (previous.version === requested.version || previous.size === requested.size) return undefined;
    return (
        `infrastructure.compute.masters.type changes from ${previous.size} to ${requested.size} and kubernetes.version from ${previous.version} to ${requested.version} in one run: ` +
        `the masters' restarts for the new size and their upgrade do not wait for each other, and etcd could lose two members at once. ` +
        `Change one of them, run pulumi up, then the other; nothing was changed.`
    );
}

/** Kubernetes' version skew policy: a kubelet may be up to this many minors older than the API server. */
export const KUBELET_SKEW_MINORS = 3;

const minorOf = (v: string): number | undefined => {
    const m = /^(\d+)\.(\d+)\.\d+$/.exec(v);
    return m ? Number(m[1]) * 1000 + Number(m[2]) : undefined;
};

/**
 * The oldest kubelet an agent may still run. A new Kubernetes version reaches new and reimaged
 * agents only (docs/operations.md, "Upgrade Kubernetes"), so the oldest is the version the cluster
 * ran when its agents were last all rolled: the last deployment's `agentKubeletFloor` output (else
 * its `kubernetesVersion`, else this run's version), raised to stack config `aura:agentsRolledTo`
 * once the operator has rolled them. Throws the reason and the fix for a `rolledTo` that is not a
 * version the cluster ran.
 */
export function agentKubeletFloor(previous: { floor: unknown; version: unknown }, rolledTo: string | undefined, requested: string, stack: string): string {
    const deployed = typeof previous.version === "string" ? previous.version : undefined;
    let floor = typeof previous.floor === "string" ? previous.floor : deployed ?? requested;
    if (rolledTo !== undefined && rolledTo.trim() !== "") {
        const to = rolledTo.trim();
        const ceiling = deployed ?? requested;
        if (minorOf(to) === undefined || (minorOf(ceiling) !== undefined && minorOf(to)! > minorOf(ceiling)!)) {
            throw new Error(
                refusal(
                    stack,
                    "agentsRolledTo",
                    `must be the Kubernetes version the cluster ran when every agent was rolled, at most ${ceiling} — got ${JSON.stringify(rolledTo)} ` +
                        `(e.g. \`pulumi config set aura:agentsRolledTo ${ceiling} -s ${stack}\` after rolling the pools, docs/operations.md "Upgrade Kubernetes")`,
                ),
            );
        }
        if (minorOf(to)! > (minorOf(floor) ?? 0)) floor = to;
    }
    return floor;
}

/**
 * Refuses a Kubernetes version its agents' oldest kubelet would be too far behind; undefined when
 * the run may go on.
 */
export function checkAgentSkew(floor: string, requested: string, stack: string): string | undefined {
    const [from, to] = [minorOf(floor), minorOf(requested)];
    if (from === undefined || to === undefined || to - from <= KUBELET_SKEW_MINORS) return undefined;
    return (
        `kubernetes.version is ${requested}, but agents may still run the kubelet of ${floor} (a new version reaches new and reimaged agents only), ` +
        `more than ${KUBELET_SKEW_MINORS} minors behind, which Kubernetes does not support. Roll every agent pool (docs/operations.md, "Upgrade Kubernetes"), ` +
        `then run \`pulumi config set aura:agentsRolledTo <the version the cluster runs> -s ${stack}\` and pulumi up again; nothing was changed.`
    );
}

/**
 * Stack config `aura:rebuildMasters`: the indexes of the masters being rebuilt (`"1"`, `"0,2"`),
 * each below the profile's master count. Returns them sorted, [] when unset, or throws the reason
 * and the fix.
 */
export function parseRebuildMasters(value: string | undefined, masterCount: number, stack: string): number[] {
    if (value === undefined || value.trim() === "") return [];
    const parts = value.split(",").map((p) => p.trim());
    const bad = parts.filter((p) => !/^\d+$/.test(p) || Number(p) >= masterCount);
    if (bad.length) {
        throw new Error(
            refusal(
                stack,
                "rebuildMasters",
                `must list master indexes from 0 to ${masterCount - 1}, separated by commas — got ${JSON.stringify(value)} ` +
                    `(e.g. \`pulumi config set aura:rebuildMasters 1 -s ${stack}\` while master 1 is replaced; \`pulumi config rm aura:rebuildMasters -s ${stack}\` afterwards)`,
            ),
        );
    }
    return [...new Set(parts.map(Number))].sort((a, b) => a - b);
}
