// Checks of single profile values against what Kubernetes, container registries and the platform
// accept: resource quantities, image references, registries, and names that look like typos of
// known ones. Each returns the reason a value is refused, or undefined; the schema attaches the path.
import { closest } from "./messages";

// ---------------------------------------------------------------------------------------------
// Kubernetes quantities (k8s.io/apimachinery resource.Quantity)

// <sign><digits>[.<digits>] then one suffix: binary SI, an exponent, or decimal SI. Exponent before the
// bare `E` (exa) so that 1E3 reads as 1000; `K` is not a suffix (only `k` and `Ki` are).
const QUANTITY = /^([+-]?)(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|m|k|M|G|T|P|E)?$/;
const MULTIPLIER: Record<string, number> = {
    "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
    Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** The value of a Kubernetes quantity in base units (cores, bytes), or undefined if Kubernetes refuses it. */
export function parseQuantity(text: string): number | undefined {
    const m = QUANTITY.exec(text);
    if (!m) return undefined;
    const suffix = m[3] ?? "";
    const multiplier = /^[eE][+-]?\d+$/.test(suffix) ? 10 ** Number(suffix.slice(1)) : MULTIPLIER[suffix];
    const value = Number(m[2]) * multiplier * (m[1] === "-" ? -1 : 1);
    return Number.isFinite(value) ? value : undefined;
}

/** Why `text` is no usable CPU or memory quantity, or undefined. */
export function quantityProblem(text: string, kind: "cpu" | "memory"): string | undefined {
    const value = parseQuantity(text);
    if (value === undefined) {
        return kind === "cpu"
            ? "must be a Kubernetes CPU quantity such as 500m, 0.5 or 2"
            : `must be a Kubernetes memory quantity such as 512Mi, 1.5Gi or 1G${/^\d+(\.\d+)?K$/.test(text) ? " (kilo is k or Ki, not K)" : ""}`;
    }
    if (value < 0) return "must not be negative";
    if (kind === "memory" && value > 0 && value < 2 ** 20) {
        return "must be at least 1Mi (m means milli: 512m is half a byte; use Mi or Gi)";
    }
    return undefined;
}

// ---------------------------------------------------------------------------------------------
// container images and registries (the distribution/reference grammar)

const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/;
const PATH_COMPONENT = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+([.+_-][a-z0-9]+)*:[A-Za-z0-9=_-]{32,}$/;

/** Why `host[:port]` is no registry host, or undefined. */
function hostProblem(host: string): string | undefined {
    const [name, port, ...more] = host.split(":");
    if (more.length || !name.split(".").every((l) => HOST_LABEL.test(l))) return `has an invalid registry host ${JSON.stringify(host)}`;
    if (port !== undefined && (!/^[1-9]\d{0,4}$/.test(port) || Number(port) > 65535)) {
        return `has an impossible registry port ${JSON.stringify(port)} (a port is 1 to 65535)`;
    }
    return undefined;
}

/** Why `ref` is no pinned container image reference, or undefined. */
export function imageProblem(ref: string): string | undefined {
    if (ref.length > 255) return "must be at most 255 characters";
    if (/\s/.test(ref)) return "must not contain spaces (an image is registry/name:tag)";
    if (/[^A-Za-z0-9._\-/:@]/.test(ref)) return "must not contain shell syntax or other characters (an image is registry/name:tag)";
    const [name, digest, ...more] = ref.split("@");
    if (more.length || (digest !== undefined && !DIGEST.test(digest))) return "has an invalid digest (expected @sha256:<hex>)";
    const slash = name.lastIndexOf("/");
    const colon = name.lastIndexOf(":");
    const tag = colon > slash ? name.slice(colon + 1) : undefined;
    const path = colon > slash ? name.slice(0, colon) : name;
    const components = path.split("/");
    const first = components[0];
    const hasHost = components.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost" || /[A-Z]/.test(first));
    if (hasHost) {
        const why = hostProblem(first);
        if (why) return why;
    }
    if (!components.slice(hasHost ? 1 : 0).every((c) => PATH_COMPONENT.test(c))) {
        return "must be registry/name:tag with a lowercase name (letters, digits, '.', '_', '-' between them)";
    }
    if (tag !== undefined) {
        if (!TAG.test(tag)) return `has an invalid tag ${JSON.stringify(tag.slice(0, 40))}`;
        if (tag === "latest") return "must not use the tag latest: pin a version (latest moves, so nodes would run different code)";
    } else if (digest === undefined) {
        return "must name a tag or a digest, e.g. auraplatform.azurecr.io/nlp:2026.11.1 (without one it means latest)";
    }
    return undefined;
}

/** Why `registry` (host[:port][/path]) is no container registry, or undefined. */
export function registryProblem(registry: string): string | undefined {
    const [host, ...path] = registry.split("/");
    if (!host || /[^A-Za-z0-9.:-]/.test(host)) return "must be a container registry such as auraplatform.azurecr.io";
    const why = hostProblem(host);
    if (why) return why;
    if (!path.every((c) => PATH_COMPONENT.test(c))) return "must be host[:port][/path] with a lowercase path";
    return undefined;
}

// ---------------------------------------------------------------------------------------------
// names that look like typos

/**
 * Names in `listed` that read as typos: within a typo's distance of a known name, or of a name listed
 * before them. A name the profile marks as deliberate (`isCustom`) is never one.
 */
export function nearMisses(listed: string[], known: readonly string[], isCustom: (name: string) => boolean): Array<{ name: string; like: string }> {
    const found: Array<{ name: string; like: string }> = [];
    listed.forEach((name, i) => {
        if (known.includes(name) || isCustom(name)) return;
        const like = closest(name, known) ?? closest(name, listed.slice(0, i));
        if (like !== undefined) found.push({ name, like });
    });
    return found;
}
