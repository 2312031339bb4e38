// Runs the program's TypeScript sources for `aura` with a compile cache: each .ts file is
// transpiled by the TypeScript compiler with the tsconfig's options (what ts-node emits for
// `pulumi up`, so the plan runs the same JavaScript; a test compares the two) and the JavaScript is
// kept by content hash, so a warm `aura plan` compiles nothing. No source-map support is
// installed: the Pulumi SDK captures a stack trace for every output and resource, and rewriting
// each through source maps cost about a second per plan. `pulumi up` is unaffected.
// AURA_TRANSPILER=ts-node falls back to ts-node (tests compare the two).
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
const tsconfig = path.join(root, "tsconfig.json");
const cacheDir = path.join(root, "node_modules", ".cache", "aura-ts");

function registerTsNode() {
    require("ts-node").register({ transpileOnly: true, project: tsconfig, compilerOptions: { sourceMap: false } });
    return "ts-node";
}

/** The tsconfig's compiler options, as emitted for one file at a time (no source maps). */
function compilerOptions(ts) {
    const read = ts.readConfigFile(tsconfig, ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root);
    return { ...parsed.options, noEmit: false, sourceMap: false, inlineSourceMap: false, declaration: false };
}

/** Installs the .ts loader; returns which one ("cache" or "ts-node"). */
function register() {
    if (process.env.AURA_TRANSPILER === "ts-node") return registerTsNode();
    // The compiler's version and the tsconfig are part of the key: changing either recompiles.
    const tsVersion = JSON.parse(fs.readFileSync(require.resolve("typescript/package.json"), "utf8")).version;
    const salt = `aura-ts-1\0${tsVersion}\0${fs.readFileSync(tsconfig, "utf8")}\0`;
    let ts;
    let options;
    require.extensions[".ts"] = function (module, filename) {
        const source = fs.readFileSync(filename, "utf8");
        const key = crypto.createHash("sha256").update(salt).update(filename).update("\0").update(source).digest("hex");
        const cached = path.join(cacheDir, `${key}.js`);
        let code;
        try {
            code = fs.readFileSync(cached, "utf8");
        } catch {
            ts = ts || require("typescript");
            options = options || compilerOptions(ts);
            code = ts.transpileModule(source, { fileName: filename, compilerOptions: options }).outputText;
            try {
                fs.mkdirSync(cacheDir, { recursive: true });
                // Write then rename, so a concurrent run never reads half a file.
                const tmp = `${cached}.${process.pid}.tmp`;
                fs.writeFileSync(tmp, code);
                fs.renameSync(tmp, cached);
            } catch {
                // A read-only checkout compiles every time.
            }
        }
        module._compile(code, filename);
    };
    return "cache";
}

module.exports = { register };
