// `aura promote --from dev --to prod`: writes the upstream stack's release into the downstream
// stack's profile (comments and layout kept) for a pull request, and prints what that changes.
// Also the offline answer to the program's promotion check, for `aura plan` and `aura diff`.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ProfileError, loadProfile, readProfileText, stackConfig } from "../profiles";
import { checkPromotion, setRelease, upstreamVersion, workloadImages } from "../profiles/promotion";
import { Release } from "../profiles/release";
import { inputErrorMessage } from "./common";
import { STACK_NAME_RULE, isStackName } from "../components/stackConfig";

export const PROMOTE_USAGE = `Usage:
  aura promote --from <stack> --to <stack> [--from-deployment] [--dry-run]
  aura promote --check [--from <stack>] --to <stack>

  Writes the release of stack --from into the profile of stack --to (the profiles named by
  aura:profile in Pulumi.<stack>.yaml) and prints the diff that change makes; commit it and open a
  pull request. The release is read from the --from stack's profile (no backend needed), or with
  --from-deployment from its last deployment (pulumi stack output release; needs the Pulumi CLI).

  --dry-run   print the diff, leave the profile as it is

  --check     change nothing: exit 0 when --to's profile may deploy what its upstream's profile runs
              (the promotion rule \`pulumi up\` applies against the upstream's deployment: the same
              release and images; the upstream is --to's aura:promoteFrom, and --from, if given, must
              name it; a stack without one has no rule), exit 4 with the reason when it may not
              (promote first); the deploy workflow skips prod with that reason instead of asking its
              reviewers for a run that would fail.`;

/** `aura promote --check`'s exit code when the downstream does not run the upstream's release yet. */
export const NOT_PROMOTED = 4;

const ROOT = path.join(__dirname, "..");

export class PromoteError extends Error {}

/**
 * Stack outputs the mocks give other stacks in an offline plan. The upstream's deployment is not
 * knowable without a backend, so a promoted stack is planned as if the upstream ran the stack's own
 * release: offline plans show resources, and the check itself runs at `pulumi preview`/`up`.
 */
export function offlineStackOutputs(config: Record<string, string>, profileFile: string, stack: string): Record<string, Record<string, unknown>> {
    const upstream = config["aura:promoteFrom"];
    if (!upstream) return {};
    let outputs: { release?: Release; images?: Record<string, string> } = {};
    try {
        const profile = loadProfile(profileFile, { stack });
        outputs = { release: profile.release, images: workloadImages(profile) };
    } catch {
        // the plan reports the profile's problems itself
    }
    return { [upstream.split("/").pop()!]: outputs };
}

/** The stack a stack's config promotes from (`aura:promoteFrom`, bare or fully qualified), if any. */
function upstreamOf(config: Record<string, string>): string | undefined {
    return config["aura:promoteFrom"]?.split("/").pop() || undefined;
}

interface PromoteArgs {
    /** Optional with --check only: then the target's aura:promoteFrom. */
    from?: string;
    to: string;
    fromDeployment: boolean;
    dryRun: boolean;
    check: boolean;
}

/** What promote() needs: both stacks named. */
type PromoteOptions = Omit<PromoteArgs, "check" | "from"> & { from: string; root?: string };

function parsePromoteArgs(args: string[]): PromoteArgs {
    const out: Partial<PromoteArgs> = { fromDeployment: false, dryRun: false, check: false };
    for (let i = 0; i < args.length; i++) {
        const arg = args[i];
        const name = arg.split("=")[0];
        if (name === "--from" || name === "--to") {
            const v = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : args[++i];
            if (!v || v.startsWith("-")) throw new PromoteError(`${name} needs a stack name, e.g. ${name} ${name === "--from" ? "dev" : "prod"}`);
            if (!isStackName(v)) throw new PromoteError(`${name} ${v}: ${STACK_NAME_RULE}`);
            out[name === "--from" ? "from" : "to"] = v;
        } else if (arg === "--from-deployment") out.fromDeployment = true;
        else if (arg === "--dry-run") out.dryRun = true;
        else if (arg === "--check") out.check = true;
        else throw new PromoteError(arg.startsWith("-") ? `unknown option ${arg}` : `unexpected argument ${arg}`);
    }
    if (out.check && !out.to) throw new PromoteError("aura promote --check needs --to <stack>, e.g. aura promote --check --to prod");
    if (!out.to || (!out.from && !out.check)) throw new PromoteError("aura promote needs --from <stack> and --to <stack>, e.g. aura promote --from dev --to prod");
    if (out.from === out.to) throw new PromoteError(`--from and --to are both ${out.from}`);
    if (out.check && (out.dryRun || out.fromDeployment)) throw new PromoteError(`--check changes nothing and reads the upstream's profile: leave out ${out.dryRun ? "--dry-run" : "--from-deployment"}`);
    return out as PromoteArgs;
}

