// `aura plan --svg`: Graphviz lays out the plan; the SVG parses as XML and shows the stages,
// components, pools with their bounds, masters per zone and charts of the plan it drew.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { Plan } from "../cli/plan";
import { planToSvg } from "../cli/picture";
import { aura, byType, plan, tempFile } from "./helpers";

interface XmlElement {
    name: string;
    attrs: Record<string, string>;
    children: XmlElement[];
    text: string;
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };
function unescape(s: string): string {
    return s.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (m, e: string) =>
        e[0] === "#" ? String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : (ENTITIES[e] ?? m),
    );
}

/** A strict little XML parser (enough for Graphviz's SVG): throws on a malformed or unbalanced document. */
function parseXml(xml: string): XmlElement {
    const root: XmlElement = { name: "#document", attrs: {}, children: [], text: "" };
    const stack = [root];
    const token = /<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[^>]*>|<\/([\w:.-]+)\s*>|<([\w:.-]+)((?:\s+[\w:.-]+\s*=\s*"[^"]*")*)\s*(\/?)>|([^<]+)/gy;
    let m: RegExpExecArray | null;
    let at = 0;
    while (at < xml.length) {
        token.lastIndex = at;
        m = token.exec(xml);
        if (!m) throw new Error(`malformed XML at ${at}: ${xml.slice(at, at + 40)}`);
        at = token.lastIndex;
        const [, close, open, attrText, selfClose, text] = m;
        const top = stack[stack.length - 1];
        if (close) {
            if (top.name !== close) throw new Error(`</${close}> closes <${top.name}>`);
            stack.pop();
        } else if (open) {
            const attrs: Record<string, string> = {};
            for (const a of attrText.matchAll(/([\w:.-]+)\s*=\s*"([^"]*)"/g)) attrs[a[1]] = unescape(a[2]);
            const el: XmlElement = { name: open, attrs, children: [], text: "" };
            top.children.push(el);
            if (!selfClose) stack.push(el);
        } else if (text !== undefined) {
            if (stack.length === 1 && text.trim()) throw new Error("text outside the root element");
            top.text += unescape(text);
        }
    }
    if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1].name}>`);
    return root;
}

function all(el: XmlElement, name: string): XmlElement[] {
    return [...(el.name === name ? [el] : []), ...el.children.flatMap((c) => all(c, name))];
}

describe("aura plan --svg", () => {
    let prod: Plan;
    let svg: XmlElement;
    let texts: string[];

    before(async function () {
        this.timeout(120_000);
        prod = await plan({ profile: "profiles/prod.yaml", stack: "prod" });
        const doc = parseXml(await planToSvg(prod));
        assert.strictEqual(doc.children.length, 1);
        svg = doc.children[0];
        // Graphviz writes a double space as a no-break space; compare with single spaces.
        texts = all(svg, "text").map((t) => t.text.replace(/\s+/g, " ").trim());
    });

    it("is an SVG document with a real layout", () => {
        assert.strictEqual(svg.name, "svg");
        assert.strictEqual(svg.attrs.xmlns, "http://www.w3.org/2000/svg");
        assert.ok(parseFloat(svg.attrs.width) > 100 && parseFloat(svg.attrs.height) > 100, `${svg.attrs.width} × ${svg.attrs.height}`);
        // Graphviz positions every label: no two texts share a point.
        const points = all(svg, "text").map((t) => `${t.attrs.x},${t.attrs.y}`);
        assert.strictEqual(new Set(points).size, points.length);
    });

    it("draws each stage and each component as a box of its own", () => {
        const clusters = all(svg, "g").filter((g) => g.attrs.class === "cluster");
        const components = prod.resources.filter((r) => !r.custom && !r.type.includes("helm.sh"));
        assert.strictEqual(clusters.length, components.length);
        for (const label of ["InfraStage aura-prod", "SystemStage aura-prod", "CoreStage aura-prod", "ControlPlane", "AgentPools", "PlatformService"]) {
            assert.ok(texts.includes(label), `${label} in ${texts.slice(0, 12).join(" | ")}`);
        }
        assert.ok(texts.filter((t) => t === "then").length >= 2, "stage order edges");
    });

    it("shows every pool with its autoscaler bounds and every master in its zone", () => {
        for (const [pool, min, max] of [["common", 2, 8], ["database", 3, 6], ["management", 3, 6]]) {
            const at = texts.indexOf(`pool ${pool}`);
            assert.ok(at >= 0, `pool ${pool}`);
            assert.strictEqual(texts[at + 1], `min ${min} / max ${max}`);
        }
        const zones = texts.filter((t) => /^zone \d: \d masters?$/.test(t)).sort();
        assert.deepStrictEqual(zones, ["zone 1: 2 masters", "zone 2: 2 masters", "zone 3: 1 master"]);
        const masters = byType(prod, "azure-native:compute:VirtualMachine").map((m) => m.name);
        for (const m of masters) assert.ok(texts.includes(m), m);
    });

    it("shows every chart with its version and the services' HPA bounds", () => {
        const charts = byType(prod, "kubernetes:helm.sh/v4:Chart");
        assert.ok(charts.length > 0);
        for (const c of charts) assert.ok(texts.includes(`chart ${String(c.inputs.chart)} ${String(c.inputs.version)}`), String(c.inputs.chart));
        assert.ok(texts.includes("HPA 2–6"));
        assert.ok(texts.includes("1 replica, no HPA"), "the singleton");
    });

    it("is written by the command line; a bad --svg is a usage or input error", async function () {
        this.timeout(120_000);
        const out = path.join(path.dirname(tempFile("x", "")), "plan.svg");
        const r = await aura("plan", "profiles/dev.yaml", "--svg", out);
        assert.strictEqual(r.code, 0, r.stderr);
        assert.match(r.stderr, /drew the plan into/);
        assert.strictEqual(parseXml(fs.readFileSync(out, "utf8")).children[0].name, "svg");
        assert.strictEqual((await aura("plan", "profiles/dev.yaml", "--svg")).code, 2);
        // The picture replaces its file: a name that is not .svg (the profile itself, a stack file) is refused first.
        for (const precious of ["profiles/dev.yaml", "Pulumi.dev.yaml"]) {
            const before = fs.readFileSync(precious, "utf8");
            const r = await aura("plan", "profiles/dev.yaml", "--svg", precious);
            assert.strictEqual(r.code, 2);
            assert.match(r.stderr, new RegExp(`--svg ${precious.replace(/\./g, "\\.")}: the picture replaces the file, so its name must end in \\.svg`));
            assert.strictEqual(fs.readFileSync(precious, "utf8"), before);
        }
        const bad = await aura("plan", "profiles/dev.yaml", "--svg", path.join(out, "no", "such", "dir.svg"));
        assert.strictEqual(bad.code, 1);
        assert.match(bad.stderr, /--svg .*: cannot write the picture: (ENOTDIR|ENOENT)/);
    });
});

describe("the test's XML parser", () => {
    it("refuses malformed documents", () => {
        assert.throws(() => parseXml("<svg><g></svg>"), /closes/);
        assert.throws(() => parseXml("<svg>"), /unclosed/);
        assert.strictEqual(parseXml('<svg a="1"><text>a &amp; b</text></svg>').children[0].children[0].text, "a & b");
    });
});
