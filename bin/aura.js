#!/usr/bin/env node
// `aura`: offline tooling for the Aura Platform installer (validate, plan, schema).
// TypeScript is compiled on the fly in transpile-only mode, as the Pulumi runtime does.
"use strict";
const path = require("path");
require("ts-node").register({
    transpileOnly: true,
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
