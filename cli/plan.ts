// `aura plan`: runs the program entry (index.ts, the one `pulumi up` runs) under Pulumi mocks and
// records every resource it registers, with the options the engine would receive.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as settings from "@pulumi/pulumi/runtime/settings";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import { runInPulumiStack } from "@pulumi/pulumi/runtime/stack";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const resproto = require("@pulumi/pulumi/proto/resource_pb");
import { stackFromProfilePath } from "./common";
import { MockOptions, createMocks } from "./mocks";

export const PROJECT = "aura-platform";
/** The organization a self-managed backend reports. */
export const ORGANIZATION = "organization";

/** Resource options as the engine receives them; only those that are set. */
export interface PlannedOptions {
    protect?: boolean;
    ignoreChanges?: string[];
    dependsOn?: string[];
    deleteBeforeReplace?: boolean;
    retainOnDelete?: boolean;
    replaceOnChanges?: string[];
    additionalSecretOutputs?: string[];
    aliases?: string[];
    provider?: string;
    /** Operation timeouts that are set, e.g. { create: "20m" }. */
    customTimeouts?: { create?: string; update?: string; delete?: string };
}

export interface PlannedResource {
    urn: string;
    type: string;
    name: string;
    /** The parent's URN, or null for a top-level resource. */
    parent: string | null;
    custom: boolean;
    /** Inputs as registered: secrets "[secret]", values unknown before deployment "[unknown]". */
    inputs: Record<string, unknown>;
    options: PlannedOptions;
}

export interface Plan {
    stack: string;
    profile: string;
    resources: PlannedResource[];
    outputs: Record<string, unknown>;
}

export interface PlanOptions extends MockOptions {
    /** Path of the deployment profile. */
    profile: string;
    /** Stack name; default: the profile file's base name. */
    stack?: string;
    /** Further stack config (`aura:key` → value), as in Pulumi.<stack>.yaml. */
    config?: Record<string, string>;
    /** Keys of `config` stored as secrets (`pulumi config set --secret`). */
    secretConfigKeys?: string[];
    /** Print the mock run's secret values instead of "[secret]". */
    showSecrets?: boolean;
    /** What a secret reads as when not shown; default "[secret]" (`aura diff` uses keyed fingerprints to see a secret change). */
    maskSecret?: (value: unknown) => string;
    /** Mocks to answer with instead of the standard ones (tests wrap them to observe the run). */
    mocks?: pulumi.runtime.Mocks;
    /** A program to run instead of the entry (tests of one component); the profile is then only config. */
    program?: () => Promise<Record<string, unknown> | void> | Record<string, unknown> | void;
}

// The Pulumi wire format's markers (sdk/nodejs/runtime/rpc.ts).
const SPECIAL_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const STACK_TYPE = "pulumi:pulumi:Stack";

const SECRET_MASK = () => "[secret]";

/** Turns a wire value into plain JSON: secrets masked (or revealed), unknowns marked, resource refs as URNs. */
export function presentValue(value: unknown, showSecrets: boolean, mask: (value: unknown) => string = SECRET_MASK): unknown {
    if (value === UNKNOWN) return "[unknown]";
    if (Array.isArray(value)) return value.map((v) => presentValue(v, showSecrets, mask));
    if (value !== null && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        if (obj[SPECIAL_SIG] === SECRET_SIG) return showSecrets ? presentValue(obj.value, showSecrets, mask) : mask(obj.value);
        if (obj[SPECIAL_SIG] === RESOURCE_SIG) return obj.urn;
        return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, presentValue(v, showSecrets, mask)]));
    }
    return value;
}

/**
 * A successful RegisterResourceResponse as the SDK reads it: the accessors its registerResource
 * calls (runtime/resource.ts), the same shape the SDK answers with when no engine is attached. Of
 * the state Struct the SDK only calls `toJavaScript()` (runtime/rpc.ts, deserializeProperties), so
 * the state is answered in that form: the wire values, not a Struct to be converted back.
 */
function mockResponse(urn: string, id: string, state: Record<string, unknown>) {
    return {
        getUrn: () => urn,
        getId: () => id,
        getObject: () => ({ toJavaScript: () => state }),
        getPropertydependenciesMap: () => undefined,
        getResult: () => resproto.Result.SUCCESS,
        getUnknown: () => false,
    };
}

