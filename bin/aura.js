#!/usr/bin/env node
// `aura`: offline tooling for the Aura Platform installer (validate, plan, schema).
// TypeScript is compiled on the fly in transpile-only mode, as the Pulumi runtime does.
"use strict";
const path = require("path");
// validate and schema load only the profile code, and swc transpiles it in a fraction of TypeScript's
// time (validate stays well inside its 5 s bound on a busy machine). plan keeps TypeScript's output:
// Pulumi serialises transpiled functions into dynamic providers, and the plan shows them.
const fast = ["validate", "schema"].includes(process.argv[2]) && (() => {
    try { return Boolean(require.resolve("@swc/core")); } catch { return false; }
})();
require("ts-node").register({
    transpileOnly: true,
    swc: fast,
    project: path.join(__dirname, "..", "tsconfig.json"),
    compilerOptions: { sourceMap: false },
});
require("../cli/main").main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => {
        process.stderr.write(`aura: internal error: ${err && err.message ? err.message : err}\n`);
        process.exitCode = 3;
    },
);
