// `aura diff`: two plans compared resource by resource — exactly the changes a profile edit makes,
// deletions and other dangerous changes first, secrets compared but never shown; the --ref form.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PlanDiff, diffPlans, formatPath, renderMarkdown, renderText, runDiff, valueChanges } from "../cli/diff";
import { Plan } from "../cli/plan";
import { ROOT, tempFile } from "./helpers";

const DEV = fs.readFileSync(path.join(ROOT, "profiles", "dev.yaml"), "utf8");

/** `text` with `from` replaced by `to` exactly once (the fixture must still contain what we edit). */
function edit(text: string, from: RegExp, to: string): string {
    assert.strictEqual((text.match(new RegExp(from.source, "g")) ?? []).length, 1, `the profile has one ${from}`);
    return text.replace(from, to);
}

/** Profile text in a fresh folder, named dev.yaml so the stack and environment stay dev. */
const devProfile = (text: string) => tempFile("dev.yaml", text);

const SCALE_SET = "azure-native:compute:VirtualMachineScaleSet";

describe("aura diff", function () {
    // Each case plans two profiles.
    this.timeout(180_000);
    describe("one pool's max_size and one service's service_replicas", () => {
        let d: PlanDiff;
        before(async () => {
            const head = edit(edit(DEV, /(common_nodes:\n\s+min_size: 2\n\s+)max_size: 8/, "$1max_size: 17"), /nlp: \{ service_replicas: 2 \}/, "nlp: { service_replicas: 7 }");
            d = await runDiff({ base: { file: devProfile(DEV) }, head: { file: devProfile(head) }, stack: "dev" });
        });

        it("lists exactly those two profile changes", () => {
            assert.deepStrictEqual(d.profile, [
                { path: "infrastructure.compute.common_nodes.max_size", kind: "changed", old: 8, new: 17 },
                { path: "core.services.nlp.service_replicas", kind: "changed", old: 2, new: 7 },
            ]);
        });

        it("adds and deletes nothing", () => {
            assert.deepStrictEqual(d.resources.filter((r) => r.kind !== "changed").map((r) => `${r.kind} ${r.type} ${r.name}`), []);
        });

        it("changes the pool's scale set bounds and nothing of the other pools or services", () => {
            // The common pool is one scale set per zone: max_size 8 → 17 splits as 3/3/2 → 6/6/5.
            const common = d.resources.filter((r) => r.type === SCALE_SET && r.name.startsWith("aura-dev-common-z"));
            assert.deepStrictEqual(
                common.map((r) => [r.name, r.changes.filter((c) => !c.ignored).map((c) => [c.path, c.old, c.new])]),
                [
                    ["aura-dev-common-z1", [["tags.max", "3", "6"]]],
                    ["aura-dev-common-z2", [["tags.max", "3", "6"]]],
                    ["aura-dev-common-z3", [["tags.max", "2", "5"]]],
                ],
            );
            for (const r of common) assert.deepStrictEqual(r.danger, []);
            // What the two edits touch is named after the pool or the service (or feeds the autoscaler).
            const others = ["database", "management", "api-gw", "aura-bot", "web-sdk", "user-helper", "insights-loader"];
            for (const r of d.resources) {
                for (const other of others) assert.ok(!r.name.includes(other), `${r.type} ${r.name} is not touched by the edit`);
            }
            // The autoscaler's node groups follow the zonal scale sets: the same new bounds, nothing else.
            const autoscaler = d.resources.filter((r) => r.type === "kubernetes:helm.sh/v4:Chart" && r.name === "aura-dev-autoscaler-chart");
            assert.deepStrictEqual(
                autoscaler.map((r) => r.changes.filter((c) => !c.ignored).map((c) => [c.path, c.old, c.new])),
                [[
                    ["values.autoscalingGroups[0].maxSize", 3, 6],
                    ["values.autoscalingGroups[1].maxSize", 3, 6],
                    ["values.autoscalingGroups[2].maxSize", 2, 5],
                ]],
            );
            // Every other changed value carries one of the new figures (7 and its HPA maximum 21).
            for (const r of d.resources.filter((x) => !common.includes(x) && !autoscaler.includes(x))) {
                for (const c of r.changes.filter((x) => !x.ignored)) {
                    assert.match(JSON.stringify(c.new), /\b(17|7|21)\b/, `${r.name} ${c.path}: ${JSON.stringify(c.old)} → ${JSON.stringify(c.new)}`);
                }
            }
            // The HPA follows service_replicas (min 7, max 3 × 7).
            const hpa = d.resources.find((r) => r.type === "kubernetes:autoscaling/v2:HorizontalPodAutoscaler" && r.name.endsWith("-nlp"));
            assert.ok(hpa, "the nlp HPA changes");
            assert.deepStrictEqual(hpa.changes.map((c) => [c.path, c.old, c.new]).sort(), [["spec.maxReplicas", 6, 21], ["spec.minReplicas", 2, 7]]);
            assert.deepStrictEqual(d.outputs.map((c) => [c.path, c.old, c.new]), [
                ["pools.common.maxSize", 8, 17],
                ["pools.common.scaleSets[0].maxSize", 3, 6],
                ["pools.common.scaleSets[1].maxSize", 3, 6],
                ["pools.common.scaleSets[2].maxSize", 2, 5],
            ]);
        });

        it("renders the changes as text and Markdown", () => {
            const text = renderText(d);
            assert.match(text, /~ infrastructure\.compute\.common_nodes\.max_size: 8 → 17/);
            assert.match(text, /~ core\.services\.nlp\.service_replicas: 2 → 7/);
            assert.match(text, /~ azure-native:compute:VirtualMachineScaleSet {2}aura-dev-common-z1\n {6}~ tags\.max: "3" → "6"/);
            const md = renderMarkdown(d);
            assert.match(md, /^### Stack `dev`: 0 to add, 0 to delete, \d+ to change/);
            assert.doesNotMatch(md, /CAUTION/);
            assert.match(md, /```diff\n[\s\S]*tags\.max: "2" → "5"[\s\S]*\n```/);
        });
    });

    describe("a renamed pool and a new Kubernetes version", () => {
        let d: PlanDiff;
        before(async () => {
            const pool = (name: string) => `    ${name}_nodes:\n      min_size: 0\n      max_size: 4\n      type: "Standard_DS2_v2"\n\nkubernetes:`;
            const base = edit(DEV, /\nkubernetes:/, `\n${pool("batch")}`);
            const head = edit(edit(base, /batch_nodes/, "jobs_nodes"), /version: "1\.33\.5"/, 'version: "1.33.6"');
            d = await runDiff({ base: { file: devProfile(base) }, head: { file: devProfile(head) }, stack: "dev" });
        });

        it("shows the rename first, as the deletion of a scale set", () => {
            const first = d.resources[0];
            assert.deepStrictEqual([first.kind, first.type], ["removed", SCALE_SET]);
            assert.match(first.name, /^aura-dev-batch-z[123]$/);
            assert.match(first.danger.join(), /deletes a scale set/);
            assert.ok(d.resources.some((r) => r.kind === "added" && r.type === SCALE_SET && r.name === "aura-dev-jobs-z1"));
            const text = renderText(d).split("\n");
            const firstResource = text.findIndex((l) => /^[-+~] /.test(l));
            assert.match(text[firstResource], /^- azure-native:compute:VirtualMachineScaleSet {2}aura-dev-batch-z[123] {3}!! deletes a scale set/);
            assert.match(renderMarkdown(d), /> \[!CAUTION\]\n> Review these before merging:\n> - \*\*delete\*\* `azure-native:compute:VirtualMachineScaleSet` `aura-dev-batch-z[123]`/);
        });

        it("lists dangerous changes before ordinary ones", () => {
            const dangerous = d.resources.map((r) => r.danger.length > 0);
            assert.ok(dangerous.indexOf(false) === -1 || dangerous.lastIndexOf(true) < dangerous.indexOf(false), "no dangerous line after an ordinary one");
        });

        it("sees a changed secret without showing it", () => {
            // The agents' custom data carries no secret (nodes fetch the join token at boot), so its
            // change with the Kubernetes version is shown, not masked.
            const common = d.resources.find((r) => r.name === "aura-dev-common-z1");
            const customData = common?.changes.find((c) => c.path === "virtualMachineProfile.osProfile.customData");
            assert.strictEqual(customData?.kind, "changed");
            assert.strictEqual(customData.secret, undefined);
            // A secret input that changes (compared by keyed fingerprint) shows as changed, never its value.
            const fp = (c: string) => `[secret:${c.repeat(24)}]`;
            const secretPlan = (value: string): Plan => ({
                stack: "dev",
                profile: "p",
                outputs: {},
                resources: [{ urn: "urn:pulumi:dev::aura-platform::kubernetes:core/v1:Secret::s", type: "kubernetes:core/v1:Secret", name: "s", parent: null, custom: true, inputs: { stringData: { token: value } }, options: {} }],
            });
            const secret: PlanDiff = { ...diffPlans(secretPlan(fp("a")), secretPlan(fp("b"))), profile: [] };
            assert.deepStrictEqual(secret.resources[0].changes, [{ path: "stringData.token", kind: "changed", old: "[secret]", new: "[secret]", secret: true }]);
            for (const out of [JSON.stringify(d), renderText(d), renderMarkdown(d), JSON.stringify(secret), renderText(secret), renderMarkdown(secret)]) {
                assert.doesNotMatch(out, /\[secret:/, "no fingerprint leaves the process");
                assert.doesNotMatch(out, /PRIVATE KEY|BEGIN CERTIFICATE/);
            }
            assert.match(renderText(secret), /token: \[secret\] → \[secret\] \(changed\)/);
        });
    });

    describe("diffPlans", () => {
        const resource = (name: string, inputs: Record<string, unknown>, options: Plan["resources"][0]["options"] = {}) => ({
            urn: `urn:pulumi:dev::aura-platform::aura:infra:InfraStage$aura:infra:MetadataStore$azure-native:storage:BlobContainer::${name}`,
            type: "azure-native:storage:BlobContainer",
            name,
            parent: null,
            custom: true,
            inputs,
            options,
        });
        const planOf = (...resources: Plan["resources"]): Plan => ({ stack: "dev", profile: "p", resources, outputs: {} });

        it("flags a protected resource and the metadata store, and keeps a resource carried by an alias", () => {
            const base = planOf(resource("meta", { publicAccess: "None" }, { protect: true }));
            const head = planOf(resource("meta", { publicAccess: "Blob" }, { protect: true }));
            const [changed] = diffPlans(base, head).resources;
            assert.deepStrictEqual(changed.danger, ["protected", "metadata store (PKI, root kubeconfig)"]);
            const renamed = { ...resource("meta2", { publicAccess: "None" }), options: { aliases: [base.resources[0].urn] } };
            const moved = diffPlans(base, planOf(renamed)).resources;
            assert.deepStrictEqual(moved.map((r) => [r.kind, r.renamedFrom]), [["changed", base.resources[0].urn]]);
        });

        it("formats paths and uses a structural diff", () => {
            assert.strictEqual(formatPath(["tags", "cluster-autoscaler-max", "args", 2]), 'tags["cluster-autoscaler-max"].args[2]');
            assert.deepStrictEqual(valueChanges({ a: [1, 2] }, { a: [1, 3], b: true }), [
                { path: "a[1]", kind: "changed", old: 2, new: 3 },
                { path: "b", kind: "added", new: true },
            ]);
        });
    });

    describe("the command", () => {
        const aura = (args: string[], cwd = ROOT) => spawnSync(process.execPath, [path.join(ROOT, "bin", "aura.js"), ...args], { cwd, encoding: "utf8" });

        it("compares a profile at a git ref with the working tree, and removes its temporary copy", () => {
            const repo = fs.mkdtempSync(path.join(os.tmpdir(), "aura-diff-repo-"));
            const git = (...args: string[]) => assert.strictEqual(spawnSync("git", ["-C", repo, ...args], { encoding: "utf8" }).status, 0, `git ${args.join(" ")}`);
            git("init", "-q");
            fs.mkdirSync(path.join(repo, "profiles"));
            const file = path.join(repo, "profiles", "dev.yaml");
            fs.writeFileSync(file, DEV);
            git("add", ".");
            git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base");
            fs.writeFileSync(file, edit(DEV, /(management_nodes:\n\s+min_size: 3\n\s+)max_size: 6/, "$1max_size: 9"));
            const before = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("aura-diff-") && !f.startsWith("aura-diff-repo-")).sort();

            const run = aura(["diff", "--ref", "HEAD", "profiles/dev.yaml", "--json"], repo);
            assert.strictEqual(run.status, 0, run.stderr);
            const d = JSON.parse(run.stdout) as PlanDiff;
            assert.strictEqual(d.base, "HEAD:profiles/dev.yaml");
            assert.deepStrictEqual(d.profile, [{ path: "infrastructure.compute.management_nodes.max_size", kind: "changed", old: 6, new: 9 }]);
            // max_size 6 → 9 over three zonal scale sets: 2 → 3 each.
            assert.ok(d.resources.some((r) => r.name === "aura-dev-management-z1" && r.changes.some((c) => c.path === "tags.max" && c.new === "3")));
            const after = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("aura-diff-") && !f.startsWith("aura-diff-repo-")).sort();
            assert.deepStrictEqual(after, before, "the temporary copy is removed");

            // A ref that is no single commit, a path that was a folder, a file outside any repository.
            const refused: Array<[string[], RegExp]> = [
                [["diff", "--ref", "no-such-ref", "profiles/dev.yaml"], /--ref no-such-ref: not a commit in the repository of profiles\/dev\.yaml/],
                [["diff", "--ref", "HEAD~1..HEAD", "profiles/dev.yaml"], /--ref HEAD~1\.\.HEAD: not a commit/],
            ];
            for (const [args, why] of refused) {
                const r = aura(args, repo);
                assert.strictEqual(r.status, 2, args.join(" "));
                assert.match(r.stderr, why);
            }
            // A folder where the profile belongs is refused as every profile path is (exit 1).
            const folder = aura(["diff", "--ref", "HEAD", "profiles"], repo);
            assert.strictEqual(folder.status, 1);
            assert.match(folder.stderr, /^profiles: cannot read the profile: is a folder/);
            // A profile that was a folder at the ref: the ref's side is the usage problem (exit 2).
            fs.mkdirSync(path.join(repo, "qa.yaml"));
            fs.writeFileSync(path.join(repo, "qa.yaml", "x"), "x");
            git("add", ".");
            git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "a folder");
            fs.rmSync(path.join(repo, "qa.yaml"), { recursive: true });
            fs.writeFileSync(path.join(repo, "qa.yaml"), DEV);
            const wasFolder = aura(["diff", "--ref", "HEAD", "qa.yaml", "--stack", "dev"], repo);
            assert.strictEqual(wasFolder.status, 2);
            assert.match(wasFolder.stderr, /--ref HEAD: qa\.yaml was a folder there, not a profile file/);
            const outside = fs.mkdtempSync(path.join(os.tmpdir(), "aura-diff-norepo-"));
            fs.writeFileSync(path.join(outside, "dev.yaml"), DEV);
            const noRepo = aura(["diff", "--ref", "HEAD", "dev.yaml"], outside);
            assert.strictEqual(noRepo.status, 2);
            assert.match(noRepo.stderr, /--ref HEAD: dev\.yaml is not in a git repository/);
            fs.rmSync(outside, { recursive: true, force: true });
            fs.rmSync(repo, { recursive: true, force: true });
        });

        it("refuses bad usage with exit 2 and a profile error with exit 1, without a stack trace", () => {
            const usage = aura(["diff", "profiles/dev.yaml"]);
            assert.strictEqual(usage.status, 2);
            assert.match(usage.stderr, /aura diff takes two profile paths/);
            const both = aura(["diff", "a.yaml", "b.yaml", "--json", "--markdown"]);
            assert.strictEqual(both.status, 2);
            const bad = aura(["diff", "profiles/dev.yaml", "tests/fixtures/bad.yaml", "--stack", "dev"]);
            assert.strictEqual(bad.status, 1, bad.stderr);
            assert.match(bad.stderr, /^tests\/fixtures\/bad\.yaml: /);
            assert.doesNotMatch(bad.stderr, /\n\s+at /);
            // A profile that is not there is a refused input (exit 1) in both forms, with the same words.
            for (const args of [["diff", "--ref", "HEAD", "profiles/qa.yaml"], ["diff", "profiles/qa.yaml", "profiles/dev.yaml", "--stack", "dev"]]) {
                const missing = aura(args);
                assert.strictEqual(missing.status, 1, args.join(" "));
                assert.match(missing.stderr, /^profiles\/qa\.yaml: cannot read the profile: no such file/);
            }
        });
    });
});
