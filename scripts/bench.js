#!/usr/bin/env node
// `npm run bench`: wall time and peak memory of `aura plan` for profiles/prod.yaml and a generated
// profile ten times its size (10 pools, 90 services), against a floor measured in the same run:
// Node.js with the same TypeScript loader loading every package module a plan loads, doing nothing.
// Another row loads the program's own modules too: every module the plan loads.
// A last row adds to the floor what the SDK and the mock engine take for as many registrations as
// plan(prod) makes, each with almost no inputs (bench-registrations.js): the least any plan of that
// size can take on this SDK.
// Each run is a fresh process; the three commands are interleaved so that load from other work on
// the machine hits them alike; medians of BENCH_RUNS (default 5) runs. Prints a Markdown table.
"use strict";
const { spawnSync } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const yaml = require("js-yaml");

const root = path.join(__dirname, "..");
const runs = Math.max(1, Number(process.env.BENCH_RUNS || 5));
const preload = path.join(__dirname, "bench-rss.js");
const aura = path.join(root, "bin", "aura.js");
const MiB = 1024;

/** profiles/prod.yaml with ten times the pools and services: 10 pools, 90 services (the new names
 *  are close to known ones, so they say `custom: true`). */
function tenfoldProfile() {
    const prod = yaml.load(fs.readFileSync(path.join(root, "profiles", "prod.yaml"), "utf8"));
    const compute = prod.infrastructure.compute;
    for (let i = 1; i <= 7; i++) compute[`extra${i}_nodes`] = { min_size: 0, max_size: 10, type: "Standard_DS2_v2", custom: true };
    const services = {};
    for (const [name, replicas] of Object.entries(defaultServices())) {
        for (let i = 0; i < 10; i++) services[i === 0 ? name : `${name}-${i}`] = i === 0 ? { service_replicas: replicas } : { service_replicas: 2, custom: true };
    }
    prod.core = { ...prod.core, services };
    return yaml.dump(prod);
}

/** The default service set, read from the schema without compiling it. */
function defaultServices() {
    const text = fs.readFileSync(path.join(root, "profiles", "schema.ts"), "utf8");
    const block = /DEFAULT_SERVICES[^=]*=\s*\{([^}]*)\}/.exec(text)[1];
    return Object.fromEntries([...block.matchAll(/"?([a-z0-9-]+)"?\s*:\s*(\d+)/g)].map((m) => [m[1], Number(m[2])]));
}

function run(args, env = {}) {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ["--require", preload, ...args], {
        cwd: root,
        encoding: "utf8",
        maxBuffer: 512 * 1024 * 1024,
        env: { ...process.env, ...env },
    });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) {
        process.stderr.write(`${args.join(" ")} failed:\n${r.stderr}`);
        process.exit(1);
    }
    const m = /AURA_BENCH_MAXRSS_KB=(\d+)/.exec(r.stderr);
    const cpu = /AURA_BENCH_CPU_US=(\d+)/.exec(r.stderr);
    return { ms, cpuMs: cpu ? Number(cpu[1]) / 1000 : NaN, rssKb: m ? Number(m[1]) : NaN, stdout: r.stdout };
}

