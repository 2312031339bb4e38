// Promotion: prod plans only with the release its upstream (dev) runs, read by StackReference from
// dev's last deployment; `aura promote` writes dev's release into prod's profile, comments kept.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { NOT_PROMOTED, PromoteError, promote, promoteCommand, promotionPending } from "../cli/promote";
import { loadProfile } from "../profiles";
import { setRelease, workloadImages } from "../profiles/promotion";
import { ROOT, plan } from "./helpers";
import { capture } from "./support/capture";

const PROD = path.join(ROOT, "profiles", "prod.yaml");
const PROD_RELEASE = { version: "2026.11.1", registry: "auraplatform.azurecr.io" };
const PROMOTED = { "aura:promoteFrom": "dev" };

describe("promotion", () => {
    it("is configured in prod's stack config, not in code", () => {
        const config = (yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")) as { config: Record<string, unknown> }).config;
        assert.strictEqual(config["aura:promoteFrom"], "dev");
        assert.doesNotMatch(fs.readFileSync(path.join(ROOT, "index.ts"), "utf8"), /["'`]dev["'`]/);
    });

    /** What dev's last deployment reports when it runs prod's profile's release and images. */
    const devRunning = () => ({ release: PROD_RELEASE, images: workloadImages(loadProfile(PROD, { stack: "prod" })) });

    it("plans prod when dev runs the same release and images, and publishes both", async () => {
        const dev = devRunning();
        const p = await plan({ profile: PROD, stack: "prod", config: PROMOTED, stackOutputs: { dev } });
        assert.deepStrictEqual(p.outputs.release, PROD_RELEASE);
        assert.deepStrictEqual(p.outputs.images, dev.images);
        assert.strictEqual(p.outputs.images["core.services.nlp"], "auraplatform.azurecr.io/nlp:2026.11.1");
        assert.strictEqual(p.outputs.images["core.jobs.nlp-provisioning"], "auraplatform.azurecr.io/nlp-provisioning:2026.11.1");
        const ref = p.resources.length; // the whole program ran
        assert.ok(ref > 20, `${ref} resources`);
    });

    it("refuses an image dev does not run, even at the same release (an image override, another registry)", async () => {
        const text = fs.readFileSync(PROD, "utf8").replace(/^core:\n/m, "core:\n  jobs:\n    nlp-provisioning: { image: example.io/nlp-provisioning:2099.1.0 }\n");
        const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "aura-promotion-test-")), "prod.yaml");
        try {
            fs.writeFileSync(file, text);
            await assert.rejects(plan({ profile: file, stack: "prod", config: PROMOTED, stackOutputs: { dev: devRunning() } }), (e: Error) => {
                assert.match(e.message, /prod may run only images dev runs \(aura:promoteFrom\)/);
                assert.match(e.message, /core\.jobs\.nlp-provisioning: would run example\.io\/nlp-provisioning:2099\.1\.0, which dev does not run \(dev's nlp-provisioning runs auraplatform\.azurecr\.io\/nlp-provisioning:2026\.11\.1\)/);
                return true;
            });
        } finally {
            fs.rmSync(path.dirname(file), { recursive: true, force: true });
        }
    });

    it("refuses to promote from a dev deployment that reports no images (it predates the output)", async () => {
        await assert.rejects(plan({ profile: PROD, stack: "prod", config: PROMOTED, stackOutputs: { dev: { release: PROD_RELEASE } } }), (e: Error) => {
            assert.match(e.message, /dev, whose last deployment reports no images .* Deploy dev again \(pulumi up -s dev\), then prod/);
            return true;
        });
    });

    it("refuses a release dev does not run, naming both versions and the fix", async () => {
        await assert.rejects(
            plan({ profile: PROD, stack: "prod", config: PROMOTED, stackOutputs: { dev: { release: { version: "2026.10.4", registry: "auraplatform.azurecr.io" } } } }),
            (e: Error) => {
                assert.match(e.message, /release\.version: prod may deploy only the release dev runs — got 2026\.11\.1, but dev runs 2026\.10\.4/);
                assert.match(e.message, /npx aura promote --from dev --to prod/);
                return true;
            },
        );
    });

    it("fails clearly when dev has no deployment yet", async () => {
        await assert.rejects(plan({ profile: PROD, stack: "prod", config: PROMOTED }), (e: Error) => {
            assert.match(e.message, /prod promotes from dev \(aura:promoteFrom\), but dev has no deployment with a release yet/);
            assert.match(e.message, /pulumi up -s dev/);
            return true;
        });
    });

    it("reads the upstream's outputs, not the stack's own previous ones", async () => {
        // prod's own last deployment has a release; dev has none: still refused.
        await assert.rejects(plan({ profile: PROD, stack: "prod", config: PROMOTED, previousOutputs: { masterCount: 5, release: PROD_RELEASE } }), /dev has no deployment/);
    });

    describe("setRelease (the profile edit)", () => {
        const release = { version: "2026.12.0", registry: "auraplatform.azurecr.io" };

        it("edits an existing block in place, keeping comments, quotes and everything else", () => {
            const text = fs.readFileSync(PROD, "utf8");
            const edited = setRelease(text, release);
            const changed = text.split("\n").map((line, i) => [line, edited.split("\n")[i]]).filter(([a, b]) => a !== b);
            assert.deepStrictEqual(changed, [['  version: "2026.11.1"', '  version: "2026.12.0"']]);
        });

        it("keeps a trailing comment and single quotes", () => {
            const edited = setRelease("tier: production\nrelease:\n  # pinned\n  version: '1.0' # old\n  registry: r.example.io\nother: 1\n", release);
            assert.strictEqual(edited, "tier: production\nrelease:\n  # pinned\n  version: '2026.12.0' # old\n  registry: \"auraplatform.azurecr.io\"\nother: 1\n");
        });

        it("rewrites a flow mapping on its line and appends a missing block", () => {
            assert.strictEqual(setRelease("release: { version: a, registry: b } # x\n", release), 'release: { version: "2026.12.0", registry: "auraplatform.azurecr.io" } # x\n');
            const appended = setRelease("# dev\nenvironment: dev\n", release, "promoted");
            assert.strictEqual(appended, '# dev\nenvironment: dev\n\n# promoted\nrelease:\n  version: "2026.12.0"\n  registry: "auraplatform.azurecr.io"\n');
        });

        it("edits a profile with Windows line ends and keeps them", () => {
            const text = fs.readFileSync(PROD, "utf8").replace(/\n/g, "\r\n");
            assert.strictEqual(setRelease(text, release), text.replace('version: "2026.11.1"', 'version: "2026.12.0"'));
        });

        it("refuses to write a release it cannot edit, asking for it by hand (not a YAML error of its own edit)", () => {
            assert.throws(() => setRelease("release:\n  version: >-\n    2026.11.1\n  registry: r.example.io\n", release), /release\.version to 2026\.12\.0 by hand|does not read back as release 2026\.12\.0 .*: set it by hand/);
        });
    });

    describe("aura promote", () => {
        /** A project folder with dev and prod stacks whose profiles we may edit. */
        function project(devVersion: string): string {
            const root = fs.mkdtempSync(path.join(os.tmpdir(), "aura-promote-test-"));
            fs.mkdirSync(path.join(root, "profiles"));
            for (const stack of ["dev", "prod"]) fs.copyFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), path.join(root, `Pulumi.${stack}.yaml`));
            const dev = fs.readFileSync(path.join(ROOT, "profiles", "dev.yaml"), "utf8").replace(/version: "2026\.11\.1"/, `version: "${devVersion}"`);
            fs.writeFileSync(path.join(root, "profiles", "dev.yaml"), dev);
            fs.copyFileSync(PROD, path.join(root, "profiles", "prod.yaml"));
            return root;
        }

        it("writes dev's release into prod's profile and returns the diff", async () => {
            const root = project("2026.12.0");
            const r = await promote({ from: "dev", to: "prod", fromDeployment: false, dryRun: false, root });
            assert.deepStrictEqual(r.release, { version: "2026.12.0", registry: "auraplatform.azurecr.io" });
            assert.match(r.source, /profiles\/dev\.yaml/);
            assert.strictEqual(r.changed, true);
            const written = fs.readFileSync(path.join(root, "profiles", "prod.yaml"), "utf8");
            assert.strictEqual(written, fs.readFileSync(PROD, "utf8").replace('version: "2026.11.1"', 'version: "2026.12.0"'));
            assert.match(r.diff, /~ release\.version: "2026\.11\.1" → "2026\.12\.0"/);
            assert.match(r.diff, /~ release\.version: "2026\.11\.1" → "2026\.12\.0"[\s\S]*Outputs:/);
            const again = await promote({ from: "dev", to: "prod", fromDeployment: false, dryRun: false, root });
            assert.strictEqual(again.changed, false);
            fs.rmSync(root, { recursive: true, force: true });
        });

        it("plans the target with its encrypted stack secrets as placeholders (a profile with secret_env)", async () => {
            const root = project("2026.12.0");
            try {
                const prodFile = path.join(root, "profiles", "prod.yaml");
                fs.writeFileSync(prodFile, fs.readFileSync(prodFile, "utf8").replace(/^core:\n/m, "core:\n  jobs:\n    aura-bot-makeup: { secret_env: { BOT_TOKEN: bot-token } }\n"));
                fs.appendFileSync(path.join(root, "Pulumi.prod.yaml"), "  aura:secrets.bot-token:\n    secure: v1:AAAAAAAAAAAAAAAA:BBBBBBBB\n");
                const r = await promote({ from: "dev", to: "prod", fromDeployment: false, dryRun: true, root });
                assert.strictEqual(r.changed, true);
                assert.match(r.diff, /~ release\.version: "2026\.11\.1" → "2026\.12\.0"/);
            } finally {
                fs.rmSync(root, { recursive: true, force: true });
            }
        });

        it("refuses a target profile that is missing, a folder or not a file, without reading it", async () => {
            const root = project("2026.12.0");
            try {
                const prodFile = path.join(root, "profiles", "prod.yaml");
                fs.rmSync(prodFile);
                await assert.rejects(promote({ from: "dev", to: "prod", fromDeployment: false, dryRun: true, root }), /prod\.yaml: cannot read the profile: no such file/);
                fs.mkdirSync(prodFile);
                await assert.rejects(promote({ from: "dev", to: "prod", fromDeployment: false, dryRun: true, root }), /prod\.yaml: cannot read the profile: is a folder/);
                fs.rmdirSync(prodFile);
                fs.symlinkSync("/dev/zero", prodFile);
                await assert.rejects(promote({ from: "dev", to: "prod", fromDeployment: false, dryRun: true, root }), /prod\.yaml: cannot read the profile: is not a regular file/);
            } finally {
                fs.rmSync(root, { recursive: true, force: true });
            }
        });

        it("refuses --from-deployment when the Pulumi CLI prints no JSON, quoting what it printed", async () => {
            const root = project("2026.12.0");
            const bin = fs.mkdtempSync(path.join(os.tmpdir(), "aura-test-pulumi-"));
            const savedPath = process.env.PATH;
            try {
                fs.writeFileSync(path.join(bin, "pulumi"), "#!/bin/sh\necho 'warning: a newer version of Pulumi is available'\n");
                fs.chmodSync(path.join(bin, "pulumi"), 0o755);
                process.env.PATH = `${bin}:${savedPath}`;
                await assert.rejects(
                    promote({ from: "dev", to: "prod", fromDeployment: true, dryRun: true, root }),
                    (e: Error) => e instanceof PromoteError && /did not print JSON \("warning: a newer version of Pulumi is available"\)/.test(e.message),
                );
            } finally {
                process.env.PATH = savedPath;
                fs.rmSync(bin, { recursive: true, force: true });
                fs.rmSync(root, { recursive: true, force: true });
            }
        });

        it("refuses an upstream the target does not promote from", async () => {
            const root = project("2026.12.0");
            fs.writeFileSync(path.join(root, "Pulumi.qa.yaml"), "config:\n  aura:profile: profiles/dev.yaml\n");
            await assert.rejects(promote({ from: "qa", to: "prod", fromDeployment: false, dryRun: true, root }), /Pulumi\.prod\.yaml: aura:promoteFrom: prod promotes from dev — got --from qa/);
            fs.rmSync(root, { recursive: true, force: true });
        });

        /** Runs `aura promote <args>` in `root`: its exit code, and its output and errors (`out`: both). */
        async function promoteCli(args: string[], root: string): Promise<{ code: number; out: string; stdout: string }> {
            const r = await capture(() => promoteCommand(args, root));
            if (r.code === undefined) throw r.threw;
            return { code: r.code, out: r.stdout + r.stderr, stdout: r.stdout };
        }

        it("refuses the flags swapped (it would write prod's release into dev's profile)", async () => {
            const root = project("2026.12.0");
            try {
                await assert.rejects(
                    promote({ from: "prod", to: "dev", fromDeployment: false, dryRun: false, root }),
                    /Pulumi\.prod\.yaml: aura:promoteFrom: prod promotes from dev, not the other way — did you mean --from dev --to prod\?/,
                );
                assert.match(fs.readFileSync(path.join(root, "profiles", "dev.yaml"), "utf8"), /version: "2026\.12\.0"/, "dev's profile unchanged");
            } finally {
                fs.rmSync(root, { recursive: true, force: true });
            }
        });

        it("--check: whether prod's profile may deploy what dev's profile runs (the program's rule), changing nothing", async () => {
            const root = project("2026.11.1");
            try {
                const prodFile = path.join(root, "profiles", "prod.yaml");
                const before = fs.readFileSync(prodFile, "utf8");
                assert.deepStrictEqual(promotionPending("dev", "prod", root), { upstream: "dev", refusal: undefined }, "the same release and images");
                assert.deepStrictEqual(promotionPending(undefined, "prod", root), { upstream: "dev", refusal: undefined }, "the upstream from prod's config");
                const may = await promoteCli(["--check", "--from", "dev", "--to", "prod"], root);
                assert.deepStrictEqual([may.code, may.stdout], [0, "prod may deploy: it runs the release and images dev's profile runs.\n"]);
                // dev moves on: prod is not promoted yet.
                fs.writeFileSync(path.join(root, "profiles", "dev.yaml"), fs.readFileSync(path.join(root, "profiles", "dev.yaml"), "utf8").replace(/version: "2026\.11\.1"/, 'version: "2026.12.0"'));
                assert.match(promotionPending("dev", "prod", root).refusal ?? "", /release\.version: prod may deploy only the release dev runs — got 2026\.11\.1, but dev runs 2026\.12\.0\. Run `npx aura promote --from dev --to prod`/);
                const pending = await promoteCli(["--check", "--to", "prod"], root);
                assert.strictEqual(pending.code, NOT_PROMOTED);
                // On standard output: the deploy workflow keeps it (> promotion.txt) for its notice.
                assert.match(pending.stdout, /^profiles\/prod\.yaml: release\.version: prod may deploy only the release dev runs/);
                assert.strictEqual(fs.readFileSync(prodFile, "utf8"), before, "--check wrote nothing");
                // The same release with an image dev does not run.
                fs.writeFileSync(path.join(root, "profiles", "dev.yaml"), fs.readFileSync(path.join(ROOT, "profiles", "dev.yaml"), "utf8"));
                const services = Object.entries((yaml.load(fs.readFileSync(path.join(ROOT, "profiles", "dev.yaml"), "utf8")) as any).core.services as Record<string, { service_replicas: number }>);
                const block = services.map(([name, spec]) => `    ${name}: { service_replicas: ${spec.service_replicas}${name === "nginx" ? ', image: "auraplatform.azurecr.io/nginx:2026.11.1-hotfix"' : ""} }`).join("\n");
                fs.writeFileSync(prodFile, before.replace("core:\n", `core:\n  services:\n${block}\n`));
                assert.match(promotionPending("dev", "prod", root).refusal ?? "", /nginx/);
                // A stack without an upstream has no rule, as under `pulumi up`; --from must name the upstream.
                const noRule = await promoteCli(["--check", "--to", "dev"], root);
                assert.deepStrictEqual([noRule.code, noRule.stdout], [0, "dev may deploy: it promotes from no stack (no aura:promoteFrom in Pulumi.dev.yaml), so no promotion rule applies.\n"]);
                // Swapped flags: dev has no upstream, prod promotes from dev.
                const swapped = await promoteCli(["--check", "--from", "prod", "--to", "dev"], root);
                assert.strictEqual(swapped.code, 1);
                // The same words as a write with the flags swapped.
                assert.match(swapped.out, /Pulumi\.prod\.yaml: aura:promoteFrom: prod promotes from dev, not the other way — did you mean --from dev --to prod\?/);
                assert.match((await promoteCli(["--check"], root)).out, /aura promote --check needs --to <stack>/);
                fs.writeFileSync(path.join(root, "Pulumi.qa.yaml"), "config:\n  aura:profile: profiles/dev.yaml\n");
                assert.throws(() => promotionPending("qa", "prod", root), /Pulumi\.prod\.yaml: aura:promoteFrom: prod promotes from dev — got --from qa/);
                assert.strictEqual((await promoteCli(["--check", "--from", "qa", "--to", "prod"], root)).code, 1);
                const usage = await promoteCli(["--check", "--dry-run", "--from", "dev", "--to", "prod"], root);
                assert.strictEqual(usage.code, 2);
                assert.match(usage.out, /--check changes nothing and reads the upstream's profile: leave out --dry-run/);
                assert.strictEqual((await promoteCli(["--from", "dev"], root)).code, 2, "--to is always needed");
                assert.strictEqual((await promoteCli(["--to", "prod"], root)).code, 2, "--from is needed but with --check");
            } finally {
                fs.rmSync(root, { recursive: true, force: true });
            }
        });

        it("--check passes for this repository's dev and prod profiles (main deploys prod)", () => {
            assert.deepStrictEqual(promotionPending(undefined, "prod"), { upstream: "dev", refusal: undefined });
        });
    });
});
