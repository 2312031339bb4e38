// Later `pulumi up` runs against a running cluster (issue #11): what the program sends when the
// environment exists already, and the options that keep updates from hurting it.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fc from "fast-check";
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import type * as pulumi from "@pulumi/pulumi";
import { Plan, PlannedResource } from "../cli/plan";
import { createMocks, invokeFailure, LiveScaleSet } from "../cli/mocks";
import { deployedScaleSetNames, isAzureNotFound } from "../components/infra/agentPools";
import { zonalRanges } from "../components/infra/network";
import { scaleSetCapacity, splitOverZones, supportsAcceleratedNetworking, vcpuQuota, vcpusOf } from "../components/infra/nodes";
import { addDays } from "../components/infra/servicePrincipal";
import { loadProfile } from "../profiles";
import { ROOT, SEED_PROFILE, byType, one, plan, tempFile } from "./helpers";

const PROD = path.join(ROOT, "profiles", "prod.yaml");
const DAY = 86_400_000;
const LB_POOL = "/subscriptions/0/resourceGroups/aura-prod-rg/providers/Microsoft.Network/loadBalancers/aura-prod/backendAddressPools/aura-prod";

/** Runs the plan with the standard mocks, recording the invokes it makes. */
async function planRecordingInvokes(options: {
    previousOutputs?: Record<string, unknown>;
    liveScaleSets?: Record<string, LiveScaleSet>;
    /** Scale sets whose read fails with this error (e.g. a missing permission). */
    failingReads?: Record<string, string>;
}) {
    const invokes: string[] = [];
    const { failingReads, ...mockOptions } = options;
    const mocks = createMocks(mockOptions);
    const recording: pulumi.runtime.Mocks = {
        newResource: (args) => mocks.newResource(args),
        call: (args) => {
            if (args.token === "azure-native:compute:getVirtualMachineScaleSet") {
                invokes.push(args.inputs.vmScaleSetName);
                const failure = failingReads?.[args.inputs.vmScaleSetName];
                if (failure) throw invokeFailure(failure);
            }
            return mocks.call(args);
        },
    };
    const result = await plan({ profile: PROD, stack: "prod", ...mockOptions, mocks: recording });
    return { plan: result, invokes };
}

function scaleSet(p: Plan, name: string): PlannedResource {
    const found = byType(p, "azure-native:compute:VirtualMachineScaleSet").filter((r) => r.inputs.vmScaleSetName === name);
    assert.strictEqual(found.length, 1, name);
    return found[0];
}

/** Every value at `key` anywhere in `value`. */
function valuesAt(value: unknown, key: string): unknown[] {
    if (Array.isArray(value)) return value.flatMap((v) => valuesAt(v, key));
    if (value === null || typeof value !== "object") return [];
    return Object.entries(value).flatMap(([k, v]) => (k === key ? [v, ...valuesAt(v, key)] : valuesAt(v, key)));
}

