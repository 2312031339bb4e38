// Runs the program's TypeScript sources for `aura` without the TypeScript compiler: each .ts file
// is transpiled by swc (types stripped, same tsconfig semantics: ES2022, CommonJS, define-semantics
// class fields) and the result is cached by content hash, so a warm `aura plan` loads no compiler
// at all. No source-map support is installed: the Pulumi SDK captures a stack trace for every
// output and resource, and rewriting each one through source maps cost about a second per plan.
// `pulumi up` is unaffected: it runs the same sources through its own ts-node.
// AURA_TRANSPILER=ts-node (or a missing @swc/core) falls back to ts-node, as before.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
const cacheDir = path.join(root, "node_modules", ".cache", "aura-swc");

function swcOptions(filename) {
    return {
        filename,
        swcrc: false,
        configFile: false,
        sourceMaps: false,
        module: { type: "commonjs" },
        jsc: {
            parser: { syntax: "typescript" },
            target: "es2022",
            keepClassNames: true,
            transform: { useDefineForClassFields: true },
        },
    };
}

function swcVersion() {
    try {
        return JSON.parse(fs.readFileSync(require.resolve("@swc/core/package.json"), "utf8")).version;
    } catch {
        return undefined;
    }
}

function registerTsNode() {
    require("ts-node").register({
        transpileOnly: true,
        project: path.join(root, "tsconfig.json"),
        compilerOptions: { sourceMap: false },
    });
    return "ts-node";
}

/** Installs the .ts loader; returns which one ("swc" or "ts-node"). */
function register() {
    const version = process.env.AURA_TRANSPILER === "ts-node" ? undefined : swcVersion();
    if (!version) return registerTsNode();
    // The options are part of the key: a change to them (or to swc) recompiles everything.
    const salt = `${version}\0${JSON.stringify(swcOptions(""))}\0`;
    let swc;
    require.extensions[".ts"] = function (module, filename) {
        const source = fs.readFileSync(filename, "utf8");
        const key = crypto.createHash("sha256").update(salt).update(filename).update("\0").update(source).digest("hex");
        const cached = path.join(cacheDir, `${key}.js`);
        let code;
        try {
            code = fs.readFileSync(cached, "utf8");
        } catch {
            swc = swc || require("@swc/core");
            code = swc.transformSync(source, swcOptions(filename)).code;
            try {
                fs.mkdirSync(cacheDir, { recursive: true });
                // Write then rename, so a concurrent run never reads half a file.
                const tmp = `${cached}.${process.pid}.tmp`;
                fs.writeFileSync(tmp, code);
                fs.renameSync(tmp, cached);
            } catch {
                // A read-only checkout just compiles every time.
            }
        }
        module._compile(code, filename);
    };
    return "swc";
}

module.exports = { register };
