// Promotion: a stack with `aura:promoteFrom` deploys only the release its upstream stack runs. This
// file owns the rule the program applies and the profile text edit `aura promote` makes.
import * as yaml from "js-yaml";
import { Release, imageFor } from "./release";

/** The command that fixes a refused promotion. */
export function promoteCommand(upstream: string, stack: string): string {
    return `npx aura promote --from ${upstream} --to ${stack}`;
}

/** The release an upstream's `release` stack output holds (object, or a bare version string), if any. */
export function upstreamVersion(output: unknown): string | undefined {
    if (typeof output === "string" && output) return output;
    const version = (output as { version?: unknown } | null | undefined)?.version;
    return typeof version === "string" && version ? version : undefined;
}

/** The core workloads of a profile, as far as their images go. */
interface Workloads {
    release: Release;
    core: { services: Record<string, { image?: string }>; jobs: Record<string, { image?: string }> };
}

/**
 * The image every core service and job runs, by its profile key path (`core.services.nlp`): the
 * `images` stack output, which a promoted stack compares with its upstream's.
 */
export function workloadImages(profile: Workloads): Record<string, string> {
    const images: Record<string, string> = {};
    for (const kind of ["services", "jobs"] as const) {
        for (const [name, spec] of Object.entries(profile.core[kind])) images[`core.${kind}.${name}`] = imageFor(name, spec.image, profile.release);
    }
    return images;
}

/**
 * Why `stack` may not deploy `release` and `images`, given the `release` and `images` outputs of its
 * upstream's last deployment; undefined when it may.
 */
export function checkPromotion(args: {
    /** The stack being deployed. */
    stack: string;
    /** The upstream stack name (`aura:promoteFrom`). */
    upstream: string;
    /** The profile file, for messages. */
    file: string;
    /** The release the profile pins. */
    release: Release | undefined;
    /** The upstream's `release` stack output; undefined when it has no deployment. */
    upstreamRelease: unknown;
    /** The image of every core workload this stack would run (workloadImages). */
    images: Record<string, string>;
    /** The upstream's `images` stack output; undefined when its deployment predates it. */
    upstreamImages: unknown;
}): string | undefined {
    const { stack, upstream, file, release } = args;
    const running = upstreamVersion(args.upstreamRelease);
    if (running === undefined) {
        return (
            `${file}: release: ${stack} promotes from ${upstream} (aura:promoteFrom), but ${upstream} has no deployment ` +
            `with a release yet (its stack has no "release" output) — nothing to promote. Deploy ${upstream} first ` +
            `(pulumi up -s ${upstream}), then run: ${promoteCommand(upstream, stack)}`
        );
    }
    if (!release) {
        return `${file}: release: is required because ${stack} promotes from ${upstream}, which runs ${running} — got none. Run: ${promoteCommand(upstream, stack)}`;
    }
    if (release.version !== running) {
        return (
            `${file}: release.version: ${stack} may deploy only the release ${upstream} runs — got ${release.version}, ` +
            `but ${upstream} runs ${running}. Run \`${promoteCommand(upstream, stack)}\` (writes ${running} into ${file}) ` +
            `and merge that change, or deploy ${release.version} to ${upstream} first.`
        );
    }
    // The release alone does not say what runs: an image override, or another registry, would run
    // code the upstream never ran.
    const upstreamImages = args.upstreamImages;
    if (upstreamImages === null || typeof upstreamImages !== "object" || Array.isArray(upstreamImages)) {
        return (
            `${file}: ${stack} promotes from ${upstream}, whose last deployment reports no images (it predates the "images" output, ` +
            `which says what each service and job runs). Deploy ${upstream} again (pulumi up -s ${upstream}), then ${stack}.`
        );
    }
    const runs = upstreamImages as Record<string, unknown>;
    const known = new Set(Object.values(runs).filter((v): v is string => typeof v === "string"));
    const strangers = Object.entries(args.images).filter(([, image]) => !known.has(image));
    if (strangers.length) {
        const line = ([key, image]: [string, string]) =>
            `${key}: would run ${image}, which ${upstream} does not run` +
            (typeof runs[key] === "string" ? ` (${upstream}'s ${key.split(".").pop()} runs ${String(runs[key])})` : "");
        return (
            `${file}: ${stack} may run only images ${upstream} runs (aura:promoteFrom):\n` +
            strangers.slice(0, 20).map((s) => `  - ${line(s)}`).join("\n") +
            `\nSet the image (or release.registry) to what ${upstream} runs, or deploy the image to ${upstream} first.`
        );
    }
    return undefined;
}

