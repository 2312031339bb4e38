// The stack config keys the program reads: a misspelt or unknown one is refused (not ignored), and
// the settings no stage owns are checked before anything registers.
import * as assert from "assert";
import { STACK_CONFIG_KEYS, parsePromoteFrom, parseRotationLabel, unknownConfigKeys } from "../components/stackConfig";
import * as fs from "fs";
import * as path from "path";
import { offlineConfig } from "../cli/main";
import { ROOT, aura, plan, tempFile } from "./helpers";
import { environmentTaken, parseProfile } from "../profiles";

const SELF = { organization: "organization", project: "aura-platform", stack: "prod" };

describe("stack config", () => {
    it("knows every key the README lists, and the README every key it knows", async () => {
        const readme = (await import("fs")).readFileSync("README.md", "utf8");
        const listed = [...readme.matchAll(/^\| `aura:([A-Za-z]+)` \|/gm)].map((m) => m[1]).sort();
        assert.deepStrictEqual(listed, [...STACK_CONFIG_KEYS].sort());
    });

    it("refuses a key it does not read, suggesting the one meant and the command that removes it", () => {
        assert.deepStrictEqual(unknownConfigKeys(["aura:profile", "aura:secrets.bot-token", "azure-native:location", "aura:sshPublicKey"], "prod"), []);
        const [typo, stray, emptySecret] = unknownConfigKeys(["aura:apiReadyTimeoutMinute", "aura:colour", "aura:secrets."], "prod");
        assert.strictEqual(
            typo,
            "stack config aura:apiReadyTimeoutMinute (Pulumi.prod.yaml): is not a setting of this program (did you mean aura:apiReadyTimeoutMinutes?): " +
                "remove it with `pulumi config rm aura:apiReadyTimeoutMinute -s prod` and set aura:apiReadyTimeoutMinutes (the settings are listed in the README, \"Stack config\")",
        );
        assert.match(stray, /aura:colour .*is not a setting of this program: remove it with `pulumi config rm aura:colour -s prod` \(the settings/);
        assert.match(emptySecret, /aura:secrets\. .*is not a setting/);
    });

    it("refuses the plan of a stack with a misspelt key before anything registers", async () => {
        await assert.rejects(
            plan({ profile: "profiles/dev.yaml", stack: "dev", config: { "aura:rebuildMaster": "1" } }),
            (e: Error) => /stack config aura:rebuildMaster \(Pulumi\.dev\.yaml\): .*did you mean aura:rebuildMasters\?/.test(e.message),
        );
    });

    it("refuses a misspelt secret offline as pulumi up does (aura plan passes it on, encrypted or not)", async () => {
        const stackFile = tempFile("Pulumi.qa.yaml", "config:\n  aura:profile: profiles/dev.yaml\n  aura:alertWebhookURL:\n    secure: v1:AAAAAAAAAAAAAAAA:BBBBBBBB\n");
        const offline = offlineConfig("qa", undefined, path.dirname(stackFile));
        assert.ok(offline.secretConfigKeys.includes("aura:alertWebhookURL"));
        await assert.rejects(
            plan({ profile: "profiles/dev.yaml", stack: "qa", config: offline.config, secretConfigKeys: offline.secretConfigKeys }),
            (e: Error) => /stack config aura:alertWebhookURL \(Pulumi\.qa\.yaml\): is not a setting of this program \(did you mean aura:alertWebhookUrl\?\)/.test(e.message),
        );
    });

    it("refuses a profile whose environment another stack deploys (a copy that kept environment: dev): both stacks would manage the same resources", async () => {
        const copy = tempFile("qa.yaml", fs.readFileSync(path.join(ROOT, "profiles", "dev.yaml"), "utf8"));
        const why = /qa\.yaml: environment: stack dev deploys environment dev too \(Pulumi\.dev\.yaml → profiles\/dev\.yaml\): stacks dev and qa would manage the same Azure resources and namespace \(aura-dev-rg, aura-dev\) — give this profile environment: qa \(or leave it out: the stack name is the default\) — got "dev"/;
        // pulumi up (the program reads the project's stack files beside index.ts) and aura plan, which runs it.
        await assert.rejects(plan({ profile: copy, stack: "qa" }), (e: Error) => why.test(e.message));
        const planned = await aura("plan", copy, "--stack", "qa");
        assert.strictEqual(planned.code, 1);
        assert.match(planned.stderr, why);
        // aura validate --stack qa too; without --stack the profile is checked on its own.
        const validated = await aura("validate", copy, "--stack", "qa");
        assert.strictEqual(validated.code, 1);
        assert.match(validated.stderr, why);
        assert.strictEqual((await aura("validate", copy)).code, 0);
        // The stack's own profile, a new environment, or none (the stack name) are fine.
        assert.strictEqual((await aura("validate", "profiles/dev.yaml", "--stack", "dev")).code, 0);
        assert.strictEqual((await aura("validate", tempFile("qa.yaml", fs.readFileSync(copy, "utf8").replace("environment: dev", "environment: qa")), "--stack", "qa")).code, 0);
        assert.strictEqual((await aura("validate", tempFile("qa.yaml", fs.readFileSync(copy, "utf8").replace(/^environment: dev\n/m, "")), "--stack", "qa")).code, 0);
        // Whatever the other stack is called: prod's environment under a stack named staging.
        const prodCopy = tempFile("staging.yaml", fs.readFileSync(path.join(ROOT, "profiles", "prod.yaml"), "utf8"));
        assert.match((await aura("validate", prodCopy, "--stack", "staging")).stderr, /stack prod deploys environment prod too/);
    });

    it("tells which profile to change: a copy's, not the one the environment is named after", () => {
        const stacks = { dev: { environment: "dev", profile: "profiles/dev.yaml" }, qa: { environment: "dev", profile: "profiles/qa.yaml" } };
        const dev = parseProfile(fs.readFileSync(path.join(ROOT, "profiles", "dev.yaml"), "utf8"), { file: "profiles/dev.yaml", stack: "dev" });
        // Checking dev: qa took dev's environment, so qa's profile is the one to fix.
        assert.match(environmentTaken(dev, "dev", "profiles/dev.yaml", stacks) ?? "", /stack qa deploys environment dev too \(Pulumi\.qa\.yaml → profiles\/qa\.yaml\): .* — give stack qa's profile its own environment: \(e\.g\. environment: qa\)/);
        // Checking qa: this profile is the one to fix.
        assert.match(environmentTaken(dev, "qa", "profiles/qa.yaml", stacks) ?? "", /stack dev deploys environment dev too .* — give this profile environment: qa/);
        assert.strictEqual(environmentTaken(dev, "dev", "profiles/dev.yaml", { dev: stacks.dev }), undefined);
    });

    it("lets a stack whose last deployment was that environment through (a renamed stack owns its resources)", async () => {
        const copy = tempFile("staging.yaml", fs.readFileSync(path.join(ROOT, "profiles", "dev.yaml"), "utf8"));
        const planned = await plan({ profile: copy, stack: "staging", previousOutputs: { environment: "dev", masterCount: 3, kubernetesVersion: "1.33.5", masterVmSize: "Standard_DS2_v2" } });
        assert.ok(planned.resources.some((r) => r.name === "aura-dev-rg"));
        // A stack that ran another environment before is still refused.
        await assert.rejects(plan({ profile: copy, stack: "staging", previousOutputs: { environment: "staging" } }), /stack dev deploys environment dev too/);
    });

    it("notes when the stack's config names another profile than the one planned or validated (pulumi up deploys that one)", async () => {
        const other = tempFile("other.yaml", fs.readFileSync(path.join(ROOT, "profiles", "prod.yaml"), "utf8").replace(/^environment: prod\n/m, ""));
        const note = new RegExp(`aura: note: Pulumi\\.prod\\.yaml's aura:profile is profiles/prod\\.yaml, not ${other.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: pulumi up -s prod deploys that profile, not this one`);
        const planned = await aura("plan", other, "--stack", "prod", "--json");
        assert.strictEqual(planned.code, 0, planned.stderr);
        assert.match(planned.stderr, note);
        JSON.parse(planned.stdout); // the JSON stays clean
        const validated = await aura("validate", other, "--stack", "prod");
        assert.strictEqual(validated.code, 0);
        assert.match(validated.stderr, note);
        // The stack's own profile: no note.
        assert.doesNotMatch((await aura("validate", "profiles/prod.yaml", "--stack", "prod")).stderr, /note/);
        assert.doesNotMatch((await aura("plan", "profiles/prod.yaml", "--stack", "prod", "--json")).stderr, /note/);
    });

    it("plans an unset SSH key with a placeholder, but refuses an empty one as pulumi up does", async () => {
        const stackFile = tempFile("Pulumi.qa.yaml", "config:\n  aura:profile: profiles/dev.yaml\n");
        const root = path.dirname(stackFile);
        assert.match(offlineConfig("qa", undefined, root).config["aura:sshPublicKey"], /^ssh-ed25519 /);
        fs.writeFileSync(stackFile, "config:\n  aura:profile: profiles/dev.yaml\n  aura:sshPublicKey: ''\n");
        const offline = offlineConfig("qa", undefined, root);
        assert.strictEqual(offline.config["aura:sshPublicKey"], "");
        // dev's profile as a new stack's copy would be: its environment is the stack name.
        const qa = tempFile("qa.yaml", fs.readFileSync(path.join(ROOT, "profiles", "dev.yaml"), "utf8").replace(/^environment: dev\n/m, ""));
        await assert.rejects(plan({ profile: qa, stack: "qa", config: offline.config }), /stack config aura:sshPublicKey \(Pulumi\.qa\.yaml\): must be an OpenSSH public key .* -s qa`/);
    });

    it("reads aura:promoteFrom as another stack of the project, by name or qualified", () => {
        assert.strictEqual(parsePromoteFrom(undefined, SELF), undefined);
        assert.strictEqual(parsePromoteFrom("dev", SELF), "dev");
        assert.strictEqual(parsePromoteFrom("acme/aura-platform/dev", SELF), "acme/aura-platform/dev");
        for (const bad of ["", " ", "a/b", "a/b/c/d", "dev/", "../../etc", "dev stack"]) {
            assert.throws(() => parsePromoteFrom(bad, SELF), /stack config aura:promoteFrom \(Pulumi\.prod\.yaml\): must name the upstream stack, e\.g\. dev/, bad);
        }
        for (const self of ["prod", "organization/aura-platform/prod"]) {
            assert.throws(() => parsePromoteFrom(self, SELF), /names this stack itself: .* `pulumi config rm aura:promoteFrom -s prod`/, self);
        }
    });

    it("reads aura:servicePrincipalRotation as a label, 1 when unset; a blank one would rotate the password, so it is refused", () => {
        assert.strictEqual(parseRotationLabel(undefined, "prod"), "1");
        // Labels in use stay valid: a refusal would force a new one, and so a new password.
        for (const label of ["2026-01", "2026 Q1", "-1"]) assert.strictEqual(parseRotationLabel(label, "prod"), label);
        for (const bad of ["", "  "]) {
            assert.throws(() => parseRotationLabel(bad, "prod"), /stack config aura:servicePrincipalRotation \(Pulumi\.prod\.yaml\): is blank, which would replace the password/, bad);
        }
    });
});
