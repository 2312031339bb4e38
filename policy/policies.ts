// The Aura policy pack's policies (CrossGuard): invariants of the platform that someone could break
// outside the profile — by editing the program, a chart's values or a stack transform. Every policy
// is mandatory and judges resource types and input shapes only, never how the program built them.
// index.ts serves them as a pack; tests call them directly.
import type {
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";

const T = {
    storageAccount: "azure-native:storage:StorageAccount",
    blobService: "azure-native:storage:BlobServiceProperties",
    blobContainer: "azure-native:storage:BlobContainer",
    lock: "azure-native:authorization:ManagementLockByScope",
    roleAssignment: "azure-native:authorization:RoleAssignment",
    vm: "azure-native:compute:VirtualMachine",
    vmss: "azure-native:compute:VirtualMachineScaleSet",
    hpaV2: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
    hpaV1: "kubernetes:autoscaling/v1:HorizontalPodAutoscaler",
    deployment: "kubernetes:apps/v1:Deployment",
    statefulSet: "kubernetes:apps/v1:StatefulSet",
    daemonSet: "kubernetes:apps/v1:DaemonSet",
    replicaSet: "kubernetes:apps/v1:ReplicaSet",
    job: "kubernetes:batch/v1:Job",
    cronJob: "kubernetes:batch/v1:CronJob",
    pod: "kubernetes:core/v1:Pod",
};

/** Defaults of the configurable policies (the platform's rules; a pack config may restate them). */
export const DEFAULTS = {
    hpa: { maxFactor: 3, cpuTargetPercent: 80 },
    singletons: ["insights-loader", "kube-state-metrics"],
};

/**
 * Whether a value is set. An unknown one never reaches a policy's comparison: the engine hands
 * policies their properties behind @pulumi/policy's unknownCheckingProxy, whose read of an
 * unknown value throws, and the policy is then reported as not run during preview (advisory).
 */
function isSet(value: unknown): boolean {
    return value !== undefined;
}

/** A value as a message shows it. */
function show(value: unknown): string {
    return value === undefined ? "nothing" : JSON.stringify(value);
}

/** Runs `check` for resources of the given types only. */
function forTypes(types: string[], check: (props: any, args: ResourceValidationArgs, report: ReportViolation) => void) {
    return (args: ResourceValidationArgs, report: ReportViolation): void => {
        if (types.includes(args.type)) check(args.props, args, report);
    };
}

/** True if `resource`'s input `prop` refers to `target`: through the engine's property
 *  dependencies, or (values known) by naming it at the end of an ARM id. The values are read only
 *  when the dependencies do not tell: in a first preview the account's name is not known yet, and
 *  reading an unknown value makes the engine skip the whole policy as advisory. */
function refersTo(resource: PolicyResource, prop: string, target: PolicyResource, armName: () => unknown): boolean {
    if ((resource.propertyDependencies?.[prop] ?? []).some((d) => d.urn === target.urn)) return true;
    const value = resource.props[prop];
    if (typeof value !== "string") return false;
    const name = armName();
    if (typeof name !== "string") return false;
    const v = value.toLowerCase();
    const n = name.toLowerCase();
    return v === n || v.endsWith(`/storageaccounts/${n}`) || v.includes(`/storageaccounts/${n}/`);
}

// ---------------------------------------------------------------------------------------------

/** The metadata store (and any storage account of the platform) is private. */
export const storagePrivate: ResourceValidationPolicy = {
    name: "storage-private",
    description: "Storage accounts allow no public blob access, HTTPS only, TLS 1.2, and are protected; containers are private.",
    enforcementLevel: "mandatory",
    validateResource: forTypes([T.storageAccount, T.blobContainer], (props, args, report) => {
        if (args.type === T.blobContainer) {
            if (isSet(props.publicAccess) && props.publicAccess !== "None") report(`publicAccess must be "None" — got ${show(props.publicAccess)}`);
            return;
        }
        if (props.allowBlobPublicAccess !== false) {
            report(`allowBlobPublicAccess must be false (the account holds the cluster PKI) — got ${show(props.allowBlobPublicAccess)}`);
        }
        if (props.enableHttpsTrafficOnly === false) report("enableHttpsTrafficOnly must not be false");
        if (isSet(props.minimumTlsVersion) && props.minimumTlsVersion !== "TLS1_2" && props.minimumTlsVersion !== "TLS1_3") {
            report(`minimumTlsVersion must be TLS1_2 or newer — got ${show(props.minimumTlsVersion)}`);
        } else if (props.minimumTlsVersion === undefined) report("minimumTlsVersion must be set to TLS1_2 — got nothing");
        if (!args.opts?.protect) report("the storage account must be protected (resource option protect: true)");
    }),
};

/** Blob versioning and soft delete on every account's blob service. */
export const storageVersioned: ResourceValidationPolicy = {
    name: "storage-versioned",
    description: "Blob services keep versions and soft-deleted blobs, so an overwritten or deleted PKI file can be restored.",
    enforcementLevel: "mandatory",
    validateResource: forTypes([T.blobService], (props, _args, report) => {
        if (props.isVersioningEnabled !== true) report(`isVersioningEnabled must be true — got ${show(props.isVersioningEnabled)}`);
        const retention = props.deleteRetentionPolicy;
        if (retention?.enabled !== true) {
            report(`deleteRetentionPolicy.enabled must be true (soft delete) — got ${show(retention?.enabled)}`);
        }
    }),
};

/** Every storage account has a blob service with versioning and a delete lock. */
export const storageLocked: StackValidationPolicy = {
    name: "storage-locked",
    description: "Every storage account has a CanNotDelete (or ReadOnly) management lock on it and a blob service with versioning.",
    enforcementLevel: "mandatory",
    validateStack: (args: StackValidationArgs, report: ReportViolation) => {
        const accounts = args.resources.filter((r) => r.type === T.storageAccount);
        for (const account of accounts) {
            const name = () => account.props.accountName ?? account.props.name;
            const locked = args.resources.some(
                (r) => r.type === T.lock && ["CanNotDelete", "ReadOnly"].includes(r.props.level) && refersTo(r, "scope", account, name),
            );
            if (!locked) report(`storage account ${account.name}: no CanNotDelete management lock has it as scope`, account.urn);
            const versioned = args.resources.some((r) => r.type === T.blobService && refersTo(r, "accountName", account, name));
            if (!versioned) report(`storage account ${account.name}: no blob service properties (versioning, soft delete) for it`, account.urn);
        }
    },
};

/** An odd number of masters: etcd needs a majority, and an even count adds no fault tolerance. */
export const mastersOdd: StackValidationPolicy = {
    name: "masters-odd",
    description: "The control plane has an odd number of masters (virtual machines tagged role=master).",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const masters = args.resources.filter((r) => r.type === T.vm && r.props.tags?.role === "master");
        if (masters.length === 0) return;
        if (masters.length % 2 === 0) {
            report(`${masters.length} masters: etcd needs an odd count (3 or 5) — ${masters.map((m) => m.name).join(", ")}`);
        }
    },
};

