// The policy pack (policy/): each policy judged with a resource that passes and one that fails,
// called the way the Pulumi engine calls it (hand-built validation args, properties behind the
// policy SDK's unknownCheckingProxy as its server passes them); and the plans of the committed
// profiles pass the whole pack.
import * as assert from "assert";
import type { PolicyResource, PolicyResourceOptions, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
    cpuRequests,
    hpaRule,
    mastersOdd,
    policies,
    noBroadRoles,
    roleScope,
    scaleSetCapacityIgnored,
    singletonReplicas,
    storageLocked,
    storagePrivate,
    storageVersioned,
} from "../policy/policies";
import { Plan, PlannedResource } from "../cli/plan";

// The policy SDK's own proxy, as its server wraps every policy's properties (internal: its typings
// export nothing): reading a value unknown in preview throws UnknownValueError.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { UnknownValueError, unknownCheckingProxy, unknownStringValue: UNKNOWN } = require("@pulumi/policy/proxy") as {
    UnknownValueError: new (...args: never[]) => Error;
    unknownCheckingProxy<T>(value: T): T;
    unknownStringValue: string;
};
import { plan } from "./helpers";

const RG = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/aura-prod";

interface Res {
    type: string;
    name?: string;
    props: Record<string, any>;
    opts?: Partial<PolicyResourceOptions>;
    config?: Record<string, unknown>;
}

function options(opts: Partial<PolicyResourceOptions> = {}): PolicyResourceOptions {
    return {
        protect: false,
        ignoreChanges: [],
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
        ...opts,
    };
}

function notApplicable(reason?: string): never {
    throw new Error(`not applicable: ${reason}`);
}

