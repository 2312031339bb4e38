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