function median(xs) {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aura-bench-"));
try {
    const bigProfile = path.join(tmp, "prod-10x.yaml");
    fs.writeFileSync(bigProfile, tenfoldProfile());
    const moduleList = path.join(tmp, "modules.json");
    // A warm-up prod plan counts its registrations; a warm-up 10× plan records the modules for the
    // floor and fills the transpile cache.
    const prodArgs = [aura, "plan", "profiles/prod.yaml", "--stack", "prod", "--json"];
    const prodResources = JSON.parse(run(prodArgs).stdout).resources;
    const customCount = prodResources.filter((r) => r.custom).length;
    const componentCount = prodResources.length - customCount;
    const registrations = path.join(__dirname, "bench-registrations.js");
    const commands = {
        floor: [path.join(__dirname, "bench-floor.js"), moduleList],
        "floor+program": [path.join(__dirname, "bench-floor.js"), moduleList.replace(/\.json$/, "-all.json")],
        "plan(prod)": prodArgs,
        "plan(10×)": [aura, "plan", bigProfile, "--stack", "prod", "--json"],
        registrations: [registrations, String(customCount), String(componentCount)],
        "registrations(0)": [registrations, "0", "0"],
    };
    const warm = run(commands["plan(10×)"], { AURA_BENCH_MODULES: moduleList });
    const bigCount = JSON.parse(warm.stdout).resources.length;
    const load0 = os.loadavg()[0];
    const samples = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
    for (let i = 0; i < runs; i++) {
        for (const [name, args] of Object.entries(commands)) samples[name].push(run(args));
    }
    const load1 = os.loadavg()[0];
    const stat = Object.fromEntries(
        Object.entries(samples).map(([k, xs]) => [k, { ms: median(xs.map((x) => x.ms)), cpuMs: median(xs.map((x) => x.cpuMs)), rss: median(xs.map((x) => x.rssKb)) / MiB, maxRss: Math.max(...xs.map((x) => x.rssKb)) / MiB }]),
    );
    const prodCount = JSON.parse(samples["plan(prod)"][0].stdout).resources.length;
    const floor = stat.floor;
    const floorAll = stat["floor+program"];
    const prod = stat["plan(prod)"];
    const big = stat["plan(10×)"];
    // The floor plus what the SDK and the mock engine take for as many near-empty registrations.
    const reg = stat.registrations;
    const reg0 = stat["registrations(0)"];
    const minimum = { ms: floor.ms + reg.ms - reg0.ms, cpuMs: floor.cpuMs + reg.cpuMs - reg0.cpuMs };
    const row = (name, s, ratio, cpuRatio, target) =>
        `| ${name} | ${(s.ms / 1000).toFixed(2)} s | ${ratio} | ${(s.cpuMs / 1000).toFixed(2)} s (${cpuRatio}) | ${s.rss.toFixed(0)} MiB (max ${s.maxRss.toFixed(0)}) | ${target} |`;
    const mark = (ok) => (ok ? "met" : "MISSED");
    const lines = [
        `| command | median wall time | ratio | median CPU time (ratio) | median peak RSS | target (wall time) |`,
        `| --- | --- | --- | --- | --- | --- |`,
        row("floor (Node + loader + the package modules the plan loads)", floor, "1.00× floor", "1.00×", "—"),
        row(
            `plan(prod), ${prodCount} resources`,
            prod,
            `${(prod.ms / floor.ms).toFixed(2)}× floor`,
            `${(prod.cpuMs / floor.cpuMs).toFixed(2)}× floor`,
            `≤ 1.5× floor: ${mark(prod.ms <= 1.5 * floor.ms)}; RSS ≤ 600 MiB: ${mark(prod.rss <= 600)}`,
        ),
        row(`plan(10×), ${bigCount} resources`, big, `${(big.ms / prod.ms).toFixed(2)}× plan(prod)`, `${(big.cpuMs / prod.cpuMs).toFixed(2)}× plan(prod)`, `≤ 2× plan(prod): ${mark(big.ms <= 2 * prod.ms)}`),
        row(
            "floor with the program's own modules too (every module the plan loads)",
            floorAll,
            `${(floorAll.ms / floor.ms).toFixed(2)}× floor; plan(prod) is ${(prod.ms / floorAll.ms).toFixed(2)}× this`,
            `${(floorAll.cpuMs / floor.cpuMs).toFixed(2)}×`,
            "—",
        ),
        `| floor + ${customCount} resources and ${componentCount} components with almost no inputs (the SDK's minimum for plan(prod)) | ${(minimum.ms / 1000).toFixed(2)} s | ${(minimum.ms / floor.ms).toFixed(2)}× floor | ${(minimum.cpuMs / 1000).toFixed(2)} s (${(minimum.cpuMs / floor.cpuMs).toFixed(2)}× floor) | — | — |`,
    ];
    console.log(lines.join("\n"));
    console.log(
        `\n${runs} runs each, interleaved; ${os.cpus().length} CPUs (${os.cpus()[0].model.trim()}), Node ${process.version}, ` +
            `load average ${load0.toFixed(1)} → ${load1.toFixed(1)}${load0 > os.cpus().length ? " (a busy machine: expect noise)" : ""}`,
    );
} finally {
    fs.rmSync(tmp, { recursive: true, force: true });
}
