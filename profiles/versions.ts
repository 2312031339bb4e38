// The Kubernetes versions this installer can install, in one place. The profile check, the defaults
// and the cloud-init renderer all read these bounds; the upgrade guard (one minor at a time, no
// downgrade) compares with the previous deployment on top of them.

/**
 * Oldest supported: the installer writes kubeadm's v1beta4 configuration, which kubeadm reads from
 * 1.31 on.
 */
export const OLDEST_KUBERNETES = { major: 1, minor: 31 } as const;

/**
 * Newest known: the newest minor whose installation (kubeadm config, pkgs.k8s.io package repository,
 * charts) this installer was checked against. Raise it, with the default below, after trying the
 * new minor on a preproduction environment. Any patch release of a known minor is accepted.
 */
export const NEWEST_KUBERNETES = { major: 1, minor: 34 } as const;

/** What new profiles get when they name no version. */
export const DEFAULT_KUBERNETES_VERSION = "1.33.5";

/** `MAJOR.MINOR.PATCH` without leading zeros or a "v". */
export const KUBERNETES_VERSION = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/** Why `version` cannot be installed, or undefined when it can. */
export function kubernetesVersionProblem(version: string): string | undefined {
    const m = KUBERNETES_VERSION.exec(version);
    const oldest = `${OLDEST_KUBERNETES.major}.${OLDEST_KUBERNETES.minor}.0`;
    const newest = `${NEWEST_KUBERNETES.major}.${NEWEST_KUBERNETES.minor}`;
    if (!m) return `must be an exact Kubernetes version MAJOR.MINOR.PATCH such as ${DEFAULT_KUBERNETES_VERSION} (no "v", no leading zeros)`;
    const [major, minor] = [Number(m[1]), Number(m[2])];
    if (major < OLDEST_KUBERNETES.major || (major === OLDEST_KUBERNETES.major && minor < OLDEST_KUBERNETES.minor)) {
        return `must be ${oldest} or newer (the oldest this installer supports: kubeadm config v1beta4)`;
    }
    if (major > NEWEST_KUBERNETES.major || (major === NEWEST_KUBERNETES.major && minor > NEWEST_KUBERNETES.minor)) {
        return `must be at most ${newest}.x (the newest minor this installer knows; raise NEWEST_KUBERNETES in profiles/versions.ts once it is tested)`;
    }
    return undefined;
}