/**
 * A wire value with its keys in the order a Struct gives them back (sorted at every level), as the
 * SDK receives an engine's answer. `sortedAlready` names keys whose values came from a Struct.
 */
function structOrder(value: unknown, sortedAlready: string[] = []): unknown {
    if (Array.isArray(value)) return value.map((v) => structOrder(v));
    if (value === null || typeof value !== "object") return value;
    const obj = value as Record<string, unknown>;
    const ordered: Record<string, unknown> = {};
    for (const k of Object.keys(obj).sort()) ordered[k] = sortedAlready.includes(k) ? obj[k] : structOrder(obj[k]);
    return ordered;
}

/** A mock monitor that also records what each registration asked for. */
class RecordingMonitor extends MockMonitor {
    readonly recorded: PlannedResource[] = [];
    /** The stack's outputs, as the engine receives them (secrets still marked). */
    stackOutputs: Record<string, unknown> = {};
    private stackUrn: string | undefined;

    constructor(
        mocks: pulumi.runtime.Mocks,
        private readonly showSecrets: boolean,
        private readonly mask: (value: unknown) => string = SECRET_MASK,
    ) {
        super(mocks);
        // The engine leaves the root stack out of its children's URN type chain; so do we.
        // (newUrn is private in the SDK's typings, hence the cast.)
        const self = this as unknown as { newUrn(parent: string, type: string, name: string): string };
        const newUrn = self.newUrn.bind(this);
        self.newUrn = (parent, type, name) => newUrn(parent === this.stackUrn ? "" : parent, type, name);
    }

    /**
     * The engine's side of a registration: the mocks' state for the resource, answered in the wire
     * format. What the mocks return unchanged from the inputs is answered as it came (the SDK's
     * serialisation of a value it just deserialised gives the same wire value back); only what they
     * add goes through the SDK's serialiser. The program's side is untouched.
     */
    async registerResource(req: any, callback: (err: any, resp?: any) => void): Promise<void> {
        if (req.getTransformsList().length) {
            await super.registerResource(req, (err: any, resp?: any) => {
                if (!err && resp) this.record(req, resp.getUrn(), req.getObject()?.toJavaScript() ?? {});
                callback(err, resp);
            });
            return;
        }
        try {
            const wire: Record<string, unknown> = req.getObject()?.toJavaScript() ?? {};
            const inputs: Record<string, unknown> = {};
            for (const [k, v] of Object.entries(wire)) if (v !== undefined) inputs[k] = rpc.deserializeProperty(v);
            const result = await this.mocks.newResource({
                type: req.getType(),
                name: req.getName(),
                inputs,
                provider: req.getProvider(),
                custom: req.getCustom(),
                id: req.getImportid(),
            });
            // The state answered: inputs it keeps as they came on the wire (the SDK's serialisation
            // of a value it just deserialised gives the same wire value back); what the mocks add or
            // change, serialised as the SDK serialises; what they drop, left out.
            const kept: Record<string, unknown> = {};
            const added: Record<string, unknown> = {};
            for (const [k, v] of Object.entries(result.state)) {
                if (k in inputs && v === inputs[k]) kept[k] = wire[k];
                else added[k] = v;
            }
            const state = structOrder({ ...kept, ...(await rpc.serializeProperties("", added)) }, Object.keys(kept)) as Record<string, unknown>;
            const self = this as unknown as { newUrn(parent: string, type: string, name: string): string; resources: Map<string, unknown> };
            const urn = self.newUrn(req.getParent(), req.getType(), req.getName());
            self.resources.set(urn, { urn, id: result.id ?? null, state });
            this.record(req, urn, wire);
            callback(null, mockResponse(urn, result.id || "", state));
        } catch (err) {
            callback(err, undefined);
        }
    }

    registerResourceOutputs(req: any, callback: (err: any, resp?: any) => void): void {
        if (req.getUrn() === this.stackUrn) this.stackOutputs = req.getOutputs()?.toJavaScript() ?? {};
        super.registerResourceOutputs(req, callback);
    }

    /**
     * The URN an alias stands for, as the engine resolves it: a URN as given, or a spec whose unset
     * parts (name, type, parent, stack, project) are the resource's own.
     */
    private aliasUrn(alias: any, req: any): string {
        if (alias.getUrn()) return alias.getUrn();
        const spec = alias.getSpec();
        const parent = spec.getNoparent() ? "" : spec.getParenturn() || req.getParent();
        const self = this as unknown as { newUrn(parent: string, type: string, name: string): string };
        const [, , type, name] = self.newUrn(parent, spec.getType() || req.getType(), spec.getName() || req.getName()).split("::");
        return `urn:pulumi:${[spec.getStack() || settings.getStack(), spec.getProject() || settings.getProject(), type, name].join("::")}`;
    }

