// Runs the program's TypeScript sources for `aura` with a compile cache: each .ts file is
// transpiled by the TypeScript compiler with the tsconfig's options (what ts-node emits for
// `pulumi up`, so the plan runs the same JavaScript; a test compares the two) and the JavaScript is
// kept by content hash, so a warm `aura plan` compiles nothing. Under the same key the cache keeps
// V8's bytecode for that JavaScript as it stood when the first run ended (with the functions that
// ran), so a warm run does not parse or compile the program's own code either. The key ties the
// bytecode to the exact source (V8 itself checks only its length); V8 refuses bytecode from another
// Node.js version or other V8 flags, and then the module is compiled and its bytecode rewritten.
// Each cache file starts with the SHA-256 of its content (readVerified): a damaged one is a miss.
// No source-map support is installed: the Pulumi SDK captures a stack trace for every output and
// resource, and rewriting each through source maps cost about a second per plan. `pulumi up` is
// unaffected. AURA_TRANSPILER=ts-node falls back to ts-node (tests compare the two).
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const Module = require("module");
const path = require("path");
const vm = require("vm");

const root = path.join(__dirname, "..");
const tsconfig = path.join(root, "tsconfig.json");
// AURA_TS_CACHE names another folder (tests use an empty one).
const cacheDir = process.env.AURA_TS_CACHE || path.join(root, "node_modules", ".cache", "aura-ts");

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

/**
 * Cache files start with the SHA-256 of the rest: a file a crash or a full disk left short or zeroed
 * is a miss, never code to run (V8 checks only the header and length of bytecode, and a damaged
 * payload crashes the process).
 */
function readVerified(file) {
    let data;
    try {
        data = fs.readFileSync(file);
    } catch {
        return undefined;
    }
    const payload = data.subarray(32);
    if (data.length < 32 || !crypto.createHash("sha256").update(payload).digest().equals(data.subarray(0, 32))) return undefined;
    return payload;
}

/** Writes `payload` (after its SHA-256) to `file` through a temporary name, so no run reads half a file. */
function writeVerified(file, payload) {
    const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString("hex")}.tmp`;
    try {
        fs.mkdirSync(cacheDir, { recursive: true });
        const fd = fs.openSync(tmp, "wx");
        try {
            fs.writeSync(fd, crypto.createHash("sha256").update(payload).digest());
            fs.writeSync(fd, payload);
            fs.fsyncSync(fd);
        } finally {
            fs.closeSync(fd);
        }
        fs.renameSync(tmp, file);
    } catch {
        // A read-only checkout or a full disk compiles every time.
        fs.rmSync(tmp, { force: true });
    }
}

/** The JavaScript for a .ts file, or an error listing its syntax errors as ts-node (and so `pulumi up`) would refuse it. */
function transpile(ts, options, source, filename) {
    const out = ts.transpileModule(source, { fileName: filename, compilerOptions: options, reportDiagnostics: true });
    const errors = (out.diagnostics || []).filter((d) => d.category === ts.DiagnosticCategory.Error);
    if (errors.length) {
        const lines = errors.map((d) => {
            const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
            const where = at ? `${filename}(${at.line + 1},${at.character + 1})` : filename;
            return `${where}: error TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
        });
        throw new Error(`Unable to compile TypeScript:\n${lines.join("\n")}`);
    }
    return out.outputText;
}

/** Scripts compiled without usable bytecode: theirs is written when the process ends. */
const unsaved = [];

function saveBytecode() {
    for (const { script, file } of unsaved.splice(0)) writeVerified(file, script.createCachedData());
}

/** `require` for a module, as Node.js gives it to a module it compiles itself. */
function requireFor(module) {
    const req = (id) => module.require(id);
    req.resolve = (request, options) => Module._resolveFilename(request, module, false, options);
    req.resolve.paths = (request) => Module._resolveLookupPaths(request, module);
    req.main = require.main;
    req.extensions = Module._extensions;
    req.cache = Module._cache;
    return req;
}

/** Runs a module's JavaScript as Node.js would, from the bytecode in `bytecodeFile` when V8 accepts it. */
function runWithBytecode(module, code, filename, bytecodeFile) {
    const cachedData = readVerified(bytecodeFile);
    const script = new vm.Script(Module.wrap(code), {
        filename,
        cachedData,
        importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    if (cachedData === undefined || script.cachedDataRejected) {
        if (unsaved.length === 0) process.once("exit", saveBytecode);
        unsaved.push({ script, file: bytecodeFile });
    }
    const wrapper = script.runInThisContext({ displayErrors: true });
    wrapper.call(module.exports, module.exports, requireFor(module), module, filename, path.dirname(filename));
}

/** Installs the .ts loader; returns which one ("cache" or "ts-node"). */
function register() {
    if (process.env.AURA_TRANSPILER === "ts-node") return registerTsNode();
    // The compiler's version and the tsconfig are part of the key: changing either recompiles.
    const tsVersion = JSON.parse(fs.readFileSync(require.resolve("typescript/package.json"), "utf8")).version;
    const salt = `aura-ts-2\0${tsVersion}\0${fs.readFileSync(tsconfig, "utf8")}\0`;
    // Node.js 20.12 and later let a script compiled here use import() as a module would; but V8 keeps
    // the import callback's identity in the bytecode, where the next process cannot match it
    // (nodejs/node#35375), so a module with a real import() is compiled by Node.js, without bytecode.
    const bytecode = vm.constants !== undefined && vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER !== undefined;
    let ts;
    let options;
    require.extensions[".ts"] = function (module, filename) {
        const source = fs.readFileSync(filename, "utf8");
        const key = crypto.createHash("sha256").update(salt).update(filename).update("\0").update(source).digest("hex");
        const cached = path.join(cacheDir, `${key}.js`);
        let code = readVerified(cached)?.toString("utf8");
        if (code === undefined) {
            ts = ts || require("typescript");
            options = options || compilerOptions(ts);
            code = transpile(ts, options, source, filename);
            writeVerified(cached, Buffer.from(code, "utf8"));
        }
        if (bytecode && !/\bimport\s*\(/.test(code)) runWithBytecode(module, code, filename, path.join(cacheDir, `${key}.${process.version}.bytecode`));
        else module._compile(code, filename);
    };
    return "cache";
}

module.exports = { register };
