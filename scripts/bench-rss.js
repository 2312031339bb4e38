// Preloaded by scripts/bench.js: reports the process's peak resident set size when it exits, and
// (with AURA_BENCH_MODULES=<file>) the package modules it loaded, in load order, for the floor.
"use strict";
process.on("exit", () => {
    const out = process.env.AURA_BENCH_MODULES;
    if (out) {
        const modules = Object.keys(require.cache).filter((f) => f.includes(`${require("path").sep}node_modules${require("path").sep}`) && /\.(c?js|json)$/.test(f));
        require("fs").writeFileSync(out, JSON.stringify(modules));
    }
    process.stderr.write(`\nAURA_BENCH_MAXRSS_KB=${process.resourceUsage().maxRSS}\n`);
});