/** No role assignment reaches beyond a resource group. */
export const roleScope: ResourceValidationPolicy = {
    name: "role-scope-resource-group",
    description: "Role assignments (the cluster service principal's included) are scoped to a resource group or something inside it, never a subscription or management group.",
    enforcementLevel: "mandatory",
    validateResource: forTypes([T.roleAssignment], (props, _args, report) => {
        const scope = props.scope;
        if (!isSet(scope)) return; // no scope: nothing to judge
        if (typeof scope !== "string" || !/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+(\/.+)?$/i.test(scope)) {
            report(`scope must be a resource group or inside one — got ${show(scope)}`);
        }
    }),
};

/** Built-in roles that reach everything in their scope: Owner, Contributor, User Access Administrator. */
export const BROAD_BUILTIN_ROLES: Record<string, string> = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
};

/** The stack grants no broad built-in role: the cluster's principal has a custom role without the masters. */
export const noBroadRoles: ResourceValidationPolicy = {
    name: "no-broad-builtin-role",
    description: "No role assignment grants Owner, Contributor or User Access Administrator: the cluster's service principal has a custom role that leaves the masters alone, and node identities have data roles.",
    enforcementLevel: "mandatory",
    validateResource: forTypes([T.roleAssignment], (props, _args, report) => {
        const role = props.roleDefinitionId;
        if (typeof role !== "string") return;
        const broad = BROAD_BUILTIN_ROLES[role.split("/").pop()!.toLowerCase()];
        if (broad) report(`grants the built-in ${broad} role (${show(role)}): use a role without the masters (components/infra/servicePrincipal.ts)`);
    }),
};

/** HPA bounds: maxReplicas = factor × minReplicas, CPU target exactly the platform's. */
export const hpaRule: ResourceValidationPolicy = {
    name: "hpa-3x-80",
    description: "Every HorizontalPodAutoscaler has maxReplicas = 3 × minReplicas and a CPU utilization target of 80%.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            maxFactor: { type: "integer", default: DEFAULTS.hpa.maxFactor },
            cpuTargetPercent: { type: "integer", default: DEFAULTS.hpa.cpuTargetPercent },
        },
    },
    validateResource: forTypes([T.hpaV2, T.hpaV1], (props, args, report) => {
        const { maxFactor, cpuTargetPercent } = { ...DEFAULTS.hpa, ...args.getConfig<Partial<typeof DEFAULTS.hpa>>() };
        const spec = props.spec ?? {};
        const min = spec.minReplicas ?? 1;
        if (isSet(min) && isSet(spec.maxReplicas) && spec.maxReplicas !== maxFactor * min) {
            report(`spec.maxReplicas must be ${maxFactor} × minReplicas = ${maxFactor * min} — got ${show(spec.maxReplicas)}`);
        }
        let target: unknown;
        if (args.type === T.hpaV1) target = spec.targetCPUUtilizationPercentage;
        else {
            const cpu = (spec.metrics ?? []).filter((m: any) => m?.type === "Resource" && m.resource?.name === "cpu");
            target = cpu.length === 1 && cpu[0].resource.target?.type === "Utilization" ? cpu[0].resource.target.averageUtilization : undefined;
        }
        if (isSet(spec.metrics) && target !== cpuTargetPercent) {
            report(`the CPU target must be one Resource metric "cpu" at Utilization ${cpuTargetPercent}% — got ${show(target)}`);
        }
    }),
};

