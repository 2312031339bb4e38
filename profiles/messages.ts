// The one formatter of profile problems: `key.path: reason — got X`, with the file name put in front
// by `ProfileError`. Values and keys come from a hostile file, so everything echoed here is bounded
// (length, depth, number of problems) and escaped (control and bidirectional characters), and no
// value is ever serialised whole.

/** A path into the profile: mapping keys are strings, list positions are numbers. */
export type KeyPath = ReadonlyArray<string | number>;

/** At most this many characters of one echoed value or key. */
const MAX_ECHO = 60;
/** At most this many problems are listed; the rest are counted ("… and N more"). */
export const MAX_PROBLEMS = 40;

/**
 * A YAML integer too large to be held exactly by a JavaScript number (beyond 2^53). The loader keeps
 * its source text so that messages show what the file says, not the rounded number.
 */
export class InexactNumber {
    constructor(readonly source: string) {}
}

/** Everything wrong with a profile, one `key.path: reason — got X` line each. */
export class ProfileError extends Error {
    constructor(
        readonly file: string,
        readonly problems: string[],
    ) {
        // A file name with control or invisible characters is shown escaped, as values are: it must
        // not rewrite the terminal (or the pull request comment) it is printed to.
        const shown = INVISIBLE.test(file) ? quote(file, 200) : file;
        // A capped list ends in "… and N more": the header counts them all.
        const more = /^… and (\d+) more/.exec(problems[problems.length - 1] ?? "");
        const count = more ? problems.length - 1 + Number(more[1]) : problems.length;
        super(
            problems.length === 1
                ? `${shown}: ${problems[0]}`
                : `${shown}: ${count} problems:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
        );
        this.name = "ProfileError";
    }
}

/** One problem line: `key.path: reason`, and `— got X` when the value is worth showing. */
export function problem(path: KeyPath, reason: string, got?: { value: unknown }): string {
    return `${keyPath(path)}: ${reason}${got ? ` — got ${describe(got.value)}` : ""}`;
}

/** Caps a list of problem lines at MAX_PROBLEMS, saying how many were left out. */
export function capProblems(lines: string[], total = lines.length): string[] {
    if (total <= MAX_PROBLEMS) return lines;
    return [...lines.slice(0, MAX_PROBLEMS), `… and ${total - MAX_PROBLEMS} more (fix these first)`];
}

/** `infrastructure.compute.masters.size`, `access.users[0].name`; odd keys quoted and escaped. */
export function keyPath(path: KeyPath): string {
    if (path.length === 0) return "(top level)";
    let out = "";
    for (const segment of path) {
        if (typeof segment === "number") out += `[${segment}]`;
        else if (/^[A-Za-z0-9_-]{1,64}$/.test(segment)) out += `${out ? "." : ""}${segment}`;
        else out += `${out ? "." : ""}${quote(segment)}`;
    }
    return out;
}

/** A short, safe description of any parsed YAML value. */
export function describe(value: unknown): string {
    return preview(value, 2);
}

function preview(value: unknown, depth: number): string {
    if (value === undefined) return "nothing";
    if (value === null) return "null";
    if (value instanceof InexactNumber) return `${value.source} (beyond 2^53: a number that large is not exact)`;
    switch (typeof value) {
        case "number":
            if (Number.isNaN(value)) return ".nan";
            if (!Number.isFinite(value)) return value > 0 ? ".inf" : "-.inf";
            return String(value);
        case "boolean":
            return String(value);
        case "string":
            return quote(value);
        case "object":
            break;
        default:
            return typeof value;
    }
    if (Array.isArray(value)) {
        if (value.length === 0) return "an empty list";
        if (depth === 0) return `a list of ${value.length}`;
        const shown = value.slice(0, 3).map((v) => preview(v, depth - 1));
        return `a list (${shown.join(", ")}${value.length > 3 ? `, … ${value.length} items` : ""})`;
    }
    const keys = Object.keys(value as object);
    if (keys.length === 0) return "an empty mapping";
    if (depth === 0) return `a mapping of ${keys.length} keys`;
    const shown = keys.slice(0, 3).map((k) => (/^[A-Za-z0-9_-]{1,32}$/.test(k) ? k : quote(k, 32)));
    return `a mapping (${shown.join(", ")}${keys.length > 3 ? `, … ${keys.length} keys` : ""})`;
}

/** Characters a terminal does not show as themselves: controls, and those quote() escapes. */
// eslint-disable-next-line no-control-regex -- the control characters are what it looks for
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff]/;

/** A string in double quotes, cut to `max` characters, with every invisible character escaped. */
export function quote(text: string, max = MAX_ECHO): string {
    const cut = text.length > max ? text.slice(0, max) : text;
    const escaped = JSON.stringify(cut).replace(
        // C1 controls, soft hyphen, bidirectional and zero-width marks, separators, BOM: all invisible or
        // able to reorder the terminal's line.
        /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
    return text.length > max ? `${escaped}… (${text.length} characters)` : escaped;
}

/** Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
export function editDistance(a: string, b: string): number {
    if (Math.abs(a.length - b.length) > 3) return Math.abs(a.length - b.length);
    const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.length][b.length];
}

/** How many edits still read as a typo of a name this long. */
export function typoDistance(name: string): number {
    return name.length <= 4 ? 1 : 2;
}

/** The closest of `known` to `name` (case-insensitively) within a typo's distance, if any. */
export function closest(name: string, known: Iterable<string>, within = typoDistance(name)): string | undefined {
    if (name.length > 100) return undefined;
    const lower = name.toLowerCase();
    let best: string | undefined;
    let bestDistance = within + 1;
    for (const k of known) {
        const d = editDistance(lower, k.toLowerCase());
        if (d < bestDistance) [best, bestDistance] = [k, d];
    }
    return best;
}