    private record(req: any, urn: string, wire: Record<string, unknown>): void {
        const type: string = req.getType();
        if (type === STACK_TYPE) {
            this.stackUrn = urn;
            return;
        }
        const parent: string = req.getParent();
        const options: PlannedOptions = {};
        if (req.getProtect()) options.protect = true;
        if (req.getIgnorechangesList().length) options.ignoreChanges = req.getIgnorechangesList();
        if (req.getDependenciesList().length) options.dependsOn = req.getDependenciesList();
        if (req.getDeletebeforereplace()) options.deleteBeforeReplace = true;
        if (req.getRetainondelete()) options.retainOnDelete = true;
        if (req.getReplaceonchangesList().length) options.replaceOnChanges = req.getReplaceonchangesList();
        if (req.getAdditionalsecretoutputsList().length) options.additionalSecretOutputs = req.getAdditionalsecretoutputsList();
        const aliases = req.getAliasesList().map((a: any) => this.aliasUrn(a, req));
        if (aliases.length) options.aliases = aliases;
        if (req.getProvider()) options.provider = req.getProvider();
        const timeouts = req.getCustomtimeouts();
        if (timeouts) {
            const set = Object.entries({ create: timeouts.getCreate(), update: timeouts.getUpdate(), delete: timeouts.getDelete() }).filter(([, v]) => v);
            if (set.length) options.customTimeouts = Object.fromEntries(set);
        }
        this.recorded.push({
            urn,
            type,
            name: req.getName(),
            parent: parent && parent !== this.stackUrn ? parent : null,
            custom: req.getCustom(),
            inputs: presentValue(wire, this.showSecrets, this.mask) as Record<string, unknown>,
            options,
        });
    }
}

/** Loads the program entry; the same module `pulumi up` runs. */
function loadProgram(): () => Promise<Record<string, unknown>> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const entry = require(path.join(__dirname, "..", "index"));
    return typeof entry === "function" ? entry : async () => entry;
}

/**
 * Runs the program under mocks and returns what it registered. Errors the program raises for bad
 * input (profile, config) propagate as they would under `pulumi up`.
 */
export async function runPlan(options: PlanOptions): Promise<Plan> {
    // Passed as given: the program reads it relative to the working directory, as under `pulumi up`,
    // so its messages name the file exactly as `aura validate` does.
    const profile = options.profile;
    const stack = options.stack ?? stackFromProfilePath(profile);
    const showSecrets = options.showSecrets ?? false;

    const mocks = options.mocks ?? createMocks(options);
    // setMocks turns on the runtime features (secrets, resource references…); then swap in our monitor.
    await pulumi.runtime.setMocks(mocks, PROJECT, stack, false, ORGANIZATION);
    const monitor = new RecordingMonitor(mocks, showSecrets, options.maskSecret);
    settings.setMockOptions(monitor, PROJECT, stack, false, ORGANIZATION);
    pulumi.runtime.setAllConfig({ ...options.config, "aura:profile": profile }, options.secretConfigKeys ?? []);

    // A program that fails leaves rejected promises behind in the SDK, as under `pulumi up`; collect
    // them for this run instead of letting them reach the process (or the test runner).
    const rejections: unknown[] = [];
    const saved = process.listeners("unhandledRejection");
    process.removeAllListeners("unhandledRejection");
    process.on("unhandledRejection", (reason) => rejections.push(reason));
    try {
        const program = options.program;
        await runInPulumiStack(program ? async () => (await program()) ?? {} : loadProgram());
        // Wait for every registration still in flight (the SDK marks this helper internal).
        await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    } finally {
        await new Promise((resolve) => setImmediate(resolve));
        process.removeAllListeners("unhandledRejection");
        for (const listener of saved) process.on("unhandledRejection", listener);
    }
    if (rejections.length) throw rejections[0];
    return {
        stack,
        profile: options.profile,
        resources: monitor.recorded,
        outputs: presentValue(monitor.stackOutputs, showSecrets, options.maskSecret) as Record<string, unknown>,
    };
}