/** The singleton a workload or HPA target is, if any: by name, chart-prefixed name or name label. */
function singletonOf(name: unknown, labels: Record<string, unknown> | undefined, singletons: string[]): string | undefined {
    return singletons.find(
        (s) => name === s || (typeof name === "string" && name.endsWith(`-${s}`)) || labels?.["app.kubernetes.io/name"] === s || labels?.app === s,
    );
}

/** Singletons (the seed's race-prone services) run exactly one replica and are never autoscaled. */
export const singletonReplicas: ResourceValidationPolicy = {
    name: "singleton-one-replica",
    description: "insights-loader and kube-state-metrics run exactly one replica and have no HorizontalPodAutoscaler.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { singletons: { type: "array", items: { type: "string" }, default: DEFAULTS.singletons } } },
    validateResource: forTypes([T.deployment, T.statefulSet, T.hpaV2, T.hpaV1], (props, args, report) => {
        const singletons = args.getConfig<{ singletons?: string[] }>().singletons ?? DEFAULTS.singletons;
        if (args.type === T.hpaV2 || args.type === T.hpaV1) {
            const target = singletonOf(props.spec?.scaleTargetRef?.name, undefined, singletons);
            if (target) report(`${target} is a singleton: it must not have a HorizontalPodAutoscaler`);
            return;
        }
        const singleton = singletonOf(props.metadata?.name, props.metadata?.labels, singletons);
        const replicas = props.spec?.replicas ?? 1;
        if (singleton && isSet(replicas) && replicas !== 1) report(`${singleton} is a singleton: spec.replicas must be 1 — got ${show(replicas)}`);
    }),
};

/** The autoscaler owns scale set capacity: `pulumi up` must never reset it. */
export const scaleSetCapacityIgnored: ResourceValidationPolicy = {
    name: "scale-set-capacity-ignored",
    description:
        "Every VM scale set leaves its capacity to the cluster autoscaler: ignoreChanges covers sku.capacity, or the program " +
        'sends back the live capacity and says so with the tag aura-capacity: "live".',
    enforcementLevel: "mandatory",
    validateResource: forTypes([T.vmss], (props, args, report) => {
        const ignored = args.opts?.ignoreChanges ?? [];
        if (ignored.some((p) => p === "sku.capacity" || p === "sku")) return;
        if (props.tags?.["aura-capacity"] === "live") return;
        report(
            `the capacity belongs to the cluster autoscaler: ignoreChanges must include "sku.capacity", or the program must send the live ` +
                `capacity and tag the scale set aura-capacity: "live" — got ignoreChanges ${show(ignored)}, no such tag`,
        );
    }),
};

/** The pod spec of a workload resource of the given type. */
function podSpec(type: string, props: any): any {
    if (type === T.pod) return props.spec;
    if (type === T.cronJob) return props.spec?.jobTemplate?.spec?.template?.spec;
    return props.spec?.template?.spec;
}

/** Every container requests CPU: HPAs compute utilization from requests, the scheduler packs by them. */
export const cpuRequests: ResourceValidationPolicy = {
    name: "container-cpu-requests",
    description: "Every container (and init container) of a workload requests CPU (resources.requests.cpu).",
    enforcementLevel: "mandatory",
    validateResource: forTypes([T.deployment, T.statefulSet, T.daemonSet, T.replicaSet, T.job, T.cronJob, T.pod], (props, args, report) => {
        const spec = podSpec(args.type, props);
        if (!isSet(spec)) return;
        for (const kind of ["containers", "initContainers"]) {
            const containers = spec[kind];
            if (!Array.isArray(containers)) continue;
            for (const c of containers) {
                if (!isSet(c)) continue;
                const cpu = c?.resources?.requests?.cpu;
                if (cpu === undefined || cpu === null || cpu === "") report(`${kind} ${show(c?.name)}: resources.requests.cpu is not set`);
            }
        }
    }),
};

export const policies: Array<ResourceValidationPolicy | StackValidationPolicy> = [
    storagePrivate,
    storageVersioned,
    storageLocked,
    mastersOdd,
    roleScope,
    noBroadRoles,
    hpaRule,
    singletonReplicas,
    scaleSetCapacityIgnored,
    cpuRequests,
];
