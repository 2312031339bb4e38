// The platform release this installer ships with, and the image-reference rules every core image
// obeys. The one place that names the default release: the loader applies it to a profile without
// `release:`, `aura validate` prints it, and core images default to `<registry>/<name>:<version>`.

/** A platform release: the tag of every core image and the registry they come from. */
export interface Release {
    /** Platform release; the image tag of every core service and job. */
    version: string;
    /** Registry the core images come from. */
    registry: string;
}

/** The release this installer was built and tested with; a profile without `release:` runs it. */
export const DEFAULT_RELEASE: Readonly<Release> = Object.freeze({
    version: "2026.11.1",
    registry: "auraplatform.azurecr.io",
});

// The distribution/reference grammar: host[:port]/path/components[:tag][@digest].
const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/;
const PATH_COMPONENT = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+([.+_-][a-z0-9]+)*:[A-Za-z0-9=_-]{32,}$/;

/** Why `host[:port]` is no registry host, or undefined. */
function hostProblem(host: string): string | undefined {
    const [name, port, ...more] = host.split(":");
    if (more.length || !name.split(".").every((l) => HOST_LABEL.test(l))) return `has an invalid registry host ${JSON.stringify(host.slice(0, 60))}`;
    if (port !== undefined && (!/^[1-9]\d{0,4}$/.test(port) || Number(port) > 65535)) {
        return `has an impossible registry port ${JSON.stringify(port.slice(0, 10))} (a port is 1 to 65535)`;
    }
    return undefined;
}

/**
 * Why an image reference cannot be deployed, or undefined when it can. Without a tag the runtime
 * pulls `:latest`, and `latest` moves: two pods of one Deployment could run different code and a
 * rollback would not roll back. A digest (`@sha256:…`) pins exactly and is accepted. Spaces, shell
 * syntax, uppercase paths and impossible ports are refused here rather than by the kubelet.
 */
export function imageProblem(image: string): string | undefined {
    if (image.length > 255) return "must be at most 255 characters";
    if (/\s/.test(image)) return "must not contain spaces (an image is registry/name:tag)";
    if (/[^A-Za-z0-9._\-/:@]/.test(image)) return "must not contain shell syntax or other characters (an image is registry/name:tag)";
    const [name, digest, ...more] = image.split("@");
    if (more.length || (digest !== undefined && !DIGEST.test(digest))) return "has an invalid digest (expected @sha256:<64 hex digits>)";
    const slash = name.lastIndexOf("/");
    const colon = name.lastIndexOf(":");
    const tag = colon > slash ? name.slice(colon + 1) : undefined;
    const components = (colon > slash ? name.slice(0, colon) : name).split("/");
    const first = components[0];
    const hasHost = components.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost");
    const host = hasHost ? hostProblem(first) : undefined;
    if (host) return host;
    if (!components.slice(hasHost ? 1 : 0).every((c) => PATH_COMPONENT.test(c))) {
        return "must be registry/name:tag with a lowercase name (letters, digits, and '.', '_' or '-' between them)";
    }
    if (tag === undefined) {
        return digest !== undefined
            ? undefined
            : "has no tag, so it would run whatever :latest is at pull time — pin a version such as registry/name:2026.11.1 or a @sha256 digest";
    }
    if (!TAG.test(tag)) return `has an invalid tag "${tag.slice(0, 40)}" (letters, digits, '_', '.' and '-', at most 128)`;
    if (tag === "latest") {
        return "uses the tag latest, which moves between pulls — pin a version such as registry/name:2026.11.1 or a @sha256 digest";
    }
    return undefined;
}

/** Why `registry` (host[:port][/path]) is no container registry, or undefined. */
export function registryProblem(registry: string): string | undefined {
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(registry);
    if (scheme) return `must be a registry host, not a URL: leave out ${scheme[0]} (e.g. ${registry.slice(scheme[0].length, scheme[0].length + 60).replace(/\/+$/, "")})`;
    const [host, ...path] = registry.split("/");
    if (!host || /[^A-Za-z0-9.:-]/.test(host)) return "must be a container registry such as auraplatform.azurecr.io";
    const why = hostProblem(host);
    if (why) return why;
    if (!path.every((c) => PATH_COMPONENT.test(c))) return "must be host[:port][/path] with a lowercase path";
    return undefined;
}

/** The image of a core service or job: the profile's, else `<registry>/<name>:<version>` of the release. */
export function imageFor(name: string, image: string | undefined, release: Release): string {
    return image ?? `${release.registry}/${name}:${release.version}`;
}
