#!/usr/bin/env node
// `aura`: offline tooling for the Aura Platform installer (validate, plan, schema).
// The TypeScript sources are transpiled on the fly (cli/transpile.js: a compile cache, or ts-node).
"use strict";
// The Pulumi SDK captures and formats a stack trace for every promise it tracks (only ever shown in
// its promise-leak report); aura prints messages, never stacks. (The SDK raises the limit itself
// where it needs a resource's source position.) About a sixth of a plan's CPU time.
Error.stackTraceLimit = 0;
// A reader that stops early (`aura plan … | head`) closes the pipe: that ends the output, not in a
// crash with a stack trace. Output that cannot be written (a full disk) is an error, said in one line.
for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err) => {
        if (err && err.code === "EPIPE") process.exit(process.exitCode ?? 0);
        if (stream === process.stdout) {
            try {
                process.stderr.write(`aura: cannot write the output: ${(err && err.code) || err}\n`);
            } catch {
                // nowhere left to say it
            }
        }
        process.exit(1);
    });
}
require("../cli/transpile").register();
require("../cli/main").main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err) => {
        process.stderr.write(`aura: internal error: ${err && err.message ? err.message : err}\n`);
        process.exitCode = 3;
    },
);
