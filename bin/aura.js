#!/usr/bin/env node
// `aura`: offline tooling for the Aura Platform installer (validate, plan, schema).
// The TypeScript sources are transpiled on the fly (cli/transpile.js: a compile cache, or ts-node).
"use strict";
require("../cli/transpile").register();
require("../cli/main").main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => {
        process.stderr.write(`aura: internal error: ${err && err.message ? err.message : err}\n`);
        process.exitCode = 3;
    },
);