/** A YAML scalar in the quoting style of the value it replaces (double quotes when that was bare). */
function scalar(value: string, previous: string | undefined): string {
    if (previous?.startsWith("'")) return `'${value.replace(/'/g, "''")}'`;
    return JSON.stringify(value);
}

/**
 * `text` (a profile) with its top-level `release:` set to `release`, every comment and all other
 * formatting kept: the values of an existing block are edited in place, a flow mapping is rewritten
 * on its line, and a missing block is appended. Throws if the result does not read back as `release`.
 */
export function setRelease(text: string, release: Release, note?: string): string {
    // A profile with Windows line ends is edited as one with \n and keeps its \r\n.
    if (text.includes("\r\n")) return setRelease(text.replace(/\r\n/g, "\n"), release, note).replace(/\n/g, "\r\n");
    const lines = text.split("\n");
    const start = lines.findIndex((l) => /^release:/.test(l));
    const value = (l: string) => /^(\s*[a-z_]+:\s*)((?:"[^"]*"|'[^']*'|[^\s#]+))?(\s*#.*)?$/.exec(l);

    if (start === -1) {
        const block = [
            ...(note ? [`# ${note}`] : []),
            "release:",
            `  version: ${scalar(release.version, undefined)}`,
            `  registry: ${scalar(release.registry, undefined)}`,
        ];
        const body = text.endsWith("\n") || text === "" ? text : `${text}\n`;
        return verified(`${body}${body.trim() ? "\n" : ""}${block.join("\n")}\n`, release);
    }

    const flow = /^release:\s*\{.*\}(\s*#.*)?$/.exec(lines[start]);
    if (flow) {
        lines[start] = `release: { version: ${scalar(release.version, undefined)}, registry: ${scalar(release.registry, undefined)} }${flow[1] ?? ""}`;
        return verified(lines.join("\n"), release);
    }

    // Block mapping: the indented (or blank / comment) lines after `release:`.
    let end = start + 1;
    while (end < lines.length && (/^\s+\S/.test(lines[end]) || /^\s*(#.*)?$/.test(lines[end]))) end++;
    const indent = /^(\s+)[a-z_]+:/.exec(lines.slice(start + 1, end).find((l) => /^\s+[a-z_]+:/.test(l)) ?? "")?.[1] ?? "  ";
    for (const key of ["version", "registry"] as const) {
        const at = lines.findIndex((l, i) => i > start && i < end && new RegExp(`^${indent}${key}:`).test(l));
        if (at === -1) {
            lines.splice(start + 1, 0, `${indent}${key}: ${scalar(release[key], undefined)}`);
            end++;
            continue;
        }
        const m = value(lines[at]);
        if (!m) throw new Error(`cannot edit line ${at + 1} (${lines[at].trim()}): set release.${key} to ${release[key]} by hand`);
        lines[at] = `${m[1]}${scalar(release[key], m[2])}${m[3] ?? ""}`;
    }
    return verified(lines.join("\n"), release);
}

function verified(text: string, release: Release): string {
    let doc: { release?: Partial<Release> } | undefined;
    try {
        doc = yaml.load(text) as typeof doc;
    } catch {
        // The edit broke the document (a release written in a form this editor does not know).
        doc = undefined;
    }
    if (doc?.release?.version !== release.version || doc?.release?.registry !== release.registry) {
        throw new Error(`the edited profile does not read back as release ${release.version} from ${release.registry}: set it by hand`);
    }
    return text;
}
