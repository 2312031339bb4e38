// Test helpers for Kubernetes objects under mocks: a literal provider for component tests, and
// validation of planned objects against the Kubernetes OpenAPI schema (kubernetes-models).
import * as k8s from "@pulumi/kubernetes";
import type { Plan, PlannedResource } from "../cli/plan";
import { REQUIRED_FIELDS } from "../components/system/crds";
import { plan } from "./helpers";

/** The resource type a Helm v4 Chart registers as under mocks (its objects render only at deploy). */
export const CHART_TYPE = "kubernetes:helm.sh/v4:Chart";

/** A Kubernetes provider from a literal kubeconfig; create it inside a mocked program. */
export function testProvider(name = "test-k8s"): k8s.Provider {
    return new k8s.Provider(name, { kubeconfig: JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [], users: [], contexts: [] }) });
}

/** Runs `program` instead of the entry under the recording mocks (one stage's components, e.g. with testProvider()). */
export function planProgram(program: () => Record<string, unknown> | void, opts: { stack?: string; showSecrets?: boolean } = {}): Promise<Plan> {
    return plan({ profile: "(program)", stack: opts.stack ?? "dev", showSecrets: opts.showSecrets, program });
}

/** An operator's custom resource (its kind is in REQUIRED_FIELDS, checked against the CRD fields there). */
export function isCustomResource(r: Pick<PlannedResource, "type">): boolean {
    const m = /^kubernetes:([^:]+):(\w+)$/.exec(r.type);
    return !!m && REQUIRED_FIELDS[m[2]]?.apiVersion === m[1];
}

/** Objects the program builds itself: every built-in `kubernetes:` kind (no charts, no custom resources). */
export function k8sObjects(p: Plan): PlannedResource[] {
    return p.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:") && r.type !== CHART_TYPE && !isCustomResource(r));
}

type Model = new (data: Record<string, unknown>) => { validate(): void };

// kubernetes-models ships ES modules only; TypeScript's CommonJS output would turn `import()` into
// `require()`, so the import is built at run time.
const importEsm = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<Record<string, Model>>;

/** `kubernetes:rbac.authorization.k8s.io/v1:RoleBinding` → the kubernetes-models class. */
async function modelClass(type: string): Promise<Model> {
    const m = /^kubernetes:([^/]+)\/([^:]+):(\w+)$/.exec(type);
    if (!m) throw new Error(`not a Kubernetes type token: ${type}`);
    const [, group, version, kind] = m;
    const modulePath = group === "core" ? `kubernetes-models/${version}` : `kubernetes-models/${group}/${version}`;
    const mod = await importEsm(modulePath);
    if (!mod[kind]) throw new Error(`kubernetes-models has no ${kind} in ${modulePath}`);
    return mod[kind];
}

/**
 * Validates a planned object's inputs against the OpenAPI schema of its kind; throws with the
 * resource name and the schema's complaint. Masked values ("[secret]") are strings, so secret
 * fields must be string leaves (stringData values, annotations), as they should be anyway.
 */
export async function validateK8s(r: Pick<PlannedResource, "type" | "name" | "inputs">): Promise<void> {
    const Model = await modelClass(r.type);
    const [, groupVersion, kind] = /^kubernetes:([^:]+):(\w+)$/.exec(r.type)!;
    const apiVersion = groupVersion.startsWith("core/") ? groupVersion.slice("core/".length) : groupVersion;
    const inputs: Record<string, unknown> = { ...r.inputs, apiVersion, kind };
    // The SDK makes a Secret's whole data/stringData map secret, so the plan masks it as one string;
    // its keys and values are checked where a test reveals them (plan with showSecrets).
    for (const key of ["data", "stringData"]) if (inputs[key] === "[secret]") inputs[key] = {};
    try {
        new Model(inputs).validate();
    } catch (e) {
        throw new Error(`${r.type} ${r.name} does not validate: ${(e as Error).message}`, { cause: e });
    }
}

/**
 * Fields of planned objects that their kind's schema does not have (a misspelt key): the OpenAPI
 * validator ignores unknown fields, as the API server's non-strict decoding drops them. The objects
 * are type-checked as object literals against kubernetes-models' interfaces of each kind, where
 * TypeScript reports every property its type does not declare. Returns one line per unknown field.
 */
