// The lint gate (eslint.config.mjs) catches the Pulumi bugs it is there for: an Output<T> turned
// into a string, and a promise nobody awaits — and leaves correct code alone.
import * as assert from "assert";
import * as path from "path";
import { ESLint } from "eslint";
import { ROOT } from "./helpers";

describe("lint", () => {
    it("flags an Output in a template literal or concatenation and a floating promise, not plain values", async function () {
        this.timeout(120_000);
        const eslint = new ESLint({ cwd: ROOT, ignore: false });
        const [result] = await eslint.lintFiles([path.join(ROOT, "tests", "fixtures", "lint-probe.ts")]);
        const found = result.messages.map((m) => `${m.line}:${m.ruleId}`);
        assert.deepStrictEqual(
            [...new Set(found)].sort(),
            [
                "6:@typescript-eslint/no-floating-promises",
                "7:@typescript-eslint/no-base-to-string",
                "7:@typescript-eslint/restrict-template-expressions",
                "8:@typescript-eslint/no-base-to-string",
                "8:@typescript-eslint/restrict-plus-operands",
            ],
        );
    });
});