describe("infra stage: later updates of a running environment", () => {
    let prod: Plan;
    before(async () => {
        prod = await plan({ profile: PROD, stack: "prod" });
    });

    describe("pool capacity (the autoscaler owns it)", () => {
        it("refreshes before every update (Pulumi.yaml options.refresh: always)", () => {
            const project = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { options?: { refresh?: string } };
            assert.strictEqual(project.options?.refresh, "always");
        });

        it("sends the live capacity of an existing scale set (never less than min_size), and min_size for a new one", async () => {
            const previousOutputs = {
                masterCount: 5,
                pools: { common: { scaleSets: [{ scaleSetName: "aura-prod-common-z1" }, { scaleSetName: "aura-prod-common-z2" }] } },
            };
            const { plan: p, invokes } = await planRecordingInvokes({
                previousOutputs,
                liveScaleSets: { "aura-prod-common-z1": { capacity: 3 }, "aura-prod-common-z2": { capacity: 0 } },
            });
            // The autoscaler grew zone 1 to 3: an update keeps 3, not min_size 1.
            assert.strictEqual((scaleSet(p, "aura-prod-common-z1").inputs.sku as any).capacity, 3);
            // Below min_size (here 1), the profile's minimum wins.
            assert.strictEqual((scaleSet(p, "aura-prod-common-z2").inputs.sku as any).capacity, 1);
            // Not in the last deployment and not in Azure: created at min_size.
            assert.strictEqual((scaleSet(p, "aura-prod-common-z3").inputs.sku as any).capacity, 0);
            assert.ok(["aura-prod-common-z1", "aura-prod-common-z2", "aura-prod-common-z3"].every((n) => invokes.includes(n)));
            // Capacity is sent, not ignored: ignoreChanges would send the stale state input instead.
            assert.ok(!scaleSet(p, "aura-prod-common-z1").options.ignoreChanges?.includes("sku.capacity"));
        });

        it("on a first deployment Azure has none of the scale sets: each is read, found missing, and starts at min_size", async () => {
            const { plan: p, invokes } = await planRecordingInvokes({});
            const names = byType(p, "azure-native:compute:VirtualMachineScaleSet").map((r) => r.inputs.vmScaleSetName as string);
            assert.deepStrictEqual([...invokes].sort(), [...names].sort());
            // Each pool's zones together start at the pool's min_size (prod.yaml), split as evenly as can be.
            for (const pool of loadProfile(path.join(ROOT, "profiles", "prod.yaml"), { stack: "prod" }).pools) {
                const zones = names.filter((n) => n.startsWith(`aura-prod-${pool.name}-z`)).map((n) => (scaleSet(p, n).inputs.sku as { capacity: number }).capacity);
                assert.strictEqual(zones.length, 3, pool.name);
                assert.strictEqual(zones.reduce((a, b) => a + b, 0), pool.minSize, pool.name);
                assert.ok(Math.max(...zones) - Math.min(...zones) <= 1, `${pool.name}: ${zones.join(", ")}`);
            }
        });

        it("keeps the live capacity and backend pools of a scale set the outputs do not list (a first up that failed after creating it recorded none)", async () => {
            const { plan: p } = await planRecordingInvokes({
                liveScaleSets: { "aura-prod-common-z1": { capacity: 4, backendPools: [LB_POOL] } },
            });
            const vmss = scaleSet(p, "aura-prod-common-z1");
            assert.strictEqual((vmss.inputs.sku as any).capacity, 4, "min_size would make Azure remove three nodes, undrained");
            assert.deepStrictEqual((vmss.inputs.virtualMachineProfile as any).networkProfile.networkInterfaceConfigurations[0].ipConfigurations[0].loadBalancerBackendAddressPools, [{ id: LB_POOL }]);
        });

        it("stops on any other failure to read a scale set the outputs do not list: only Azure's not-found makes it new", async () => {
            await assert.rejects(
                planRecordingInvokes({ failingReads: { "aura-prod-common-z1": "RESPONSE 403: 403 Forbidden ERROR CODE: AuthorizationFailed" } }),
                /AuthorizationFailed/,
            );
            assert.ok(isAzureNotFound(new Error('request failed /subscriptions/0/resourceGroups/aura-prod-rg/providers/Microsoft.Compute/virtualMachineScaleSets/x: Status=404 Code="ResourceGroupNotFound" Message="Resource group \'aura-prod-rg\' could not be found."')));
            assert.ok(isAzureNotFound(new Error("GET https://management.azure.com/…\nRESPONSE 404: 404 Not Found\nERROR CODE: ResourceNotFound")));
            assert.ok(!isAzureNotFound(new Error('Status=403 Code="AuthorizationFailed" Message="… ResourceNotFound …"')), "a 404 code in another error's text");
            assert.ok(!isAzureNotFound(new Error('Status=404 Code="SubscriptionNotFound"')));
            assert.ok(!isAzureNotFound(new Error("the scale set ResourceNotFound-z1 was renamed")));
        });

        it("stops rather than guess when a scale set the last deployment reported cannot be read", async () => {
            await assert.rejects(
                planRecordingInvokes({ previousOutputs: { masterCount: 5, pools: { common: { scaleSetName: "aura-prod-common-z1" } } } }),
                /ResourceNotFound/,
            );
        });

        it("finds the deployed scale sets in the previous `pools` output, old or new shape", () => {
            assert.deepStrictEqual(deployedScaleSetNames({ common: { scaleSetName: "aura-prod-common", minSize: 2 } }), ["aura-prod-common"]);
            assert.deepStrictEqual(
                deployedScaleSetNames({ db: { scaleSets: [{ scaleSetName: "a-z1" }, { scaleSetName: "a-z2" }] } }),
                ["a-z1", "a-z2"],
            );
            assert.deepStrictEqual(deployedScaleSetNames(undefined), []);
        });

        it("scaleSetCapacity: live capacity, raised to min_size; min_size when new", () => {
            fc.assert(
                fc.property(fc.option(fc.nat(1000), { nil: undefined }), fc.nat(1000), (live, min) => {
                    const c = scaleSetCapacity(live, min);
                    assert.ok(c >= min);
                    assert.strictEqual(c, live === undefined ? min : Math.max(live, min));
                }),
            );
        });
    });

    it("keeps the backend pools cloud-provider-azure added to a scale set", async () => {
        const { plan: p } = await planRecordingInvokes({
            previousOutputs: { masterCount: 5, pools: { common: { scaleSetName: "aura-prod-common-z1" } } },
            liveScaleSets: { "aura-prod-common-z1": { capacity: 2, backendPools: [LB_POOL] } },
        });
        const ipConfig = (scaleSet(p, "aura-prod-common-z1").inputs.virtualMachineProfile as any).networkProfile.networkInterfaceConfigurations[0].ipConfigurations[0];
        assert.deepStrictEqual(ipConfig.loadBalancerBackendAddressPools, [{ id: LB_POOL }]);
        // A scale set the cloud provider has not wired yet gets none from the program.
        const fresh = (scaleSet(p, "aura-prod-database-z1").inputs.virtualMachineProfile as any).networkProfile.networkInterfaceConfigurations[0].ipConfigurations[0];
        assert.deepStrictEqual(fresh.loadBalancerBackendAddressPools, []);
    });

    it("rotates the cluster's password at 300 days and lets it expire at 400, with the expiry as a stack output", () => {
        const rotating = one(prod, "time:index/rotating:Rotating");
        assert.strictEqual(rotating.inputs.rotationDays, 300);
        const password = one(prod, "azuread:index/applicationPassword:ApplicationPassword");
        const endDate = Date.parse(password.inputs.endDate as string);
        // The mock clock creates the rotation on 2026-01-01: rotation due 2026-10-28, expiry 2027-02-05.
        const rotationDue = Date.parse("2026-01-01T00:00:00Z") + 300 * DAY;
        assert.strictEqual(endDate - rotationDue, 100 * DAY, "100 days of overlap after the rotation is due");
        assert.strictEqual(prod.outputs.servicePrincipalPasswordExpiry, password.inputs.endDate);
        assert.strictEqual(addDays("2026-01-01T00:00:00Z", 400), "2027-02-05T00:00:00Z");
    });

    describe("masters", () => {
        it("update one after another: each master waits for the previous one to be back (its gate), not only for its VM", async () => {
            const gatesOf = (p: Plan) => byType(p, "azure-native:compute:VirtualMachineRunCommandByVirtualMachine").filter((c) => c.inputs.runCommandName === "aura-settle");
            const vms = byType(prod, "azure-native:compute:VirtualMachine");
            const gates = gatesOf(prod);
            assert.strictEqual(vms.length, 5);
            assert.deepStrictEqual(gates.map((g) => g.inputs.vmName), vms.map((vm) => vm.inputs.vmName));
            vms.forEach((vm, i) => {
                const deps = vm.options.dependsOn ?? [];
                assert.deepStrictEqual(gates.filter((g) => deps.includes(g.urn)).map((g) => g.name), i === 0 ? [] : [gates[i - 1].name]);
                // The gate runs on its own master, after it; it stops the deployment when the master does not come back.
                assert.ok(gates[i].options.dependsOn?.includes(vm.urn));
                assert.strictEqual(gates[i].inputs.treatFailureAsDeploymentFailure, true);
                assert.strictEqual(gates[i].inputs.asyncExecution, false);
            });
            // A resize changes every gate (so each runs again, after its VM) and no upgrade command.
            const text = fs.readFileSync(PROD, "utf8").replace('size: 5\n      type: "Standard_DS2_v2"', 'size: 5\n      type: "Standard_DS3_v2"');
            const resized = await plan({ profile: tempFile("prod.yaml", text), stack: "prod" });
            const script = (g: PlannedResource) => (g.inputs.source as { script: string }).script;
            gatesOf(resized).forEach((g, i) => {
                assert.notStrictEqual(script(g), script(gates[i]));
                assert.match(script(g), /^readonly VM_SIZE='Standard_DS3_v2'$/m);
            });
            const upgrades = (p: Plan) => byType(p, "azure-native:compute:VirtualMachineRunCommandByVirtualMachine").filter((c) => c.inputs.runCommandName === "aura-kubernetes-version").map(script);
            assert.deepStrictEqual(upgrades(resized), upgrades(prod));
        });

        it("take a new SSH key through the VMAccess extension; the VM's own key list is ignored after creation", async () => {
            const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRotatedKeyRotatedKeyRotatedKey0000 ops@aura";
            const rotated = await plan({ profile: PROD, stack: "prod", config: { "aura:sshPublicKey": key } });
            const vms = byType(rotated, "azure-native:compute:VirtualMachine");
            const extensions = byType(rotated, "azure-native:compute:VirtualMachineExtension");
            assert.strictEqual(extensions.length, vms.length);
            for (const vm of vms) {
                assert.ok(vm.options.ignoreChanges?.includes("osProfile.linuxConfiguration.ssh"));
                const ext = extensions.find((e) => e.name === `${vm.name}-ssh-access`)!;
                assert.deepStrictEqual([ext.inputs.publisher, ext.inputs.type], ["Microsoft.OSTCExtensions", "VMAccessForLinux"]);
                assert.strictEqual(ext.inputs.vmName, vm.inputs.vmName);
                assert.deepStrictEqual(ext.inputs.protectedSettings, { username: "azureuser", ssh_key: key, remove_prior_keys: true, reset_ssh: false });
            }
            for (const set of byType(rotated, "azure-native:compute:VirtualMachineScaleSet")) {
                const profile = set.inputs.virtualMachineProfile as any;
                assert.strictEqual(profile.osProfile.linuxConfiguration.ssh.publicKeys[0].keyData, key, "new instances get the key from the model");
                const ext = profile.extensionProfile.extensions.find((e: any) => e.type === "VMAccessForLinux");
                assert.strictEqual(ext.protectedSettings.ssh_key, key, "running instances get it at their rolling upgrade");
            }
        });

        it("keep etcd on their own protected disks, in their own zones, attached to the VM", () => {
            const vms = byType(prod, "azure-native:compute:VirtualMachine");
            const disks = byType(prod, "azure-native:compute:Disk");
            assert.strictEqual(disks.length, vms.length);
            for (const vm of vms) {
                const disk = disks.find((d) => d.name === `${vm.name}-etcd`)!;
                assert.strictEqual(disk.options.protect, true);
                assert.deepStrictEqual(disk.inputs.zones, vm.inputs.zones);
                assert.deepStrictEqual(disk.inputs.creationData, { createOption: "Empty" });
                const [data] = (vm.inputs.storageProfile as any).dataDisks;
                assert.strictEqual(data.createOption, "Attach");
                assert.strictEqual(data.deleteOption, "Detach");
                assert.strictEqual(data.managedDisk.id, `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/aura-prod-rg/providers/Microsoft.Compute/disks/${vm.name}-etcd`);
            }
        });

        it("are replaced old-first: a rebuilt master takes over its name and its etcd disk", () => {
            const vms = byType(prod, "azure-native:compute:VirtualMachine");
            assert.ok(vms.length >= 5);
            for (const vm of vms) assert.strictEqual(vm.options.deleteBeforeReplace, true, vm.name);
        });
    });

    it("names in the VMs' and scale sets' ignoreChanges only inputs they have (a typo would ignore nothing)", () => {
        // (The VNet's subnets and the agents NSG's rules are unset on purpose: azure-native keeps the
        // live sub-resources of a property the program leaves out.)
        for (const r of prod.resources.filter((x) => x.type.startsWith("azure-native:compute:"))) {
            for (const p of r.options.ignoreChanges ?? []) {
                let node: unknown = r.inputs;
                for (const key of p.split(".")) node = (node as Record<string, unknown> | undefined)?.[key];
                assert.notStrictEqual(node, undefined, `${r.name}: ignoreChanges ${p}`);
            }
        }
    });

    it("gives masters and agents accelerated networking where the VM size supports it", () => {
        for (const nic of byType(prod, "azure-native:network:NetworkInterface")) assert.strictEqual(nic.inputs.enableAcceleratedNetworking, true);
        for (const set of byType(prod, "azure-native:compute:VirtualMachineScaleSet")) {
            assert.strictEqual((set.inputs.virtualMachineProfile as any).networkProfile.networkInterfaceConfigurations[0].enableAcceleratedNetworking, true);
        }
        const table: Array<[string, boolean]> = [
            ["Standard_DS2_v2", true], ["Standard_DS1_v2", false], ["Standard_DS13_v2", true], ["Standard_D2s_v3", false],
            ["Standard_D4s_v3", true], ["Standard_D2s_v5", true], ["Standard_D4ads_v5", true], ["Standard_B2s", false], ["Standard_F2s_v2", false],
        ];
        for (const [size, expected] of table) assert.strictEqual(supportsAcceleratedNetworking(size), expected, size);
    });

    it("sends outbound traffic through one NAT gateway per zone, each zone's nodes in their zone's subnets", () => {
        const nats = byType(prod, "azure-native:network:NatGateway");
        assert.deepStrictEqual(nats.map((n) => n.inputs.zones), [["1"], ["2"], ["3"]]);
        const subnets = byType(prod, "azure-native:network:Subnet");
        assert.deepStrictEqual(subnets.map((s) => s.inputs.subnetName).sort(), ["agents-z1", "agents-z2", "agents-z3", "masters-z1", "masters-z2", "masters-z3"]);
        for (const s of subnets) {
            const zone = (s.inputs.subnetName as string).slice(-1);
            assert.match((s.inputs.natGateway as any).id, new RegExp(`/natGateways/aura-prod-net-nat-z${zone}$`));
        }
        for (const set of byType(prod, "azure-native:compute:VirtualMachineScaleSet")) {
            const subnet = (set.inputs.virtualMachineProfile as any).networkProfile.networkInterfaceConfigurations[0].ipConfigurations[0].subnet.id;
            assert.match(subnet, new RegExp(`/subnets/agents-z${(set.inputs.zones as string[])[0]}$`));
        }
        const vms = byType(prod, "azure-native:compute:VirtualMachine");
        for (const nic of byType(prod, "azure-native:network:NetworkInterface")) {
            const vm = vms.find((v) => `${v.name}-nic` === nic.name)!;
            assert.match((nic.inputs.ipConfigurations as any)[0].subnet.id, new RegExp(`/subnets/masters-z${(vm.inputs.zones as string[])[0]}$`));
        }
        assert.deepStrictEqual(zonalRanges("10.240.16.0/20", 3), ["10.240.16.0/22", "10.240.20.0/22", "10.240.24.0/22"]);
        assert.deepStrictEqual(zonalRanges("10.240.0.0/24", 1), ["10.240.0.0/24"]);
        assert.throws(() => zonalRanges("10.240.0.0/28", 3), /too small/);
    });

    it("splitOverZones keeps the profile's sums and spreads evenly", () => {
        fc.assert(
            fc.property(fc.nat(50), fc.nat(50), fc.integer({ min: 1, max: 3 }), (a, b, zones) => {
                const [min, max] = [Math.min(a, b), Math.max(a, b)];
                const parts = splitOverZones(min, max, zones);
                assert.strictEqual(parts.reduce((s, p) => s + p.minSize, 0), min);
                assert.strictEqual(parts.reduce((s, p) => s + p.maxSize, 0), max);
                for (const p of parts) assert.ok(p.minSize <= p.maxSize);
            }),
        );
    });

    it("keeps the metadata store outside the cluster principal's scope", () => {
        const contributor = one(prod, "azure-native:authorization:RoleAssignment", "aura-prod-cluster-assignment");
        const scope = contributor.inputs.scope as string;
        const account = one(prod, "azure-native:storage:StorageAccount");
        assert.strictEqual(account.inputs.resourceGroupName, "aura-prod-metadata-rg");
        assert.strictEqual(prod.outputs.metadataResourceGroup, "aura-prod-metadata-rg");
        assert.match(scope, /\/resourceGroups\/aura-prod-rg$/);
        // Everything of the store (account, container, blobs, the masters' reader identity) lives in
        // the other group, so the scope /resourceGroups/aura-prod-rg covers none of it.
        const storeParts = prod.resources.filter((r) => /^azure-native:(storage|managedidentity):/.test(r.type));
        assert.ok(storeParts.length > 10);
        for (const r of storeParts) assert.strictEqual(r.inputs.resourceGroupName, "aura-prod-metadata-rg", r.name);
        const lock = one(prod, "azure-native:authorization:ManagementLockByScope");
        assert.match(lock.inputs.scope as string, /\/resourceGroups\/aura-prod-metadata-rg\//);
        // Every other role assignment for the cluster principal is only the Contributor one.
        const principal = contributor.inputs.principalId;
        assert.deepStrictEqual(byType(prod, "azure-native:authorization:RoleAssignment").filter((r) => r.inputs.principalId === principal).length, 1);
    });

    it("builds a region without availability zones: no zone on any resource, no zone-redundant storage", async () => {
        const seed = yaml.load(fs.readFileSync(SEED_PROFILE, "utf8")) as any;
        seed.infrastructure.zones = [];
        const p = await plan({ profile: tempFile("nozones.yaml", yaml.dump(seed)), stack: "nozones" });
        for (const r of p.resources) {
            assert.deepStrictEqual(valuesAt(r.inputs, "zones"), [], `${r.type} ${r.name} has zones`);
            assert.doesNotMatch(JSON.stringify(r.inputs), /_ZRS|ZoneRedundant/, `${r.type} ${r.name}`);
        }
        assert.strictEqual((one(p, "azure-native:storage:StorageAccount").inputs.sku as any).name, "Standard_LRS");
        assert.strictEqual(byType(p, "azure-native:network:NatGateway").length, 1);
        const sets = byType(p, "azure-native:compute:VirtualMachineScaleSet");
        assert.deepStrictEqual(sets.map((s) => s.inputs.vmScaleSetName).sort(), ["aura-nozones-common", "aura-nozones-database", "aura-nozones-management"]);
        const pools = p.outputs.pools as Record<string, any>;
        assert.deepStrictEqual(pools.database.scaleSets, [{ scaleSetName: "aura-nozones-database", minSize: 3, maxSize: 6 }]);
    });

    it("states the vCPU quota a profile needs, at min_size and at max_size (aura validate)", () => {
        assert.deepStrictEqual(
            [vcpusOf("Standard_DS2_v2"), vcpusOf("Standard_DS3_v2"), vcpusOf("Standard_DS13_v2"), vcpusOf("Standard_D8s_v5"), vcpusOf("Standard_F16s_v2"), vcpusOf("Standard_X1")],
            [2, 4, 8, 8, 16, undefined],
        );
        const q = vcpuQuota([
            { vmSize: "Standard_DS2_v2", minCount: 5, maxCount: 5 },
            { vmSize: "Standard_DS2_v2", minCount: 2, maxCount: 8 },
            { vmSize: "Standard_DS3_v2", minCount: 3, maxCount: 6 },
            { vmSize: "Standard_X1", minCount: 1, maxCount: 1 },
        ]);
        assert.deepStrictEqual(q, { bySize: { Standard_DS2_v2: { min: 14, max: 26 }, Standard_DS3_v2: { min: 12, max: 24 } }, min: 26, max: 50, unknownSizes: ["Standard_X1"] });
        const run = spawnSync(process.execPath, [path.join(ROOT, "bin", "aura.js"), "validate", "profiles/prod.yaml", "--stack", "prod"], { cwd: ROOT, encoding: "utf8" });
        assert.strictEqual(run.status, 0, run.stderr);
        assert.match(run.stdout, /\nvCPU quota needed in westeurope: 32 at min_size, 62 at max_size \(Standard_DS2_v2 20-38, Standard_DS3_v2 12-24\)\n$/);
    });
});