export function unknownFields(resources: Array<Pick<PlannedResource, "type" | "name" | "inputs">>): string[] {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ts = require("typescript") as typeof import("typescript");
    const lines: string[] = [];
    const owners: string[] = [];
    resources.forEach((r, i) => {
        const [, group, version, kind] = /^kubernetes:([^/]+)\/([^:]+):(\w+)$/.exec(r.type) ?? [];
        if (!kind) throw new Error(`not a Kubernetes type token: ${r.type}`);
        const modulePath = group === "core" ? `kubernetes-models/${version}` : `kubernetes-models/${group}/${version}`;
        const apiVersion = group === "core" ? version : `${group}/${version}`;
        lines.push(`import type { I${kind} as T${i} } from "${modulePath}";`);
        owners[lines.length + 1] = `${r.type} ${r.name}`;
        lines.push(`export const o${i}: T${i} = ${JSON.stringify({ ...r.inputs, apiVersion, kind })};`);
    });
    const file = `${process.cwd()}/aura-unknown-fields.ts`;
    const options: import("typescript").CompilerOptions = {
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        types: [],
    };
    const host = ts.createCompilerHost(options);
    const source = ts.createSourceFile(file, lines.join("\n"), ts.ScriptTarget.ES2022, true);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, ...rest) => (name === file ? source : getSourceFile(name, ...rest));
    const program = ts.createProgram([file], options, host);
    const unresolved = program.getSemanticDiagnostics(source).filter((d) => d.code === 2307);
    if (unresolved.length) throw new Error(ts.flattenDiagnosticMessageText(unresolved[0].messageText, " "));
    // 2353: "Object literal may only specify known properties"; 2561: the same, with a suggestion.
    return program
        .getSemanticDiagnostics(source)
        .filter((d) => d.code === 2353 || d.code === 2561)
        .map((d) => {
            const line = source.getLineAndCharacterOfPosition(d.start ?? 0).line + 1;
            return `${owners[line] ?? "?"}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`;
        });
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/**
 * What the API server's validation (beyond the OpenAPI schema) would refuse in the planned objects:
 * object, label and container names, label values, one of minAvailable/maxUnavailable in a disruption
 * budget, a pod template with containers, ports, environment variable names. One line per problem.
 */
export function apiServerProblems(resources: Array<Pick<PlannedResource, "type" | "name" | "inputs">>): string[] {
    const problems: string[] = [];
    for (const r of resources) {
        const at = (what: string) => `${r.type} ${r.name}: ${what}`;
        const meta = (r.inputs.metadata ?? {}) as { name?: unknown; labels?: Record<string, unknown> };
        if (typeof meta.name === "string" && (meta.name.length > 253 || !DNS1123_SUBDOMAIN.test(meta.name))) problems.push(at(`metadata.name ${meta.name} is no DNS-1123 subdomain`));
        const checkLabels = (path: string, labels: unknown) => {
            for (const [k, v] of Object.entries((labels ?? {}) as Record<string, unknown>)) {
                if (!QUALIFIED_NAME.test(k) || k.split("/").pop()!.length > 63) problems.push(at(`${path} key ${k} is no qualified name`));
                if (typeof v === "string" && v !== "[unknown]" && (v.length > 63 || !LABEL_VALUE.test(v))) problems.push(at(`${path}.${k} value ${v} is no label value`));
            }
        };
        checkLabels("metadata.labels", meta.labels);
        const spec = r.inputs.spec as Record<string, any> | undefined;
        if (r.type === "kubernetes:policy/v1:PodDisruptionBudget" && spec && (spec.minAvailable === undefined) === (spec.maxUnavailable === undefined)) {
            problems.push(at("a disruption budget sets exactly one of minAvailable and maxUnavailable"));
        }
        const template = r.type === "kubernetes:batch/v1:Job" || r.type.startsWith("kubernetes:apps/v1:") ? spec?.template : undefined;
        if (template) {
            checkLabels("spec.template.metadata.labels", template.metadata?.labels);
            const containers = (template.spec?.containers ?? []) as Array<Record<string, any>>;
            if (!containers.length) problems.push(at("a pod template needs a container"));
            for (const c of [...containers, ...((template.spec?.initContainers ?? []) as Array<Record<string, any>>)]) {
                if (typeof c.name !== "string" || c.name.length > 63 || !DNS1123_LABEL.test(c.name)) problems.push(at(`container name ${String(c.name)} is no DNS-1123 label`));
                for (const p of (c.ports ?? []) as Array<Record<string, unknown>>) {
                    if (typeof p.containerPort === "number" && (p.containerPort < 1 || p.containerPort > 65535)) problems.push(at(`containerPort ${p.containerPort} is out of range`));
                    if (typeof p.name === "string" && (p.name.length > 15 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(p.name) || !/[a-z]/.test(p.name))) problems.push(at(`port name ${p.name} is no IANA service name`));
                }
                for (const e of (c.env ?? []) as Array<Record<string, unknown>>) {
                    if (typeof e.name !== "string" || !ENV_NAME.test(e.name)) problems.push(at(`env name ${String(e.name)} is not valid`));
                }
            }
        }
    }
    return problems;
}