/** The profile path a stack's config names, resolved against the project root. */
function stackProfile(stack: string, root: string): { config: Record<string, string>; file: string; relative: string } {
    const configFile = path.join(root, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(configFile)) throw new ProfileError(`Pulumi.${stack}.yaml`, [`no such stack config — create the stack first (pulumi stack init ${stack}, see the README)`]);
    const config = stackConfig(stack, root);
    const relative = config["aura:profile"];
    if (!relative) throw new ProfileError(`Pulumi.${stack}.yaml`, ["config.aura:profile: is required — got nothing (the stack's profile path, e.g. profiles/" + stack + ".yaml)"]);
    return { config, file: path.resolve(root, relative), relative };
}

/** The release version `stack` runs according to its last deployment (`pulumi stack output release`). */
function deployedVersion(stack: string, root: string): string {
    const run = spawnSync("pulumi", ["stack", "output", "release", "--json", "--stack", stack], { cwd: root, encoding: "utf8" });
    if (run.error) throw new PromoteError(`--from-deployment needs the Pulumi CLI (${run.error.message}); without it, leave the flag out to read the release from ${stack}'s profile`);
    if (run.status !== 0) throw new PromoteError(`pulumi stack output release --stack ${stack} failed: ${run.stderr.trim()}`);
    let answer: unknown;
    try {
        answer = JSON.parse(run.stdout || "null");
    } catch {
        throw new PromoteError(`pulumi stack output release --stack ${stack} did not print JSON (${JSON.stringify(run.stdout.trim().slice(0, 200))}): check the Pulumi CLI, or leave --from-deployment out to read the release from ${stack}'s profile`);
    }
    const version = upstreamVersion(answer);
    if (!version) throw new PromoteError(`${stack} has no deployment with a release output yet: deploy it first (pulumi up -s ${stack})`);
    return version;
}

export interface PromoteResult {
    release: Release;
    /** Where the release was read. */
    source: string;
    /** The downstream profile (as named in its stack config) and whether it changed. */
    profile: string;
    changed: boolean;
    /** The rendered diff of the change (empty when nothing changed). */
    diff: string;
}