/** The violations `policy` reports for one resource. */
async function violations(policy: ResourceValidationPolicy, r: Res): Promise<string[]> {
    const name = r.name ?? "r";
    const args: ResourceValidationArgs = {
        type: r.type,
        props: unknownCheckingProxy(r.props),
        urn: `urn:pulumi:prod::aura-platform::${r.type}::${name}`,
        name,
        opts: options(r.opts),
        stackTags: new Map(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => (r.config ?? {}) as T,
        notApplicable,
    };
    const found: string[] = [];
    const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
    for (const validate of validations) await advisoryOnUnknown(() => validate(args, (message) => found.push(message)), found);
    return found;
}

/**
 * Runs a validation as the policy server does: a read of a value unknown in preview throws, and
 * the policy is then reported as not run (advisory), here as "advisory: <why>".
 */
async function advisoryOnUnknown(validate: () => void | Promise<void>, found: string[]): Promise<void> {
    try {
        await validate();
    } catch (e) {
        if (!(e instanceof UnknownValueError)) throw e;
        found.push(`advisory: ${e.message}`);
    }
}

/** A stack resource as the engine hands it to stack policies. */
function stackResource(r: Res & { propertyDependencies?: Record<string, PolicyResource[]> }): PolicyResource {
    const name = r.name ?? "r";
    return {
        type: r.type,
        props: unknownCheckingProxy(r.props),
        urn: `urn:pulumi:prod::aura-platform::${r.type}::${name}`,
        name,
        opts: options(r.opts),
        dependencies: [],
        propertyDependencies: r.propertyDependencies ?? {},
        isType: () => false,
        asType: () => undefined,
    };
}

async function stackViolations(policy: StackValidationPolicy, resources: PolicyResource[]): Promise<string[]> {
    const found: string[] = [];
    await advisoryOnUnknown(() => policy.validateStack({ resources, stackTags: new Map(), getConfig: <T extends object>() => ({}) as T, notApplicable }, (m) => found.push(m)), found);
    return found;
}

const ACCOUNT = {
    type: "azure-native:storage:StorageAccount",
    name: "meta-account",
    props: { accountName: "aurametaprod", allowBlobPublicAccess: false, enableHttpsTrafficOnly: true, minimumTlsVersion: "TLS1_2" },
    opts: { protect: true },
};

function container(name: string, image = "nginx:1.27", resources: object = { requests: { cpu: "100m", memory: "128Mi" } }) {
    return { name, image, resources };
}

describe("policy pack", () => {
    it("lists every policy once, all mandatory", () => {
        const names = policies.map((p) => p.name);
        assert.strictEqual(new Set(names).size, names.length);
        assert.ok(policies.every((p) => p.enforcementLevel === "mandatory"));
        assert.strictEqual(policies.length, 10);
    });

    describe("storage-private", () => {
        it("passes a private, protected account and a private container", async () => {
            assert.deepStrictEqual(await violations(storagePrivate, ACCOUNT), []);
            assert.deepStrictEqual(await violations(storagePrivate, { type: "azure-native:storage:BlobContainer", props: { publicAccess: "None" } }), []);
        });
        it("fails a public or unprotected account and a public container", async () => {
            const v = await violations(storagePrivate, { ...ACCOUNT, props: { ...ACCOUNT.props, allowBlobPublicAccess: true, minimumTlsVersion: "TLS1_0" }, opts: {} });
            assert.strictEqual(v.length, 3, v.join("\n"));
            assert.match(v.join("\n"), /allowBlobPublicAccess must be false.*got true/);
            assert.match(v.join("\n"), /minimumTlsVersion must be TLS1_2 or newer — got "TLS1_0"/);
            assert.match(v.join("\n"), /protect: true/);
            assert.match((await violations(storagePrivate, { type: "azure-native:storage:BlobContainer", props: { publicAccess: "Blob" } }))[0], /publicAccess must be "None"/);
        });
    });

    describe("storage-versioned", () => {
        const ok = { type: "azure-native:storage:BlobServiceProperties", props: { accountName: "aurametaprod", isVersioningEnabled: true, deleteRetentionPolicy: { enabled: true, days: 30 } } };
        it("passes versioning with soft delete", async () => assert.deepStrictEqual(await violations(storageVersioned, ok), []));
        it("fails without versioning or soft delete", async () => {
            const v = await violations(storageVersioned, { ...ok, props: { accountName: "aurametaprod", isVersioningEnabled: false } });
            assert.strictEqual(v.length, 2, v.join("\n"));
            assert.match(v[0], /isVersioningEnabled must be true — got false/);
        });
    });

    describe("storage-locked", () => {
        const account = stackResource(ACCOUNT);
        const service = stackResource({ type: "azure-native:storage:BlobServiceProperties", props: { accountName: "aurametaprod", isVersioningEnabled: true } });
        it("passes an account with a CanNotDelete lock (by property dependency, value unknown in preview) and a blob service", async () => {
            const lock = stackResource({ type: "azure-native:authorization:ManagementLockByScope", props: { scope: UNKNOWN, level: "CanNotDelete" }, propertyDependencies: { scope: [account] } });
            assert.deepStrictEqual(await stackViolations(storageLocked, [account, service, lock]), []);
            const byId = stackResource({ type: "azure-native:authorization:ManagementLockByScope", props: { scope: `${RG}/providers/Microsoft.Storage/storageAccounts/aurametaprod`, level: "CanNotDelete" } });
            assert.deepStrictEqual(await stackViolations(storageLocked, [account, service, byId]), []);
        });
        it("judges a first preview, where the account's name is not known yet, by the property dependencies alone", async () => {
            const fresh = stackResource({ ...ACCOUNT, props: { ...ACCOUNT.props, accountName: UNKNOWN } });
            const lock = stackResource({ type: "azure-native:authorization:ManagementLockByScope", props: { scope: UNKNOWN, level: "CanNotDelete" }, propertyDependencies: { scope: [fresh] } });
            const props = stackResource({ type: "azure-native:storage:BlobServiceProperties", props: { accountName: UNKNOWN, isVersioningEnabled: true }, propertyDependencies: { accountName: [fresh] } });
            assert.deepStrictEqual(await stackViolations(storageLocked, [fresh, props, lock]), []);
            // No lock at all is a violation even so; a lock whose unknown scope the dependencies do not
            // tie to the account leaves it undecided: not run in preview (advisory), never passed.
            assert.match((await stackViolations(storageLocked, [fresh, props]))[0], /no CanNotDelete management lock/);
            const other = stackResource({ type: "azure-native:authorization:ManagementLockByScope", props: { scope: UNKNOWN, level: "CanNotDelete" } });
            assert.deepStrictEqual(await stackViolations(storageLocked, [fresh, props, other]), ["advisory: string value at .scope can't be known during preview"]);
        });

        it("fails an account without a lock, or with a lock on something else, or without a blob service", async () => {
            const elsewhere = stackResource({ type: "azure-native:authorization:ManagementLockByScope", props: { scope: RG, level: "CanNotDelete" } });
            const v = await stackViolations(storageLocked, [account, elsewhere]);
            assert.strictEqual(v.length, 2, v.join("\n"));
            assert.match(v[0], /meta-account: no CanNotDelete management lock/);
            assert.match(v[1], /no blob service properties/);
        });
    });

    describe("masters-odd", () => {
        const masters = (n: number) =>
            Array.from({ length: n }, (_, i) => stackResource({ type: "azure-native:compute:VirtualMachine", name: `m${i}`, props: { tags: { role: "master", zone: String((i % 3) + 1) } } }));
        const agent = stackResource({ type: "azure-native:compute:VirtualMachine", name: "jump", props: { tags: {} } });
        it("passes 3 or 5 masters", async () => {
            assert.deepStrictEqual(await stackViolations(mastersOdd, [...masters(3), agent]), []);
            assert.deepStrictEqual(await stackViolations(mastersOdd, masters(5)), []);
        });
        it("fails 4 masters", async () => assert.match((await stackViolations(mastersOdd, [...masters(4), agent]))[0], /^4 masters: etcd needs an odd count/));
    });

    describe("no-broad-builtin-role", () => {
        const assignment = (role: string) => ({ type: "azure-native:authorization:RoleAssignment", props: { principalType: "ServicePrincipal", scope: RG, roleDefinitionId: role } });
        const builtIn = (guid: string) => `/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/${guid}`;
        it("passes a custom role and a data role, and waits for an unknown one", async () => {
            assert.deepStrictEqual(await violations(noBroadRoles, assignment(builtIn("3f2b1c4d-5e6f-5a7b-8c9d-0e1f2a3b4c5d"))), []);
            assert.deepStrictEqual(await violations(noBroadRoles, assignment(builtIn("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"))), []);
            // Not judged in preview (advisory), judged at pulumi up once known.
            assert.deepStrictEqual(await violations(noBroadRoles, assignment(UNKNOWN)), ["advisory: string value at .roleDefinitionId can't be known during preview"]);
        });
        it("fails Contributor, Owner and User Access Administrator", async () => {
            assert.match((await violations(noBroadRoles, assignment(builtIn("b24988ac-6180-42a0-ab88-20f7382dd24c"))))[0], /grants the built-in Contributor role/);
            assert.match((await violations(noBroadRoles, assignment(builtIn("8e3af657-a8ff-443c-a75c-2fe8c4bcb635"))))[0], /Owner/);
            assert.match((await violations(noBroadRoles, assignment(builtIn("18D7D88D-D35E-4FB5-A5C3-7773C20A72D9"))))[0], /User Access Administrator/);
        });
    });

    describe("role-scope-resource-group", () => {
        const assignment = (scope: string) => ({ type: "azure-native:authorization:RoleAssignment", props: { principalType: "ServicePrincipal", scope } });
        it("passes a resource group or a resource inside it, and waits for an unknown scope", async () => {
            assert.deepStrictEqual(await violations(roleScope, assignment(RG)), []);
            assert.deepStrictEqual(await violations(roleScope, assignment(`${RG}/providers/Microsoft.Storage/storageAccounts/x/blobServices/default/containers/c`)), []);
            assert.deepStrictEqual(await violations(roleScope, assignment(UNKNOWN)), ["advisory: string value at .scope can't be known during preview"]);
        });
        it("fails a subscription or management group scope", async () => {
            assert.match((await violations(roleScope, assignment("/subscriptions/00000000-0000-0000-0000-000000000000")))[0], /scope must be a resource group or inside one/);
            assert.strictEqual((await violations(roleScope, assignment("/providers/Microsoft.Management/managementGroups/root"))).length, 1);
        });
    });

    describe("hpa-3x-80", () => {
        const hpa = (min: number, max: number, cpu: number) => ({
            type: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
            props: {
                metadata: { name: "nlp" },
                spec: {
                    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "nlp" },
                    minReplicas: min,
                    maxReplicas: max,
                    metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: cpu } } }],
                },
            },
        });
        it("passes min 2, max 6, CPU 80%", async () => assert.deepStrictEqual(await violations(hpaRule, hpa(2, 6, 80)), []));
        it("fails max 5 or CPU 90%", async () => {
            assert.match((await violations(hpaRule, hpa(2, 5, 80)))[0], /maxReplicas must be 3 × minReplicas = 6 — got 5/);
            assert.match((await violations(hpaRule, hpa(2, 6, 90)))[0], /Utilization 80% — got 90/);
        });
        it("follows the pack config when the platform's rule is restated", async () => {
            assert.deepStrictEqual(await violations(hpaRule, { ...hpa(2, 8, 70), config: { maxFactor: 4, cpuTargetPercent: 70 } }), []);
        });
    });

    describe("singleton-one-replica", () => {
        const deployment = (name: string, replicas?: number) => ({ type: "kubernetes:apps/v1:Deployment", props: { metadata: { name }, spec: { replicas } } });
        it("passes one insights-loader and a scaled ordinary service", async () => {
            assert.deepStrictEqual(await violations(singletonReplicas, deployment("insights-loader", 1)), []);
            assert.deepStrictEqual(await violations(singletonReplicas, deployment("nlp", 4)), []);
        });
        it("fails two insights-loaders, a chart's kube-state-metrics with 2, and an HPA on a singleton", async () => {
            assert.match((await violations(singletonReplicas, deployment("insights-loader", 2)))[0], /insights-loader is a singleton: spec.replicas must be 1 — got 2/);
            assert.strictEqual((await violations(singletonReplicas, deployment("monitoring-kube-state-metrics", 2))).length, 1);
            const hpa = { type: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", props: { spec: { scaleTargetRef: { kind: "Deployment", name: "insights-loader" } } } };
            assert.match((await violations(singletonReplicas, hpa))[0], /must not have a HorizontalPodAutoscaler/);
        });
    });

    describe("scale-set-capacity-ignored", () => {
        const vmss = { type: "azure-native:compute:VirtualMachineScaleSet", props: { sku: { name: "Standard_DS2_v2", capacity: 2 } } };
        it("passes with ignoreChanges sku.capacity, or with the live capacity sent back (tagged)", async () => {
            assert.deepStrictEqual(await violations(scaleSetCapacityIgnored, { ...vmss, opts: { ignoreChanges: ["sku.capacity"] } }), []);
            assert.deepStrictEqual(await violations(scaleSetCapacityIgnored, { ...vmss, props: { ...vmss.props, tags: { "aura-capacity": "live" } } }), []);
        });
        it("fails a program-owned capacity", async () =>
            assert.match((await violations(scaleSetCapacityIgnored, { ...vmss, opts: { ignoreChanges: ["tags"] } }))[0], /ignoreChanges must include "sku.capacity", or .* got ignoreChanges \["tags"\]/));
    });

    describe("container-cpu-requests", () => {
        const deployment = (...containers: object[]) => ({ type: "kubernetes:apps/v1:Deployment", props: { spec: { template: { spec: { containers } } } } });
        it("passes containers that request CPU, in a Deployment and a CronJob", async () => {
            assert.deepStrictEqual(await violations(cpuRequests, deployment(container("app"), container("sidecar"))), []);
            const cron = { type: "kubernetes:batch/v1:CronJob", props: { spec: { jobTemplate: { spec: { template: { spec: { containers: [container("job")] } } } } } } };
            assert.deepStrictEqual(await violations(cpuRequests, cron), []);
        });
        it("fails a container with only a memory request, and an init container without resources", async () => {
            const v = await violations(cpuRequests, deployment(container("app", "x", { requests: { memory: "1Gi" } })));
            assert.match(v[0], /containers "app": resources.requests.cpu is not set/);
            const job = { type: "kubernetes:batch/v1:Job", props: { spec: { template: { spec: { initContainers: [{ name: "init" }], containers: [container("job")] } } } } };
            assert.match((await violations(cpuRequests, job))[0], /initContainers "init"/);
        });
    });

    describe("charts' containers (container-cpu-requests judges what they render at preview, which a plan does not show)", () => {
        // Where each pinned chart's containers get their CPU request: from values the program sets
        // (paths), or from the chart's own defaults (checked in its values.yaml at the pinned version).
        const CPU_REQUESTS: Record<string, string[] | "chart default"> = {
            cilium: ["resources", "initResources", "envoy.resources", "operator.resources"], // cni.resources: chart default
            "cluster-autoscaler": ["resources"],
            "cloud-provider-azure": "chart default",
            "azuredisk-csi-driver": "chart default",
            "kubelet-csr-approver": "chart default",
            "metrics-server": "chart default",
            "eck-operator": ["resources"],
            "mongodb-kubernetes": ["operator.resources"],
            "cloudnative-pg": ["resources"],
            "kube-prometheus-stack": [
                "prometheusOperator.resources",
                "prometheusOperator.prometheusConfigReloader.resources",
                "prometheus.prometheusSpec.resources",
                "alertmanager.alertmanagerSpec.resources",
                "grafana.resources",
                "grafana.sidecar.resources",
                "kube-state-metrics.resources",
                "prometheus-node-exporter.resources",
            ],
            "fluent-bit-aggregator": ["resources"],
            "fluent-bit-collector": ["resources"],
        };
        it("every chart is listed, and every listed values path sets requests.cpu", async function () {
            this.timeout(120_000);
            const p = await plan({ profile: "profiles/prod.yaml", stack: "prod" });
            const charts = p.resources.filter((r) => r.type === "kubernetes:helm.sh/v4:Chart");
            assert.ok(charts.length >= 12);
            for (const c of charts) {
                const chart = String(c.inputs.chart);
                assert.ok(chart in CPU_REQUESTS, `${chart}: say where its containers' CPU requests come from`);
                const paths = CPU_REQUESTS[chart];
                if (paths === "chart default") continue;
                for (const at of paths) {
                    const value = at.split(".").reduce<any>((v, k) => v?.[k], c.inputs.values);
                    assert.ok(value?.requests?.cpu, `${chart} values.${at}.requests.cpu`);
                }
            }
        });
    });

    describe("the committed profiles' plans", () => {
        for (const [profile, stack] of [["profiles/dev.yaml", "dev"], ["profiles/prod.yaml", "prod"]]) {
            it(`${profile} passes every policy`, async function () {
                this.timeout(120_000);
                const p = await plan({ profile, stack });
                const found = await checkPlan(p);
                assert.deepStrictEqual(found, []);
                assert.ok(p.resources.some((r) => r.type === "azure-native:storage:StorageAccount"), "the pack had something to judge");
            });
        }
    });
});

/** Every violation the pack reports for a plan, as `<policy> <resource>: <message>`. */
async function checkPlan(p: Plan): Promise<string[]> {
    const unknowns = (v: unknown): unknown =>
        v === "[unknown]" ? UNKNOWN : Array.isArray(v) ? v.map(unknowns) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unknowns(x)])) : v;
    const asRes = (r: PlannedResource): Res => ({
        type: r.type,
        name: r.name,
        props: unknowns(r.inputs) as Record<string, any>,
        opts: { protect: !!r.options.protect, ignoreChanges: r.options.ignoreChanges ?? [] },
    });
    const found: string[] = [];
    const stack = p.resources.map((r) => stackResource(asRes(r)));
    for (const policy of policies) {
        if ("validateStack" in policy) {
            for (const m of await stackViolations(policy, stack)) found.push(`${policy.name}: ${m}`);
            continue;
        }
        for (const r of p.resources) for (const m of await violations(policy, asRes(r))) found.push(`${policy.name} ${r.name}: ${m}`);
    }
    return found;
}
