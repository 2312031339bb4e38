// Preloaded by scripts/bench.js: reports the process's peak resident set size when it exits.
"use strict";
process.on("exit", () => process.stderr.write(`\nAURA_BENCH_MAXRSS_KB=${process.resourceUsage().maxRSS}\n`));
