// Preloaded by scripts/bench.js: reports the process's peak resident set size and CPU time when it exits, and
// (with AURA_BENCH_MODULES=<file>) the modules it loaded, in load order, for the floors: the package
// modules in <file>, and every module (the program's own too, bar the entry and the loader the floor
// runs itself) in <file> with `-all` before `.json`.
"use strict";
process.on("exit", () => {
    const out = process.env.AURA_BENCH_MODULES;
    if (out) {
        const path = require("path");
        const fs = require("fs");
        const root = path.join(__dirname, "..");
        const own = new Set([__filename, path.join(root, "bin", "aura.js"), path.join(root, "cli", "transpile.js")]);
        const loaded = Object.keys(require.cache).filter((f) => /\.(c?js|json|ts)$/.test(f) && !own.has(f));
        fs.writeFileSync(out, JSON.stringify(loaded.filter((f) => f.includes(`${path.sep}node_modules${path.sep}`))));
        fs.writeFileSync(out.replace(/\.json$/, "-all.json"), JSON.stringify(loaded));
    }
    const cpu = process.cpuUsage();
    process.stderr.write(`\nAURA_BENCH_MAXRSS_KB=${process.resourceUsage().maxRSS}\nAURA_BENCH_CPU_US=${cpu.user + cpu.system}\n`);
});
