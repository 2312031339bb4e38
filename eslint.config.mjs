// ESLint for the whole repository (run by `npm test` after tsc): the recommended rules of ESLint
// and typescript-eslint, plus type-aware rules for bugs a Pulumi program really has — an
// Output<T> in a template literal or string concatenation (prints "Calling [toString] on an
// [Output<T>]…" instead of the value; use pulumi.interpolate / apply), a promise nobody awaits
// (its error is lost and the run ends early), an async callback where a sync one is expected.
// Style is left to reviewers. Type information costs about one tsc run (measured: 2 s without,
// 6 s with, on 2 cores).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const nodeGlobals = Object.fromEntries(
    ["require", "module", "exports", "process", "console", "Buffer", "URL", "__dirname", "__filename", "setTimeout", "clearTimeout"].map((g) => [g, "readonly"]),
);

export default tseslint.config(
    // tests/fixtures/lint-probe.ts holds bugs on purpose for tests/lint.test.ts.
    { ignores: ["node_modules/**", "**/*.d.ts", "tests/fixtures/lint-probe.ts"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        rules: {
            // `any` marks the SDK's untyped protobuf requests and test probes into inputs; tsc's
            // strict mode guards the rest.
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
            "@typescript-eslint/no-floating-promises": "error",
            "@typescript-eslint/no-misused-promises": "error",
            "@typescript-eslint/await-thenable": "error",
            "@typescript-eslint/restrict-template-expressions": "error",
            "@typescript-eslint/restrict-plus-operands": "error",
            "@typescript-eslint/no-base-to-string": "error",
        },
    },
    {
        // bin/ and scripts/ are plain CommonJS run by node.
        files: ["**/*.js"],
        languageOptions: { sourceType: "commonjs", globals: nodeGlobals },
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
);
