// Checks of single profile values against what Kubernetes and the platform accept: resource
// quantities, and names that look like typos of known ones (image references live in release.ts).
// Each returns the reason a value is refused, or undefined; the schema attaches the path.
import { closest } from "./messages";

// ---------------------------------------------------------------------------------------------
// Kubernetes quantities (k8s.io/apimachinery resource.Quantity)

// <sign><digits>[.<digits>] then one suffix: binary SI, an exponent, or decimal SI. Exponent before the
// bare `E` (exa) so that 1E3 reads as 1000; `K` is not a suffix (only `k` and `Ki` are).
const QUANTITY = /^([+-]?)(\d+\.?\d*|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|n|u|m|k|M|G|T|P|E)?$/;
const MULTIPLIER: Record<string, number> = {
    "": 1, n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
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
        const small = /[mun]$/.exec(text)?.[0] as "m" | "u" | "n" | undefined;
        const bytes = `${text} is ${value < 1 ? Number(value.toPrecision(3)) : Math.round(value)} bytes`;
        return small
            ? `must be at least 1Mi (${small} means ${{ m: "milli", u: "micro", n: "nano" }[small]}: ${bytes}; use Mi or Gi)`
            : `must be at least 1Mi (${bytes}; use Mi or Gi)`;
    }
    return undefined;
}

// ---------------------------------------------------------------------------------------------
// names that look like typos

/**
 * Names in `listed` that read as typos: within a typo's distance of a known name, or of a name listed
 * before them. A name the profile marks as deliberate (`isCustom`) is never one. A list longer than
 * `max` is not looked at (its count is refused; comparing every pair of thousands of names would
 * take minutes).
 */
export function nearMisses(listed: string[], known: readonly string[], isCustom: (name: string) => boolean, max: number): Array<{ name: string; like: string }> {
    if (listed.length > max) return [];
    const found: Array<{ name: string; like: string }> = [];
    listed.forEach((name, i) => {
        if (known.includes(name) || isCustom(name)) return;
        const like = closest(name, known) ?? closest(name, listed.slice(0, i));
        if (like !== undefined) found.push({ name, like });
    });
    return found;
}
