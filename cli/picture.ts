// `aura plan --svg`: the planned topology as a picture — stages, their components, agent pools with
// autoscaler bounds, masters per zone, Helm charts and autoscaled services — laid out by Graphviz
// (compiled to WebAssembly, @viz-js/viz). Reads only the recorded plan, like the text tree.
import { Plan, PlannedResource } from "./plan";

const MASTER_VM = "azure-native:compute:VirtualMachine";
const SCALE_SET = "azure-native:compute:VirtualMachineScaleSet";
const CHART = /^kubernetes:helm\.sh\/v\d+:Chart$/;
const HPA = /^kubernetes:autoscaling\/v\d+:HorizontalPodAutoscaler$/;
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

/** Escapes a label for a double-quoted DOT string (\n stays a line break). */
function q(text: string): string {
    return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r?\n/g, "\\n")}"`;
}

function count(n: number): string {
    return `${n} resource${n === 1 ? "" : "s"}`;
}

/** `aura:infra:ControlPlane` → `ControlPlane`. */
function kind(type: string): string {
    return type.split(":").pop() ?? type;
}

/** What a component's box shows inside: its notable resources, as node lines. */
interface Item {
    label: string;
    shape: string;
    fill: string;
}

/** The notable things among `resources` (one component's whole subtree). */
function items(resources: PlannedResource[]): Item[] {
    const out: Item[] = [];
    const masters = resources.filter((r) => r.type === MASTER_VM && (r.inputs.tags as Record<string, string> | undefined)?.role === "master");
    const byZone = new Map<string, string[]>();
    for (const m of masters) {
        const tags = m.inputs.tags as Record<string, string>;
        const zone = tags.zone ?? ((m.inputs.zones as string[] | undefined) ?? ["-"])[0];
        byZone.set(zone, [...(byZone.get(zone) ?? []), m.name]);
    }
    for (const [zone, names] of [...byZone].sort(([a], [b]) => a.localeCompare(b))) {
        out.push({ label: `zone ${zone}: ${names.length} master${names.length === 1 ? "" : "s"}\n${names.join("\n")}`, shape: "box3d", fill: "#dbe9f6" });
    }
    // A pool may be several scale sets (one per zone): its bounds are the sums of theirs.
    const pools = new Map<string, PlannedResource[]>();
    for (const s of resources.filter((r) => r.type === SCALE_SET)) {
        const pool = ((s.inputs.tags ?? {}) as Record<string, string>).poolName ?? s.name;
        pools.set(pool, [...(pools.get(pool) ?? []), s]);
    }
    for (const [pool, sets] of pools) {
        const tags = sets.map((s) => (s.inputs.tags ?? {}) as Record<string, string>);
        const sum = (key: string) => tags.reduce((n, t) => n + Number(t[key] ?? NaN), 0);
        const sku = (sets[0].inputs.sku as { name?: string } | undefined)?.name ?? "";
        const perSet = sets.map((s, i) => `${tags[i].zone ? `zone ${tags[i].zone}` : s.name} ${tags[i].min ?? "?"}–${tags[i].max ?? "?"}`);
        out.push({ label: `pool ${pool}\nmin ${sum("min")} / max ${sum("max")}\n${sku}\n${perSet.join(", ")}`, shape: "box3d", fill: "#e3f1dc" });
    }
    for (const c of resources.filter((r) => CHART.test(r.type))) {
        const chart = typeof c.inputs.chart === "string" ? c.inputs.chart : c.name;
        const version = typeof c.inputs.version === "string" ? c.inputs.version : "";
        out.push({ label: `chart ${chart} ${version}`.trim(), shape: "component", fill: "#fdf0d5" });
    }
    for (const h of resources.filter((r) => HPA.test(r.type))) {
        const spec = (h.inputs.spec ?? {}) as { minReplicas?: number; maxReplicas?: number; scaleTargetRef?: { name?: string } };
        out.push({ label: `${spec.scaleTargetRef?.name ?? h.name}\nHPA ${spec.minReplicas ?? 1}–${spec.maxReplicas ?? "?"}`, shape: "ellipse", fill: "#f3e5f5" });
    }
    // A Deployment no HPA scales (a singleton) shows its fixed replica count.
    const scaled = new Set(resources.filter((r) => HPA.test(r.type)).map((h) => (h.inputs.spec as { scaleTargetRef?: { name?: string } } | undefined)?.scaleTargetRef?.name));
    for (const d of resources.filter((r) => r.type === DEPLOYMENT)) {
        const name = (d.inputs.metadata as { name?: string } | undefined)?.name ?? d.name;
        if (scaled.has(name)) continue;
        const replicas = (d.inputs.spec as { replicas?: number } | undefined)?.replicas ?? 1;
        out.push({ label: `${name}\n${replicas} replica${replicas === 1 ? "" : "s"}, no HPA`, shape: "ellipse", fill: "#fde2e2" });
    }
    return out;
}

