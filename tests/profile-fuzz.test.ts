// `aura validate` against hostile input: a fast-check property that mutates the known-good profiles
// (run in a worker process, each case time-bounded), and the worst inputs found, each run as a real
// `aura` process that must answer within 5 s and 300 MB.
import * as assert from "assert";
import { ChildProcess, fork, spawnSync } from "child_process";
import * as fc from "fast-check";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { ROOT, tempFile } from "./helpers";
import { SEED } from "./profile-helpers";

/** What every refusal looks like: the file, then one `key.path: reason` per problem, no stack trace. */
function assertWellFormed(r: { code?: number; threw?: string; file: string; stdout: string; stderr: string }, input: string): void {
    const context = `input:\n${input.slice(0, 2000)}\nstderr:\n${r.stderr.slice(0, 2000)}`;
    assert.strictEqual(r.threw, undefined, `validate threw (exit 3):\n${r.threw}\n${context}`);
    assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}\n${context}`);
    assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, `stack trace\n${context}`);
    if (r.code === 0) {
        assert.match(r.stdout, /: valid — /, context);
        return;
    }
    assert.strictEqual(r.stdout, "", context);
    const [first, ...rest] = r.stderr.trimEnd().split("\n");
    assert.ok(first.startsWith(`${r.file}: `), `first line names the file\n${context}`);
    if (rest.length) {
        assert.match(first, /: \d+ problems:$/, context);
        for (const line of rest) assert.match(line, /^ {2}- (\S[^\n]*: \S|… and \d+ more)/, `a key-path line\n${context}`);
    }
    // Every echoed value and key is cut: no line grows with the input.
    for (const line of r.stderr.split("\n")) assert.ok(line.length < 600, `line of ${line.length} characters\n${context}`);
}

// ---------------------------------------------------------------------------------------------
// mutations of valid profiles

const VALID = ["profiles/dev.yaml", "profiles/prod.yaml", "tests/fixtures/full.yaml"].map((f) => fs.readFileSync(path.join(ROOT, f), "utf8")).concat(SEED);

/** Values that have broken validators before: boundaries, odd types, near-misses, huge and invisible text. */
const nasty = fc.constantFrom<unknown>(
    "", 0, -1, 1, 2, 3, 7, 8, 1001, 2 ** 31, 2 ** 53, Number.MAX_VALUE, 1e-9, Infinity, -Infinity, NaN, null, true, false,
    "latest", "010.240.0.0/16", "10.240.0.0/33", "10.240.0.0/016", "10.240.1.0/16", "0.0.0.0/0", "10.0.0.0/30", "__proto__", "constructor", "x".repeat(100_000),
    "Standard_DS2_v2", "Standard_D4s_v9", "westeurope", "westeruope", "1.99.0", "1.33.5", "1K", "1.5Gi", "500m", "-1",
    "bad\u001b[2J\u202ename", "nginx:latest", "r.io:99999/x:1", "aura-system", "system", [], {}, [[[]]], { __proto__: null, a: 1 },
);
const key = fc.oneof(
    fc.constantFrom("__proto__", "managment_nodes", "master_nodes", "ngnix", "custom", "env", "replicas", "size", "type", "regoin", "x\ny"),
    fc.string({ maxLength: 12 }),
);
const value = fc.oneof(nasty, fc.anything({ maxDepth: 2, maxKeys: 4, withNullPrototype: false }), fc.string({ maxLength: 20 }), fc.integer());

type Tree = Record<string, unknown> | unknown[];
/** Every [container, key] pair of the tree, so a mutation can pick one. */
function slots(doc: unknown): Array<[Tree, string | number]> {
    const out: Array<[Tree, string | number]> = [];
    const walk = (v: unknown) => {
        if (Array.isArray(v)) {
            v.forEach((item, i) => {
                out.push([v, i]);
                walk(item);
            });
        } else if (v && typeof v === "object") {
            for (const [k, item] of Object.entries(v)) {
                out.push([v as Tree, k]);
                walk(item);
            }
        }
    };
    walk(doc);
    return out;
}

const mutation = fc.record({
    base: fc.nat(VALID.length - 1),
    edits: fc.array(fc.record({ at: fc.nat(), op: fc.constantFrom("set", "delete", "rename", "add", "copy"), key, value }), { minLength: 1, maxLength: 4 }),
    text: fc.option(fc.record({ at: fc.nat(), insert: fc.constantFrom("&a", "*a", ":", "- ", "\t", "{", "]", "!!binary x", "---\n", "<<: *a\n", "\u0000", "'", "#") }), { nil: undefined }),
});

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

/** The profile text after the mutation's edits (on the parsed tree) and its text insertion. */
function apply(m: Mutation): string {
    const doc = yaml.load(VALID[m.base]) as Record<string, unknown>;
    for (const e of m.edits) {
        const all: Array<[Tree, string | number]> = [[doc, Object.keys(doc)[0] ?? "tier"], ...slots(doc)];
        const [container, k] = all[e.at % all.length];
        const target = container as Record<string | number, unknown>;
        if (e.op === "set") target[k] = e.value;
        else if (e.op === "delete" && Array.isArray(container)) container.splice(k as number, 1);
        else if (e.op === "delete") delete target[k];
        else if (e.op === "copy") target[k] = structuredClone(all[(e.at * 7) % all.length][0]);
        else if (Array.isArray(container)) container.push(e.value);
        else {
            const moved = e.op === "rename" ? target[k] : e.value;
            if (e.op === "rename") delete target[k];
            // defineProperty, so that a "__proto__" key becomes a real key of the YAML.
            Object.defineProperty(target, e.key, { value: moved, enumerable: true, writable: true, configurable: true });
        }
    }
    let text = yaml.dump(doc, { skipInvalid: true });
    if (m.text) {
        const at = m.text.at % (text.length + 1);
        text = text.slice(0, at) + m.text.insert + text.slice(at);
    }
    return text;
}

describe("aura validate under mutation (fast-check)", function () {
    this.timeout(180_000);
    let worker: ChildProcess;
    let next = 0;

    before(async () => {
        worker = fork(path.join(__dirname, "support", "validate-worker.ts"), [], {
            execArgv: ["-r", "ts-node/register/transpile-only"],
            stdio: ["ignore", "ignore", "inherit", "ipc"],
        });
        await new Promise<void>((resolve, reject) => {
            worker.once("message", () => resolve());
            worker.once("error", reject);
        });
    });
    after(() => {
        worker.kill();
    });

    /** Validates `text` in the worker; rejects if no answer comes within 5 s (a hang). */
    function validate(text: string): Promise<{ code?: number; threw?: string; file: string; stdout: string; stderr: string }> {
        const id = ++next;
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                worker.kill();
                reject(new Error(`aura validate did not answer within 5 s:\n${text.slice(0, 2000)}`));
            }, 5000);
            const onMessage = (msg: { id?: number }) => {
                if (msg.id !== id) return;
                clearTimeout(timer);
                worker.off("message", onMessage);
                resolve(msg as never);
            };
            worker.on("message", onMessage);
            worker.send({ id, text });
        });
    }

    it("keeps the known-good profiles valid", async () => {
        for (const text of VALID) assertWellFormed(await validate(text), text);
        for (const text of VALID) assert.strictEqual((await validate(text)).code, 0);
    });

    it("answers every mutated profile with exit 0, or exit 1 and key-path lines; never a hang, exit 3 or a stack trace", async () => {
        let refusedCount = 0;
        await fc.assert(
            fc.asyncProperty(mutation, async (m) => {
                const text = apply(m);
                const r = await validate(text);
                assertWellFormed(r, text);
                if (r.code === 1) refusedCount++;
            }),
            // Fixed seed: the same cases every run. AURA_FUZZ_RUNS / AURA_FUZZ_SEED explore further.
            { numRuns: Number(process.env.AURA_FUZZ_RUNS ?? 400), seed: Number(process.env.AURA_FUZZ_SEED ?? 13), endOnFailure: true },
        );
        assert.ok(refusedCount > 100, `the mutations must mostly break profiles (refused ${refusedCount})`);
    });
});

// ---------------------------------------------------------------------------------------------
// the worst inputs, as real processes

const AURA = path.join(ROOT, "bin", "aura.js");
const USAGE = path.join(__dirname, "support", "usage.js");

/**
 * Runs `aura validate <file>` as its own process: exit code, output, CPU time, wall time and peak
 * memory. The 5 s bound is on CPU time: wall time on a machine shared by parallel test runs says more
 * about the neighbours; a hang still shows as wall time, bounded at 20 s.
 */
function validateProcess(file: string) {
    const usageFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "aura-usage-")), "usage.json");
    const started = Date.now();
    const r = spawnSync(process.execPath, ["-r", USAGE, AURA, "validate", file], {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 20_000,
        env: { ...process.env, AURA_USAGE_FILE: usageFile },
    });
    const wallMs = Date.now() - started;
    const usage = fs.existsSync(usageFile) ? (JSON.parse(fs.readFileSync(usageFile, "utf8")) as { maxRSS: number; cpu: number }) : undefined;
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, wallMs, cpuMs: usage ? usage.cpu / 1000 : Infinity, peakMiB: usage ? usage.maxRSS / 1024 : Infinity };
}

/** A billion-laughs document: 12 levels of 9 aliases each, placed where `placement` puts `*a11`. */
function aliasBomb(placement: (alias: string) => string): string {
    const lines = ["x_anchors:", "  a0: &a0 {x: [1, 2, 3, 4, 5, 6, 7, 8, 9]}"];
    for (let i = 1; i < 12; i++) lines.push(`  a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(", ")}]`);
    return `${lines.join("\n")}\n${placement("*a11")}`;
}

const fifo = (): string => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "aura-fifo-")), "profile.yaml");
    spawnSync("mkfifo", [file]);
    return file;
};

// [what, file, what the message must say]
const WORST: Array<[string, () => string, RegExp]> = [
    ["an alias bomb where a mapping is expected", () => tempFile("dev.yaml", aliasBomb((a) => `${SEED}core:\n  services: ${a}\n`)), /expands to more than/],
    ["an alias bomb where a string is expected", () => tempFile("dev.yaml", aliasBomb((a) => SEED.replace('region: "westeurope"', `region: ${a}`))), /expands to more than/],
    ["/dev/zero", () => "/dev/zero", /not a regular file/],
    ["a named pipe nobody writes to", fifo, /not a regular file/],
    ["a folder", () => os.tmpdir(), /is a folder/],
    ["a file over the size limit", () => tempFile("dev.yaml", `${SEED}# ${"x".repeat(300 * 1024)}\n`), /larger than 256 KiB/],
    ["20,000 unknown keys", () => tempFile("dev.yaml", SEED + Array.from({ length: 20_000 }, (_, i) => `k${i}: 1\n`).join("")), /… and 19960 more/],
    ["a 100 KB value", () => tempFile("dev.yaml", SEED.replace('"westeurope"', `"${"x".repeat(100_000)}"`)), /\(100000 characters\)/],
    ["a 100 KB key", () => tempFile("dev.yaml", `${SEED}${"k".repeat(100_000)}: 1\n`), /unknown key/],
    ["deep nesting", () => tempFile("dev.yaml", `a: ${"[".repeat(5000)}${"]".repeat(5000)}\n`), /nesting exceeded/],
    ["120,000 list items", () => tempFile("dev.yaml", `${SEED}access:\n  users: [${Array(120_000).fill("1").join(",")}]\n`), /at most 200 users/],
    ["a binary file", () => tempFile("dev.yaml", Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80]).toString("latin1")), /not UTF-8|syntax/],
    // Every name of a mapping is compared with the names before it for typos: not for thousands of them.
    ["12,000 services", () => tempFile("dev.yaml", `${SEED}core:\n  services: {${Array.from({ length: 12_000 }, (_, i) => `s${i}: {}`).join(", ")}}\n`), /lists 12000 services: at most 100/],
    ["600 services with long names", () => tempFile("dev.yaml", `${SEED}core:\n  services:\n${Array.from({ length: 600 }, (_, i) => `    ${"s".repeat(55)}-${i}: {}\n`).join("")}`), /lists 600 services: at most 100/],
    ["8,000 jobs", () => tempFile("dev.yaml", `${SEED}core:\n  jobs: {${Array.from({ length: 8_000 }, (_, i) => `j${i}: {}`).join(", ")}}\n`), /lists 8000 jobs: at most 50/],
    // A URL-with-password check on every env value: 100 services × 99 aliased 8 KB values (199 aliases).
    [
        "9,900 long env values through aliases",
        () => {
            const env = Array.from({ length: 99 }, (_, i) => `V${i}: *v`).join(", ");
            const services = Array.from({ length: 99 }, (_, i) => `    s${i}x: { custom: true, env: *e }\n`).join("");
            return tempFile("dev.yaml", `x_anchors:\n  v: &v "${"a".repeat(8000)}"\n  e: &e {${env}}\n${SEED}core:\n  services:\n    nginx: { env: *e }\n${services}`);
        },
        /x_anchors: unknown key/,
    ],
    // Every pool's VM size is compared with the known ones for a hint: not for thousands of pools.
    ["3,000 pools with a misspelt size", () => tempFile("dev.yaml", SEED.replace("compute:\n", `compute:\n${Array.from({ length: 3_000 }, (_, i) => `    p${i}_nodes: { min_size: 0, max_size: 1, type: Standard_D4s_v9 }\n`).join("")}`)), /defines 3003 agent pools: at most 12/],
    ["3,000 pools", () => tempFile("dev.yaml", SEED.replace("compute:\n", `compute:\n${Array.from({ length: 3_000 }, (_, i) => `    p${i}_nodes: { min_size: 0, max_size: 1, type: Standard_DS2_v2 }\n`).join("")}`)), /defines 3003 agent pools: at most 12/],
];

describe("aura validate: the worst inputs answer within 5 s (CPU) and 300 MB", function () {
    this.timeout(120_000);
    for (const [what, make, reason] of WORST) {
        it(`refuses ${what}`, () => {
            const r = validateProcess(make());
            assert.strictEqual(r.code, 1, `exit ${r.code}: ${r.stderr.slice(0, 1000)}`);
            assert.match(r.stderr, reason);
            assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, "no stack trace");
            assert.ok(r.stderr.length < 10_000, `prints ${r.stderr.length} characters`);
            assert.ok(r.cpuMs < 5000, `took ${r.cpuMs.toFixed(0)} ms of CPU`);
            assert.ok(r.wallMs < 20_000, `took ${r.wallMs} ms`);
            assert.ok(r.peakMiB < 300, `peak memory ${r.peakMiB.toFixed(0)} MiB`);
        });
    }
});
