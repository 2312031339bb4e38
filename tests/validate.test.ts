// `aura validate <file>` without --stack: the file name is no stack name, so a valid profile is
// never refused for it; the summary says what a stack name must be when the profile sets none.
import * as assert from "assert";
import * as fs from "fs";
import { SEED_PROFILE, aura, tempFile } from "./helpers";

const SEED = fs.readFileSync(SEED_PROFILE, "utf8");
const LONG_NAME = "customer-westeurope-production-2026.yaml";

describe("aura validate without --stack", () => {
    it("accepts a valid profile whose file name is no environment name, and says what a stack name needs", async () => {
        const file = tempFile(LONG_NAME, SEED);
        const r = await aura("validate", file);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.strictEqual(r.stderr, "");
        assert.match(r.stdout, /valid — environment from the stack name/);
        assert.match(r.stdout, /DNS label of at most 20 characters/);
        assert.doesNotMatch(r.stdout, /environment customer|aura-customer/, "the file name is not used as the environment");
    });

    it("shows the profile's own environment: when it has one", async () => {
        const file = tempFile(LONG_NAME, `environment: es-test\n${SEED}`);
        const r = await aura("validate", file);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stdout, /valid — environment es-test \(preproduction\)/);
    });

    it("still validates everything else", async () => {
        const file = tempFile(LONG_NAME, SEED.replace(/size: 3/, "size: 4"));
        const r = await aura("validate", file);
        assert.strictEqual(r.code, 1);
        assert.match(r.stderr, /infrastructure\.compute\.masters\.size: .*odd/);
        assert.doesNotMatch(r.stderr, /environment/);
    });

    it("with --stack, uses the stack name and refuses one that cannot be the environment", async () => {
        const file = tempFile(LONG_NAME, SEED);
        const ok = await aura("validate", file, "--stack", "dev");
        assert.strictEqual(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /valid — environment dev \(preproduction\)/);
        const bad = await aura("validate", file, "--stack", "customer-westeurope-production");
        assert.strictEqual(bad.code, 1);
        assert.match(bad.stderr, /environment: the stack name "customer-westeurope-production" cannot serve as the environment name/);
    });
});

describe("aura's options", () => {
    it("refuses an option its command does not take, or one given twice, instead of ignoring it", async () => {
        const cases: Array<[string[], RegExp]> = [
            [["validate", "profiles/dev.yaml", "--json"], /aura validate takes no --json \(its options: --stack\)/],
            [["validate", "profiles/dev.yaml", "--svg", "x.svg"], /aura validate takes no --svg/],
            [["schema", "--show-secrets"], /aura schema takes no --show-secrets\n/],
            [["plan", "profiles/dev.yaml", "--stack", "dev", "--stack=prod"], /--stack is given twice/],
            [["plan", "profiles/dev.yaml", "--bogus"], /aura plan takes no --bogus \(its options: --stack, --json, --show-secrets, --svg\)/],
            [["plan", "profiles/dev.yaml", "-s", "dev"], /aura plan takes no -s: the stack is --stack <name> \(its options: --stack/],
        ];
        for (const [args, why] of cases) {
            const r = await aura(...args);
            assert.strictEqual(r.code, 2, args.join(" "));
            assert.match(r.stderr, why);
            assert.match(r.stderr, /Usage:/);
        }
    });

    it("given a stack name for a profile path (aura plan dev), points at the profile the stack's config names", async () => {
        for (const args of [["plan", "dev"], ["validate", "prod"], ["plan", "nope.yaml", "--stack", "dev"]]) {
            const r = await aura(...args);
            assert.strictEqual(r.code, 1, args.join(" "));
            const stack = args.includes("--stack") ? "dev" : args[1];
            assert.match(r.stderr, new RegExp(`^${args[1]}: cannot read the profile: no such file — did you mean profiles/${stack}\\.yaml \\(Pulumi\\.${stack}\\.yaml's aura:profile\\)\\?\n$`));
        }
        // No stack file to help: the usual words.
        assert.match((await aura("plan", "nope.yaml")).stderr, /^nope\.yaml: cannot read the profile: no such file \(check the path/);
    });

    it("prints its usage for --help after a command, exit 0", async () => {
        for (const args of [["validate", "--help"], ["plan", "-h"], ["schema", "--help"]]) {
            const r = await aura(...args);
            assert.strictEqual(r.code, 0, args.join(" "));
            assert.match(r.stdout, /^Usage:\n {2}aura validate <profile>/);
        }
        for (const [command, usage] of [["diff", /^Usage:\n {2}aura diff/], ["promote", /^Usage:\n {2}aura promote --from/]] as const) {
            const r = await aura(command, "--help");
            assert.strictEqual(r.code, 0, command);
            assert.match(r.stdout, usage);
        }
    });
});

describe("aura's messages name a file with control characters escaped", () => {
    it("shows the file name as a quoted, escaped string, so it cannot rewrite the terminal", async () => {
        const file = tempFile("bad\u001b[2Jname.yaml", "x: 1\n");
        const r = await aura("validate", file, "--stack", "dev");
        assert.strictEqual(r.code, 1);
        assert.ok(!r.stderr.includes("\u001b"), "no raw escape character");
        assert.ok(r.stderr.startsWith(`${JSON.stringify(file).replace("\\u001b", "\\u001b")}: `), r.stderr);
    });
});

describe("the stack a profile's file name gives", () => {
    it("is refused, with --stack as the fix, when the file name is no stack name", async () => {
        const file = tempFile("My Profile.yaml", SEED);
        for (const args of [["plan", file], ["diff", file, file]]) {
            const r = await aura(...args);
            assert.strictEqual(r.code, 1, args.join(" "));
            assert.strictEqual(r.stderr, `${file}: the file name gives no stack name ("My Profile": a stack name starts with a letter or digit and has at most 100 letters, digits, '-', '_' and '.'): pass --stack <name>, e.g. --stack dev\n`);
        }
        assert.strictEqual((await aura("plan", file, "--stack", "dev")).code, 0);
    });
});

describe("a long list of problems", () => {
    it("is cut after 40 lines, and its header counts every problem", async () => {
        const keys = Array.from({ length: 500 }, (_, i) => `k${i}: 1`).join("\n");
        const r = await aura("validate", tempFile("dev.yaml", `${SEED}\n${keys}\n`), "--stack", "dev");
        assert.strictEqual(r.code, 1);
        const lines = r.stderr.trimEnd().split("\n");
        assert.match(lines[0], /: 500 problems:$/);
        assert.strictEqual(lines.length, 1 + 40 + 1);
        assert.strictEqual(lines[lines.length - 1], "  - … and 460 more (fix these first)");
    });
});