/** The plan as a Graphviz DOT graph. Deterministic: the same plan gives the same text. */
export function planToDot(plan: Plan): string {
    const children = new Map<string | null, PlannedResource[]>();
    for (const r of plan.resources) children.set(r.parent, [...(children.get(r.parent) ?? []), r]);
    const subtree = (urn: string): PlannedResource[] => (children.get(urn) ?? []).flatMap((c) => [c, ...subtree(c.urn)]);
    const ids = new Map<string, string>();
    const id = (urn: string) => {
        if (!ids.has(urn)) ids.set(urn, `n${ids.size}`);
        return ids.get(urn)!;
    };

    const lines = [
        "digraph aura {",
        "  graph [rankdir=LR, compound=true, ordering=out, fontname=Helvetica, fontsize=12, nodesep=0.15, ranksep=0.4,",
        `         labelloc=t, label=${q(`aura plan — stack ${plan.stack} (${plan.profile}): ${plan.resources.length} resources`)}];`,
        "  node [fontname=Helvetica, fontsize=10, style=filled, fillcolor=white];",
        "  edge [fontname=Helvetica, fontsize=9, color=gray40];",
    ];
    const stages = children.get(null) ?? [];
    const anchor = new Map<string, string>();
    for (const stage of stages) {
        const stageId = id(stage.urn);
        lines.push(`  subgraph cluster_${stageId} {`, `    label=${q(`${kind(stage.type)}  ${stage.name}`)}; style="rounded,filled"; fillcolor="#f7f7f7"; color=gray50;`);
        const components = (children.get(stage.urn) ?? []).filter((r) => !r.custom);
        const own = (children.get(stage.urn) ?? []).filter((r) => r.custom);
        for (const component of [...components].reverse()) {
            const cid = id(component.urn);
            const all = subtree(component.urn);
            const found = items(all);
            lines.push(`    subgraph cluster_${cid} {`, `      label=${q(`${kind(component.type)}\n${component.name}`)}; style="rounded,filled"; fillcolor=white; color=gray70;`);
            lines.push(`      ${cid} [shape=note, fillcolor="#eeeeee", label=${q(count(all.length))}];`);
            // Items hang off the component's note (invisible edges), so each component reads as one block.
            // (Emitted last first: dot stacks a rank's nodes bottom-up in this layout.)
            found.map((item, i) => [item, i] as const).reverse().forEach(([item, i]) => lines.push(`      ${cid}_${i} [shape=${item.shape}, fillcolor=${q(item.fill)}, label=${q(item.label)}];`, `      ${cid} -> ${cid}_${i} [style=invis];`));
            lines.push("    }");
            if (!anchor.has(stage.urn)) anchor.set(stage.urn, cid);
        }
        if (own.length || !components.length) {
            lines.push(`    ${stageId} [shape=note, fillcolor="#eeeeee", label=${q(`${count(own.length)} of the stage itself`)}];`);
            if (!anchor.has(stage.urn)) anchor.set(stage.urn, stageId);
        }
        lines.push("  }");
    }
    // Stage order: the engine receives a component's dependsOn expanded to its resources, so map
    // each dependency to the stage that holds it.
    const byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
    const stageOf = (urn: string): PlannedResource | undefined => {
        let r = byUrn.get(urn);
        while (r && r.parent) r = byUrn.get(r.parent);
        return r;
    };
    for (const stage of stages) {
        const before = new Set((stage.options.dependsOn ?? []).map((d) => stageOf(d)).filter((s): s is PlannedResource => !!s && s !== stage));
        for (const from of stages.filter((s) => before.has(s))) {
            if (!anchor.has(from.urn) || !anchor.has(stage.urn)) continue;
            lines.push(`  ${anchor.get(from.urn)} -> ${anchor.get(stage.urn)} [ltail=cluster_${id(from.urn)}, lhead=cluster_${id(stage.urn)}, label="then"];`);
        }
    }
    lines.push("}");
    return `${lines.join("\n")}\n`;
}

/** The plan drawn as SVG by Graphviz's dot layout. */
export async function planToSvg(plan: Plan): Promise<string> {
    // Loaded only for --svg: the WebAssembly Graphviz is a few MB.
    const { instance } = await import("@viz-js/viz");
    const viz = await instance();
    const result = viz.render(planToDot(plan), { format: "svg", engine: "dot" });
    if (result.status !== "success") {
        throw new Error(`Graphviz could not lay out the plan: ${result.errors.map((e) => e.message).join("; ")}`);
    }
    return result.output;
}
