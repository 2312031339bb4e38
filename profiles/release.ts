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

/**
 * Why an image reference cannot be deployed, or undefined when it can. Without a tag the runtime
 * pulls `:latest`, and `latest` moves: two pods of one Deployment could run different code and a
 * rollback would not roll back. A digest (`@sha256:…`) pins exactly and is accepted.
 */
export function imageProblem(image: string): string | undefined {
    if (/@sha256:[a-f0-9]{64}$/.test(image)) return undefined;
    const lastSegment = image.slice(image.lastIndexOf("/") + 1);
    const colon = lastSegment.lastIndexOf(":");
    if (colon < 0) {
        return "has no tag, so it would run whatever :latest is at pull time — pin a version such as registry/name:2026.11.1 or a @sha256 digest";
    }
    const tag = lastSegment.slice(colon + 1);
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) {
        return `has an invalid tag "${tag}" (letters, digits, '_', '.' and '-', at most 128)`;
    }
    if (tag === "latest") {
        return "uses the tag latest, which moves between pulls — pin a version such as registry/name:2026.11.1 or a @sha256 digest";
    }
    return undefined;
}

/** The image of a core service or job: the profile's, else `<registry>/<name>:<version>` of the release. */
export function imageFor(name: string, image: string | undefined, release: Release): string {
    return image ?? `${release.registry}/${name}:${release.version}`;
}