/** Promotes `from`'s release into `to`'s profile; `root` is the project folder (Pulumi.<stack>.yaml). */
export async function promote(options: PromoteOptions): Promise<PromoteResult> {
    const root = options.root ?? ROOT;
    const { from, to } = options;
    const target = stackProfile(to, root);
    // The registry always comes from the upstream's profile (a deployment publishes the version only).
    const upstream = stackProfile(from, root);
    checkFrom(from, to, target.config, upstream.config);
    const fromProfile = loadProfile(upstream.file, { stack: from });
    if (fromProfile.releaseSource !== "profile") {
        throw new ProfileError(upstream.relative, [`release: is required to promote ${from} — got nothing (pin version and registry in ${from}'s profile first)`]);
    }
    let release: Release = { ...fromProfile.release };
    let source = `${upstream.relative}, ${from}'s profile (what ${from} runs once deployed; --from-deployment reads the deployment instead)`;
    if (options.fromDeployment) {
        release = { ...release, version: deployedVersion(from, root) };
        source = `${from}'s last deployment (pulumi stack output release), registry from ${upstream.relative}`;
    }

    // Read as every profile is read: a missing file, a folder, a pipe or a device is refused, not read.
    const text = readProfileText(target.file);
    let edited: string;
    try {
        edited = setRelease(text, release, `The release ${to} runs; written by \`aura promote --from ${from} --to ${to}\`.`);
    } catch (e) {
        throw new PromoteError(`${target.relative}: ${(e as Error).message}`);
    }
    if (edited === text) return { release, source, profile: target.relative, changed: false, diff: "" };

    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aura-promote-"));
    try {
        const promoted = path.join(tmp, path.basename(target.file));
        fs.writeFileSync(promoted, edited);
        const { runDiff, renderText } = await import("./diff");
        const diff = await runDiff({
            base: { file: target.file, label: target.relative },
            head: { file: promoted, label: `${target.relative} (promoted)` },
            stack: to,
            // The stack's config as a plan reads it: its encrypted values as secret placeholders.
            root,
        });
        if (!options.dryRun) fs.writeFileSync(target.file, edited);
        return { release, source, profile: target.relative, changed: true, diff: renderText(diff) };
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

/**
 * The program's promotion rule for `to`, with its upstream's profile standing in for the upstream's
 * deployment: the upstream (`aura:promoteFrom`; none, no rule), and why `to` may not deploy, if it
 * may not. `from`, when given, must be that upstream.
 */
export function promotionPending(from: string | undefined, to: string, root: string = ROOT): { upstream?: string; refusal?: string } {
    const target = stackProfile(to, root);
    const configured = upstreamOf(target.config);
    if (from !== undefined) {
        checkFrom(from, to, target.config, stackProfile(from, root).config);
        // No upstream in its config: the program applies no promotion rule to this stack, so a
        // --from names nothing to check against.
        if (!configured) throw new PromoteError(`Pulumi.${to}.yaml: aura:promoteFrom: ${to} promotes from no stack — got --from ${from}`);
    }
    if (!configured) return {};
    const upstream = loadProfile(stackProfile(configured, root).file, { stack: configured });
    const downstream = loadProfile(target.file, { stack: to });
    const refusal = checkPromotion({
        stack: to,
        upstream: configured,
        file: target.relative,
        release: downstream.release,
        upstreamRelease: upstream.release,
        images: workloadImages(downstream),
        upstreamImages: workloadImages(upstream),
    });
    return { upstream: configured, refusal };
}

/**
 * Refuses a --from the target does not promote from: another upstream than its aura:promoteFrom,
 * or the flags swapped (--from prod --to dev, when prod promotes from dev: promoting would write
 * prod's older release into dev's profile, a quiet rollback).
 */
function checkFrom(from: string, to: string, toConfig: Record<string, string>, fromConfig: Record<string, string>): void {
    if (upstreamOf(fromConfig) === to) {
        throw new PromoteError(`Pulumi.${from}.yaml: aura:promoteFrom: ${from} promotes from ${to}, not the other way — did you mean --from ${to} --to ${from}?`);
    }
    const configured = upstreamOf(toConfig);
    if (configured && configured !== from) throw new PromoteError(`Pulumi.${to}.yaml: aura:promoteFrom: ${to} promotes from ${configured} — got --from ${from}`);
}

/** `aura promote …`; returns the exit code. */
export async function promoteCommand(args: string[], root: string = ROOT): Promise<number> {
    let parsed: PromoteArgs;
    try {
        parsed = parsePromoteArgs(args);
    } catch (e) {
        if (!(e instanceof PromoteError)) throw e;
        process.stderr.write(`aura: ${e.message}\n\n${PROMOTE_USAGE}\n`);
        return 2;
    }
    try {
        if (parsed.check) {
            const { upstream, refusal } = promotionPending(parsed.from, parsed.to, root);
            if (refusal !== undefined) {
                process.stdout.write(`${refusal}\n`);
                return NOT_PROMOTED;
            }
            process.stdout.write(
                upstream
                    ? `${parsed.to} may deploy: it runs the release and images ${upstream}'s profile runs.\n`
                    : `${parsed.to} may deploy: it promotes from no stack (no aura:promoteFrom in Pulumi.${parsed.to}.yaml), so no promotion rule applies.\n`,
            );
            return 0;
        }
        // The parser requires --from without --check.
        const r = await promote({ ...parsed, from: parsed.from!, root });
        const what = `release ${r.release.version} (${r.release.registry})`;
        process.stdout.write(`Read ${what} from ${r.source}.\n`);
        if (!r.changed) {
            process.stdout.write(`${r.profile} already pins ${r.release.version}: nothing to promote.\n`);
            return 0;
        }
        process.stdout.write(`\n${r.diff}\n`);
        process.stdout.write(
            parsed.dryRun
                ? `Dry run: ${r.profile} is unchanged.\n`
                : `Wrote ${what} into ${r.profile}. Commit it and open a pull request; once merged, the deploy workflow runs pulumi up -s ${parsed.to} behind its reviewers.\n`,
        );
        return 0;
    } catch (e) {
        const message = e instanceof PromoteError ? e.message : inputErrorMessage(e);
        if (message === undefined) throw e;
        process.stderr.write(`${message}\n`);
        return 1;
    }
}
