#!/usr/bin/env node
// `npm run bench`: how long `aura plan` takes and how much memory it needs, per profile.
// Each run is a fresh process (as an operator or CI runs it); we report the median wall time and
// the largest peak resident set size over the runs.
"use strict";
const { spawnSync } = require("child_process");
const path = require("path");

const root = path.join(__dirname, "..");
const runs = Number(process.env.BENCH_RUNS || 3);
const profiles = process.argv.slice(2).length ? process.argv.slice(2) : ["profiles/dev.yaml", "profiles/prod.yaml"];
const preload = path.join(__dirname, "bench-rss.js");

for (const profile of profiles) {
    const times = [];
    let rss = 0;
    for (let i = 0; i < runs; i++) {
        const start = process.hrtime.bigint();
        const r = spawnSync(process.execPath, ["--require", preload, path.join(root, "bin", "aura.js"), "plan", profile, "--json"], {
            cwd: root,
            encoding: "utf8",
            maxBuffer: 64 * 1024 * 1024,
        });
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
        if (r.status !== 0) {
            process.stderr.write(r.stderr);
            process.exit(1);
        }
        const m = /AURA_BENCH_MAXRSS_KB=(\d+)/.exec(r.stderr);
        if (m) rss = Math.max(rss, Number(m[1]));
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    console.log(`aura plan ${profile}: median ${median.toFixed(0)} ms over ${runs} runs, peak RSS ${(rss / 1024).toFixed(0)} MiB`);
}
