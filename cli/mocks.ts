// Pulumi mocks for `aura plan` and the tests: every resource "creates" with its inputs as state plus
// deterministic, realistic placeholders for what the cloud would compute (ARM ids, endpoints, keys).
// Placeholders derive from the resource name, so the same profile always gives the same plan.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";

export const MOCK_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000";
export const MOCK_TENANT = "11111111-1111-1111-1111-111111111111";
/** Start of the mock clock; time resources count from here. */
const MOCK_EPOCH = Date.UTC(2026, 0, 1);

/** A UUID-shaped value derived from `seed`. */
export function mockUuid(seed: string): string {
    const h = crypto.createHash("sha256").update(seed).digest("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A real (parseable) Ed25519 key pair derived from `seed`: a placeholder, never a credential. */
export function mockKeyPair(seed: string): { privateKeyPem: string; publicKeyPem: string } {
    const raw = crypto.createHash("sha256").update(`aura-plan-placeholder:${seed}`).digest();
    const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), raw]);
    const key = crypto.createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
    return {
        privateKeyPem: key.export({ format: "pem", type: "pkcs8" }).toString(),
        publicKeyPem: crypto.createPublicKey(key).export({ format: "pem", type: "spki" }).toString(),
    };
}

function pem(label: string, seed: string): string {
    const body = Buffer.from(`aura plan placeholder ${label} for ${seed}`).toString("base64");
    return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

function randomString(seed: string, length: number, alphabet: string): string {
    let out = "";
    let block = Buffer.alloc(0);
    for (let i = 0; out.length < length; i++) {
        if (i % 32 === 0) block = crypto.createHash("sha256").update(`${seed}:${i}`).digest();
        out += alphabet[block[i % 32] % alphabet.length];
    }
    return out;
}

/** The input that names an azure-native resource in Azure, where it is not `<kind>Name`. */
const NAME_INPUTS: Record<string, string> = {
    BlobContainer: "containerName",
    Blob: "blobName",
    StorageAccount: "accountName",
    BlobServiceProperties: "blobServicesName",
    VirtualMachine: "vmName",
    VirtualMachineScaleSet: "vmScaleSetName",
    PublicIPAddress: "publicIpAddressName",
    UserAssignedIdentity: "resourceName",
    ManagementLockByScope: "lockName",
    VirtualMachineRunCommandByVirtualMachine: "runCommandName",
    VirtualMachineExtension: "vmExtensionName",
};

function azureName(kind: string, inputs: Record<string, any>, name: string): string {
    return inputs[NAME_INPUTS[kind] ?? `${kind.charAt(0).toLowerCase()}${kind.slice(1)}Name`] ?? name;
}

function armId(type: string, inputs: Record<string, any>, name: string): string {
    const [, module, kind] = type.split(":");
    const rg = inputs.resourceGroupName ?? "aura-rg";
    const leaf = azureName(kind, inputs, name);
    const scope = `/subscriptions/${MOCK_SUBSCRIPTION}`;
    const provider = `Microsoft.${module.charAt(0).toUpperCase()}${module.slice(1)}`;
    if (kind === "ResourceGroup") return `${scope}/resourceGroups/${leaf}`;
    if (kind === "Subnet") return `${scope}/resourceGroups/${rg}/providers/${provider}/virtualNetworks/${inputs.virtualNetworkName}/subnets/${leaf}`;
    if (inputs.scope) return `${inputs.scope}/providers/Microsoft.Authorization/${kind.charAt(0).toLowerCase()}${kind.slice(1)}s/${leaf}`;
    return `${scope}/resourceGroups/${rg}/providers/${provider}/${kind.charAt(0).toLowerCase()}${kind.slice(1)}s/${leaf}`;
}

/** A scale set as Azure has it now: what the autoscaler and the cloud provider changed. */
export interface LiveScaleSet {
    capacity: number;
    /** Backend pool ids on the primary IP configuration. */
    backendPools?: string[];
}

export interface MockOptions {
    /** Outputs the stack's previous deployment left, as a StackReference to itself reads them. */
    previousOutputs?: Record<string, unknown>;
    /** Scale sets that exist in Azure, by name; reading any other one fails as Azure's 404 does. */
    liveScaleSets?: Record<string, LiveScaleSet>;
    /** Outputs of other stacks by stack name (e.g. the promotion upstream); a stack not listed has no deployment. */
    stackOutputs?: Record<string, Record<string, unknown>>;
}

/**
 * A provider function's failure as the engine reports it to the program: a gRPC error whose
 * `details` carry the provider's message (the SDK rethrows `new Error(details)`).
 */
export function invokeFailure(message: string): Error {
    return Object.assign(new Error(`2 UNKNOWN: ${message}`), { code: 2, details: message });
}

/** The outputs a StackReference named `org/project/stack` (or just `stack`) reads under mocks. */
function referencedOutputs(options: MockOptions, reference: string): Record<string, unknown> {
    const stack = reference.split("/").pop() ?? reference;
    const listed = options.stackOutputs?.[stack];
    if (listed) return listed;
    return stack === pulumi.getStack() ? options.previousOutputs ?? {} : {};
}

export function createMocks(options: MockOptions = {}): pulumi.runtime.Mocks {
    return {
        newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, any> } {
            const { type, name } = args;
            const inputs = args.inputs as Record<string, any>;
            const state: Record<string, any> = { ...inputs };
            let id = `${name}-id`;

            if (type === "pulumi:pulumi:StackReference") {
                return { id: inputs.name ?? name, state: { ...inputs, outputs: referencedOutputs(options, inputs.name ?? name), secretOutputNames: [] } };
            }
            if (type.startsWith("azure-native:")) {
                id = armId(type, inputs, name);
                state.id = id;
                state.name = azureName(type.split(":")[2], inputs, name);
            }
            switch (type) {
                case "azure-native:storage:StorageAccount":
                    state.primaryEndpoints = { blob: `https://${inputs.accountName}.blob.core.windows.net/` };
                    break;
                case "azure-native:network:PublicIPAddress":
                    state.ipAddress = "203.0.113.10";
                    if (inputs.dnsSettings?.domainNameLabel) {
                        state.dnsSettings = {
                            ...inputs.dnsSettings,
                            fqdn: `${inputs.dnsSettings.domainNameLabel}.${inputs.location}.cloudapp.azure.com`,
                        };
                    }
                    break;
                case "azure-native:managedidentity:UserAssignedIdentity":
                    state.clientId = mockUuid(`client:${name}`);
                    state.principalId = mockUuid(`principal:${name}`);
                    state.tenantId = MOCK_TENANT;
                    break;
                case "azuread:index/application:Application":
                    state.clientId = mockUuid(`client:${name}`);
                    state.objectId = mockUuid(`object:${name}`);
                    id = `/applications/${state.objectId}`;
                    break;
                case "azuread:index/servicePrincipal:ServicePrincipal":
                    state.objectId = mockUuid(`sp:${name}`);
                    id = state.objectId;
                    break;
                case "azuread:index/applicationPassword:ApplicationPassword": {
                    // A new password per rotation, as Azure makes one on every replacement.
                    const seed = `${name}:${JSON.stringify(inputs.rotateWhenChanged ?? {})}`;
                    state.value = `${randomString(seed, 3, "abcdefghijklmnopqrstuvwxyz")}8Q~${randomString(`${seed}:v`, 34, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_~.-")}`;
                    state.keyId = mockUuid(`key:${seed}`);
                    break;
                }
                case "tls:index/privateKey:PrivateKey": {
                    const pair = mockKeyPair(name);
                    state.privateKeyPem = pair.privateKeyPem;
                    state.privateKeyOpenssh = pem("OPENSSH PRIVATE KEY", name);
                    state.publicKeyPem = pair.publicKeyPem;
                    break;
                }
                case "tls:index/selfSignedCert:SelfSignedCert":
                case "tls:index/locallySignedCert:LocallySignedCert":
                    state.certPem = pem("CERTIFICATE", name);
                    break;
                case "random:index/randomPassword:RandomPassword":
                case "random:index/randomString:RandomString": {
                    let alphabet = "";
                    if (inputs.lower !== false) alphabet += "abcdefghijklmnopqrstuvwxyz";
                    if (inputs.upper !== false) alphabet += "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
                    if (inputs.numeric !== false) alphabet += "0123456789";
                    state.result = randomString(name, inputs.length ?? 16, alphabet || "abcdefghijklmnopqrstuvwxyz");
                    break;
                }
                case "kubernetes:core/v1:Service":
                    // cloud-provider-azure gives a LoadBalancer Service the Azure load balancer's address.
                    if (inputs.spec?.type === "LoadBalancer") state.status = { loadBalancer: { ingress: [{ ip: "203.0.113.20" }] } };
                    break;
                case "kubernetes:core/v1:Secret":
                    // The token controller fills a ServiceAccount token Secret; the provider waits for it.
                    if (inputs.type === "kubernetes.io/service-account-token") {
                        const b64 = (v: string) => Buffer.from(v).toString("base64");
                        state.data = {
                            token: b64(`placeholder-token.${randomString(name, 40, "abcdefghijklmnopqrstuvwxyz0123456789")}`),
                            "ca.crt": b64(pem("CERTIFICATE", "cluster-ca")),
                            namespace: b64(inputs.metadata?.namespace ?? "default"),
                        };
                    }
                    break;
                case "time:index/rotating:Rotating": {
                    const days = inputs.rotationDays ?? 0;
                    state.rfc3339 = new Date(MOCK_EPOCH).toISOString().replace(".000", "");
                    state.rotationRfc3339 = new Date(MOCK_EPOCH + days * 86_400_000).toISOString().replace(".000", "");
                    break;
                }
            }
            return { id, state };
        },
        call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
            switch (args.token) {
                case "azure-native:authorization:getClientConfig":
                    return { subscriptionId: MOCK_SUBSCRIPTION, tenantId: MOCK_TENANT, clientId: mockUuid("deployer"), objectId: mockUuid("deployer-object") };
                case "azuread:index/getClientConfig:getClientConfig":
                    return { tenantId: MOCK_TENANT, clientId: mockUuid("deployer"), objectId: mockUuid("deployer-object") };
                case "azure-native:compute:getVirtualMachineScaleSet": {
                    const live = options.liveScaleSets?.[args.inputs.vmScaleSetName];
                    if (!live) {
                        // As azure-native reports it (provider.go: "request failed <id>", then the ARM error).
                        const id = `/subscriptions/${MOCK_SUBSCRIPTION}/resourceGroups/${args.inputs.resourceGroupName}/providers/Microsoft.Compute/virtualMachineScaleSets/${args.inputs.vmScaleSetName}`;
                        throw invokeFailure(`request failed ${id}: Status=404 Code="ResourceNotFound" Message="The Resource 'Microsoft.Compute/virtualMachineScaleSets/${args.inputs.vmScaleSetName}' under resource group '${args.inputs.resourceGroupName}' was not found."`);
                    }
                    return {
                        name: args.inputs.vmScaleSetName,
                        sku: { capacity: live.capacity },
                        virtualMachineProfile: {
                            networkProfile: {
                                networkInterfaceConfigurations: [{
                                    name: `${args.inputs.vmScaleSetName}-nic`,
                                    primary: true,
                                    ipConfigurations: [{
                                        name: "ipconfig1",
                                        primary: true,
                                        loadBalancerBackendAddressPools: (live.backendPools ?? []).map((id) => ({ id })),
                                    }],
                                }],
                            },
                        },
                    };
                }
                default:
                    return args.inputs;
            }
        },
    };
}
