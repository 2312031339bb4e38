// The infra stage as `pulumi up` would register it for profiles/prod.yaml: the profile's numbers,
// the options that keep production safe, and the master-count guard.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { Plan, PlannedResource } from "../cli/plan";
import { checkMasterCount } from "../components/infra/guard";
import { computerNamePrefix, storageAccountName } from "../components/infra/names";
import { caCertHash } from "../components/infra/pki";
import { MOCK_SUBSCRIPTION, mockKeyPair } from "../cli/mocks";
import { ROOT, byType, one, plan } from "./helpers";

const PROD = path.join(ROOT, "profiles", "prod.yaml");

describe("infra stage (profiles/prod.yaml)", () => {
    let prod: Plan;
    before(async () => {
        prod = await plan({ profile: PROD, stack: "prod" });
    });

    it("creates 5 master VMs round-robin over zones 1-3, each with an etcd data disk", () => {
        const vms = byType(prod, "azure-native:compute:VirtualMachine");
        assert.strictEqual(vms.length, 5);
        assert.deepStrictEqual(vms.map((v) => (v.inputs.zones as string[])[0]), ["1", "2", "3", "1", "2"]);
        for (const vm of vms) {
            const disks = (vm.inputs.storageProfile as any).dataDisks;
            assert.strictEqual(disks.length, 1);
            assert.strictEqual(disks[0].lun, 0);
            assert.strictEqual((vm.inputs.osProfile as any).linuxConfiguration.disablePasswordAuthentication, true);
            assert.deepStrictEqual((vm.inputs.identity as any).type, "UserAssigned");
            assert.ok(vm.options.ignoreChanges?.includes("osProfile.customData"));
        }
    });

    it("keeps secrets out of the masters' custom data", () => {
        for (const vm of byType(prod, "azure-native:compute:VirtualMachine")) {
            const customData = (vm.inputs.osProfile as any).customData;
            assert.notStrictEqual(customData, "[secret]", "master custom data holds nothing secret, so it is not marked secret");
            const doc = zlib.gunzipSync(Buffer.from(customData, "base64")).toString();
            assert.doesNotMatch(doc, /[a-z0-9]{6}\.[a-z0-9]{16}/);
            assert.doesNotMatch(doc, /PRIVATE KEY|client_secret/);
            assert.match(doc, /^#cloud-config/);
        }
    });

    it("creates one VM scale set per pool and zone with min_size as capacity, autoscaler tags, a rolling policy with a health signal", () => {
        const sets = byType(prod, "azure-native:compute:VirtualMachineScaleSet");
        const expected: Record<string, [number, number, string]> = {
            common: [2, 8, "Standard_DS2_v2"],
            database: [3, 6, "Standard_DS2_v2"],
            management: [3, 6, "Standard_DS3_v2"],
        };
        assert.strictEqual(sets.length, 9);
        const sums: Record<string, [number, number]> = {};
        for (const set of sets) {
            const tags = set.inputs.tags as Record<string, string>;
            const [, , size] = expected[tags.poolName];
            const [min, max] = [Number(tags.min), Number(tags.max)];
            const sum = (sums[tags.poolName] ??= [0, 0]);
            sum[0] += min;
            sum[1] += max;
            assert.deepStrictEqual(set.inputs.sku, { name: size, tier: "Standard", capacity: min }, "a new scale set starts at its min_size");
            assert.strictEqual(tags["k8s.io_cluster-autoscaler_enabled"], "true");
            assert.strictEqual(tags["k8s.io_cluster-autoscaler_aura-prod"], "owned");
            assert.strictEqual(tags["aura-capacity"], "live");
            assert.deepStrictEqual(set.inputs.zones, [tags.zone]);
            assert.strictEqual(set.inputs.vmScaleSetName, `aura-prod-${tags.poolName}-z${tags.zone}`);
            assert.strictEqual((set.inputs.upgradePolicy as any).mode, "Rolling");
            const ext = (set.inputs.virtualMachineProfile as any).extensionProfile.extensions;
            assert.ok(ext.some((e: any) => e.type === "ApplicationHealthLinux"), "Rolling needs a health signal");
            // No join token in the model: instances fetch the current one at boot with the agents' identity.
            const agentDoc = zlib.gunzipSync(Buffer.from((set.inputs.virtualMachineProfile as any).osProfile.customData, "base64")).toString();
            assert.doesNotMatch(agentDoc, /[a-z0-9]{6}\.[a-z0-9]{16}/, "no join token in the agents' custom data");
            assert.deepStrictEqual((set.inputs.identity as any).type, "UserAssigned");
        }
        // The zonal scale sets of a pool add up to the profile's bounds.
        assert.deepStrictEqual(sums, { common: [2, 8], database: [3, 6], management: [3, 6] });
        const pools = prod.outputs.pools as Record<string, any>;
        assert.deepStrictEqual(Object.keys(pools).sort(), ["common", "database", "management"]);
        assert.deepStrictEqual(pools.common.scaleSets, [
            { scaleSetName: "aura-prod-common-z1", zone: "1", minSize: 1, maxSize: 3 },
            { scaleSetName: "aura-prod-common-z2", zone: "2", minSize: 1, maxSize: 3 },
            { scaleSetName: "aura-prod-common-z3", zone: "3", minSize: 0, maxSize: 2 },
        ]);
        for (const [pool, [min, max, size]] of Object.entries(expected)) {
            assert.deepStrictEqual([pools[pool].minSize, pools[pool].maxSize, pools[pool].vmSize], [min, max, size]);
        }
    });

    it("puts the API server behind a load balancer probed on HTTPS /readyz, open only on 6443", () => {
        const lb = one(prod, "azure-native:network:LoadBalancer", "aura-prod-control-plane-api-lb");
        const [probe] = lb.inputs.probes as any[];
        assert.deepStrictEqual([probe.protocol, probe.port, probe.requestPath], ["Https", 6443, "/readyz"]);
        const [rule] = lb.inputs.loadBalancingRules as any[];
        assert.deepStrictEqual([rule.frontendPort, rule.backendPort], [6443, 6443]);
        const nsgs = byType(prod, "azure-native:network:NetworkSecurityGroup");
        const inbound = nsgs.flatMap((n) => ((n.inputs.securityRules as any[]) ?? []).filter((r) => r.direction === "Inbound" && r.access === "Allow"));
        assert.deepStrictEqual(inbound.map((r) => r.destinationPortRange), ["6443"]);
        for (const nic of byType(prod, "azure-native:network:NetworkInterface")) {
            assert.match(JSON.stringify(nic.inputs.ipConfigurations), /backendAddressPools\/masters/);
        }
    });

    it("grants the service principal Contributor on the infra resource group only, less everything on the masters but reading them", () => {
        const assignment = one(prod, "azure-native:authorization:RoleAssignment", "aura-prod-cluster-assignment");
        const role = one(prod, "azure-native:authorization:RoleDefinition", "aura-prod-cluster-role");
        const rg = assignment.inputs.scope as string;
        assert.match(rg, /^\/subscriptions\/[^/]+\/resourceGroups\/aura-prod-rg$/);
        assert.strictEqual(assignment.inputs.roleDefinitionId, `/subscriptions/${MOCK_SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/${String(role.inputs.roleDefinitionId)}`);
        assert.match(role.inputs.roleDefinitionId as string, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
        assert.deepStrictEqual(role.inputs.assignableScopes, [rg]);
        assert.strictEqual(role.inputs.scope, rg);
        const [permission] = role.inputs.permissions as Array<{ actions: string[]; notActions: string[] }>;
        assert.deepStrictEqual(permission.actions, ["*"]);
        // Contributor's own exclusions, and the paths to the masters' keys: code, disks, export.
        for (const denied of ["Microsoft.Authorization/*/Write", "Microsoft.Authorization/*/Delete", "Microsoft.Compute/virtualMachines/runCommand/action", "Microsoft.Compute/virtualMachines/runCommands/write", "Microsoft.Compute/virtualMachines/extensions/write", "Microsoft.Compute/virtualMachines/write", "Microsoft.Compute/virtualMachines/attachDetachDataDisks/action", "Microsoft.Compute/disks/beginGetAccess/action", "Microsoft.Compute/snapshots/beginGetAccess/action"]) {
            assert.ok(permission.notActions.includes(denied), denied);
        }
        // What the cloud provider, the disk driver and the autoscaler do stays allowed.
        for (const needed of ["Microsoft.Compute/virtualMachineScaleSets/write", "Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/disks/write", "Microsoft.Network/loadBalancers/write"]) {
            assert.ok(!permission.notActions.some((d) => new RegExp(`^${d.replace(/[.]/g, "\\.").replace(/\*/g, "[^/]*")}$`, "i").test(needed)), needed);
        }
        // The assignment waits for the new role to replicate.
        const sleep = one(prod, "time:index/sleep:Sleep", "aura-prod-cluster-role-replication");
        assert.ok(assignment.options.dependsOn?.includes(sleep.urn) && sleep.options.dependsOn?.includes(role.urn));
        assert.deepStrictEqual(sleep.inputs.triggers, { roleId: role.inputs.roleDefinitionId }, "a new role waits again");
        const password = one(prod, "azuread:index/applicationPassword:ApplicationPassword");
        assert.ok(password.options.additionalSecretOutputs?.includes("value"));
    });

    it("protects the metadata store: private, HTTPS and TLS 1.2, versioning, soft delete, a delete lock, protect", () => {
        const account = one(prod, "azure-native:storage:StorageAccount");
        assert.strictEqual(account.inputs.allowBlobPublicAccess, false);
        assert.strictEqual(account.inputs.enableHttpsTrafficOnly, true);
        assert.strictEqual(account.inputs.minimumTlsVersion, "TLS1_2");
        assert.strictEqual(account.options.protect, true);
        const containers = byType(prod, "azure-native:storage:BlobContainer");
        assert.deepStrictEqual(containers.map((c) => c.inputs.containerName).sort(), ["break-glass", "cluster-bootstrap", "cluster-metadata", "node-join"]);
        for (const container of containers) {
            assert.strictEqual(container.inputs.publicAccess, "None");
            assert.strictEqual(container.options.protect, true);
        }
        const service = one(prod, "azure-native:storage:BlobServiceProperties");
        assert.strictEqual(service.inputs.isVersioningEnabled, true);
        assert.strictEqual((service.inputs.deleteRetentionPolicy as any).enabled, true);
        const lock = one(prod, "azure-native:authorization:ManagementLockByScope");
        assert.strictEqual(lock.inputs.level, "CanNotDelete");
        // On the metadata store's account itself (its ARM id, as the mocks make it).
        assert.strictEqual(
            lock.inputs.scope,
            `/subscriptions/${MOCK_SUBSCRIPTION}/resourceGroups/${String(account.inputs.resourceGroupName)}/providers/Microsoft.Storage/storageAccounts/${String(account.inputs.accountName)}`,
        );
        assert.ok(lock.options.protect);
        const blobNames = byType(prod, "azure-native:storage:Blob").map((b) => b.inputs.blobName).sort();
        for (const expected of ["pki/ca.crt", "pki/ca.key", "pki/etcd/ca.key", "pki/front-proxy-ca.key", "pki/sa.key", "kubeconfig/admin.json"]) {
            assert.ok(blobNames.includes(expected), `${expected} uploaded`);
        }
        // Masters may only read the container, and wait for that access before they boot.
        const reader = one(prod, "azure-native:authorization:RoleAssignment", "aura-prod-metadata-reader-access");
        assert.match(reader.inputs.scope as string, /\/blobServices\/default\/containers\/cluster-metadata$/);
        const master: PlannedResource = byType(prod, "azure-native:compute:VirtualMachine")[0];
        assert.ok(master.options.dependsOn?.includes(reader.urn));
    });

    it("generates cloud-init documents that pass `cloud-init schema`, with shell that passes shellcheck", async function () {
        this.timeout(240_000);
        const shown = await plan({ profile: PROD, stack: "prod", showSecrets: true });
        const docs = [
            ...byType(shown, "azure-native:compute:VirtualMachine").map((vm) => (vm.inputs.osProfile as any).customData),
            ...byType(shown, "azure-native:compute:VirtualMachineScaleSet").map((s) => (s.inputs.virtualMachineProfile as any).osProfile.customData),
        ] as string[];
        assert.strictEqual(docs.length, 5 + 9);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aura-cloudinit-"));
        // Every master boots from the same document: each distinct document is validated once.
        assert.strictEqual(new Set(docs.slice(0, 5)).size, 1, "one master document for every master");
        [...new Set(docs)].forEach((encoded, i) => {
            const text = zlib.gunzipSync(Buffer.from(encoded, "base64")).toString();
            const file = path.join(dir, `doc-${i}.yaml`);
            fs.writeFileSync(file, text);
            const schema = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
            assert.ok(!schema.error, "cloud-init is missing: run scripts/install-validators.sh");
            assert.strictEqual(schema.status, 0, `${file}: ${schema.stdout}${schema.stderr}`);
            for (const entry of (yaml.load(text) as any).write_files ?? []) {
                if (!String(entry.content).startsWith("#!")) continue;
                const script = path.join(dir, `doc-${i}-${path.basename(entry.path)}`);
                fs.writeFileSync(script, entry.content);
                const check = spawnSync("shellcheck", ["-s", "bash", script], { encoding: "utf8" });
                assert.ok(!check.error, "shellcheck is missing: run scripts/install-validators.sh");
                assert.strictEqual(check.status, 0, `${entry.path}: ${check.stdout}`);
            }
        });
    });

    it("publishes the outputs the system stage and operators need", () => {
        for (const key of ["adminKubeconfig", "metadataStoreUrl", "resourceGroup", "location", "pools", "apiServerUrl", "masterCount"]) {
            assert.ok(key in prod.outputs, key);
        }
        assert.strictEqual(prod.outputs.masterCount, 5);
        assert.strictEqual(prod.outputs.location, "westeurope");
    });

    it("refuses to change the master count of an existing stack, before registering anything", async () => {
        await assert.rejects(
            plan({ profile: PROD, stack: "prod", previousOutputs: { masterCount: 3 } }),
            (e: Error) => {
                assert.match(e.message, /infrastructure\.compute\.masters\.size is 5, but this environment runs 3 masters/);
                assert.match(e.message, /Set infrastructure\.compute\.masters\.size back to 3/);
                return true;
            },
        );
        const same = await plan({ profile: PROD, stack: "prod", previousOutputs: { masterCount: 5 } });
        assert.strictEqual(byType(same, "azure-native:compute:VirtualMachine").length, 5);
    });
});

describe("infra helpers", () => {
    it("checkMasterCount allows a first deployment and an unchanged count only", () => {
        assert.strictEqual(checkMasterCount(undefined, 3), undefined);
        assert.strictEqual(checkMasterCount(3, 3), undefined);
        assert.match(checkMasterCount(3, 5) ?? "", /cannot change/);
    });

    it("derives Azure-valid names", () => {
        const name = storageAccountName("a-very-long-environment", "abc123");
        assert.match(name, /^[a-z0-9]{3,24}$/);
        assert.ok(name.endsWith("abc123"));
        assert.strictEqual(computerNamePrefix("prod", "common"), "prod-common-");
    });

    it("computes the kubeadm CA hash from the SubjectPublicKeyInfo", () => {
        const { publicKeyPem } = mockKeyPair("ca");
        const hash = caCertHash(publicKeyPem);
        assert.match(hash, /^sha256:[0-9a-f]{64}$/);
        // openssl's `pkey -pubin -outform der | sha256sum` hashes the same SPKI DER.
        const der = Buffer.from(publicKeyPem.replace(/-----[A-Z ]+-----|\s/g, ""), "base64");
        assert.strictEqual(hash, `sha256:${crypto.createHash("sha256").update(der).digest("hex")}`);
    });
});
