// Test helpers for the Kubernetes stages: a literal provider under mocks, a runner for one stage's
// components (recorded like `aura plan`), and validation of planned objects against the Kubernetes
// OpenAPI schema with kubernetes-models.
import * as k8s from "@pulumi/kubernetes";
import { Plan, PlannedResource } from "../cli/plan";
import { plan } from "./helpers";

/** A Kubernetes provider for tests: under mocks it never contacts a cluster. */
export function literalProvider(name = "test-k8s"): k8s.Provider {
    return new k8s.Provider(name, { kubeconfig: "{}" });
}

/** Runs `program` (instead of the entry) under the recording mocks; `stack` names the stack. */
export function planProgram(program: () => Record<string, unknown> | void, opts: { stack?: string; showSecrets?: boolean } = {}): Promise<Plan> {
    return plan({ profile: "(program)", stack: opts.stack ?? "dev", showSecrets: opts.showSecrets, program });
}

// kubernetes-models ships ES modules only; a Function-made import() survives the CommonJS compile.
const importEsm = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<Record<string, unknown>>;

/** Pulumi type token → kubernetes-models module and class. */
const MODELS: Record<string, [string, string]> = {
    "kubernetes:apps/v1:Deployment": ["kubernetes-models/apps/v1", "Deployment"],
    "kubernetes:apps/v1:StatefulSet": ["kubernetes-models/apps/v1", "StatefulSet"],
    "kubernetes:apps/v1:DaemonSet": ["kubernetes-models/apps/v1", "DaemonSet"],
    "kubernetes:batch/v1:Job": ["kubernetes-models/batch/v1", "Job"],
    "kubernetes:core/v1:Service": ["kubernetes-models/v1", "Service"],
    "kubernetes:core/v1:ConfigMap": ["kubernetes-models/v1", "ConfigMap"],
    "kubernetes:core/v1:Secret": ["kubernetes-models/v1", "Secret"],
    "kubernetes:core/v1:Namespace": ["kubernetes-models/v1", "Namespace"],
    "kubernetes:core/v1:ServiceAccount": ["kubernetes-models/v1", "ServiceAccount"],
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": ["kubernetes-models/autoscaling/v2", "HorizontalPodAutoscaler"],
    "kubernetes:policy/v1:PodDisruptionBudget": ["kubernetes-models/policy/v1", "PodDisruptionBudget"],
    "kubernetes:rbac.authorization.k8s.io/v1:Role": ["kubernetes-models/rbac.authorization.k8s.io/v1", "Role"],
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": ["kubernetes-models/rbac.authorization.k8s.io/v1", "RoleBinding"],
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole": ["kubernetes-models/rbac.authorization.k8s.io/v1", "ClusterRole"],
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": ["kubernetes-models/rbac.authorization.k8s.io/v1", "ClusterRoleBinding"],
    "kubernetes:storage.k8s.io/v1:StorageClass": ["kubernetes-models/storage.k8s.io/v1", "StorageClass"],
};

/** True for a planned object kubernetes-models can validate. */
export function isValidatable(r: PlannedResource): boolean {
    return r.type in MODELS;
}

/**
 * Validates a planned object (a plan made with showSecrets, so values are real) against the
 * Kubernetes OpenAPI schema; throws with the object's name and the schema's complaints.
 * Note: the schema does not reject unknown keys; the SDK's input types do that at compile time.
 */
export async function validateK8s(r: PlannedResource): Promise<void> {
    const model = MODELS[r.type];
    if (!model) throw new Error(`no kubernetes-models class for ${r.type}`);
    const mod = await importEsm(model[0]);
    const Model = mod[model[1]] as new (data: unknown) => { validate(): void };
    try {
        new Model(r.inputs).validate();
    } catch (e) {
        throw new Error(`${r.type} ${r.name} does not match the Kubernetes schema: ${(e as Error).message}`);
    }
}
