// The infra stage on day two, as `pulumi up` would register it: Kubernetes upgrades through one
// Run Command per master (chained, agents after), refused skips and downgrades, the masters'
// identity kept away from the root kubeconfig, nodes reaching the API through the internal load
// balancer whatever the public allow-list, and the pinned node build.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import * as yaml from "js-yaml";
import { Plan, PlannedResource } from "../cli/plan";
import { mockUuid } from "../cli/mocks";
import { agentKubeletFloor, checkAgentSkew, checkKubernetesVersion, checkOneMasterChange, parseRebuildMasters } from "../components/infra/guard";
import { internalApiAddress } from "../components/infra/controlPlane";
import { ETCD_DISK_SPEC, NODE_IMAGE } from "../components/infra/pins";
import { cidrContains } from "../profiles/cidr";
import { ROOT, byType, one, plan, tempFile } from "./helpers";

const PROD_TEXT = fs.readFileSync(path.join(ROOT, "profiles", "prod.yaml"), "utf8");

/** profiles/prod.yaml with some lines replaced, as a temporary file. */
function prodWith(replacements: Array<[string | RegExp, string]>): string {
    let text = PROD_TEXT;
    for (const [from, to] of replacements) {
        const next = text.replace(from, to);
        assert.notStrictEqual(next, text, `prod.yaml has no ${from}`);
        text = next;
    }
    return tempFile("prod.yaml", text);
}

const VERSION_LINE = 'version: "1.33.5"';
const masters = (p: Plan) => byType(p, "azure-native:compute:VirtualMachine");
/** The masters' Kubernetes upgrade commands (each master also has its gate, `aura-settle`). */
const runCommands = (p: Plan) => byType(p, "azure-native:compute:VirtualMachineRunCommandByVirtualMachine").filter((c) => c.inputs.runCommandName === "aura-kubernetes-version");

/** A VM's inputs without the ones `ignoreChanges` keeps from ever reaching Azure. */
function comparableInputs(vm: PlannedResource): unknown {
    const inputs = JSON.parse(JSON.stringify(vm.inputs));
    for (const ignored of vm.options.ignoreChanges ?? []) {
        const keys = ignored.split(".");
        let node = inputs;
        for (const k of keys.slice(0, -1)) node = node?.[k];
        if (node) delete node[keys[keys.length - 1]];
    }
    return inputs;
}

function decode(customData: string): string {
    return zlib.gunzipSync(Buffer.from(customData, "base64")).toString();
}

describe("infra stage: Kubernetes upgrades", function () {
    this.timeout(120_000);
    let previous: Plan;
    let after: Plan;

    before(async () => {
        previous = await plan({ profile: prodWith([[VERSION_LINE, 'version: "1.32.9"']]), stack: "prod", previousOutputs: { masterCount: 5, kubernetesVersion: "1.32.9" } });
        after = await plan({ profile: path.join(ROOT, "profiles", "prod.yaml"), stack: "prod", previousOutputs: { masterCount: 5, kubernetesVersion: "1.32.9" } });
    });

    it("publishes the Kubernetes version the guard compares with next time", () => {
        assert.strictEqual(after.outputs.kubernetesVersion, "1.33.5");
    });

    it("a one-minor bump upgrades every master through its Run Command, one after another, agents after all of them", () => {
        const vms = masters(after);
        const commands = runCommands(after);
        assert.strictEqual(commands.length, vms.length);
        const controlPlane = one(after, "aura:infra:ControlPlane");
        commands.forEach((command, i) => {
            assert.strictEqual(command.inputs.vmName, `aura-prod-master-${i}`);
            assert.strictEqual(command.parent, controlPlane.urn);
            assert.strictEqual(command.inputs.asyncExecution, false);
            assert.strictEqual(command.inputs.treatFailureAsDeploymentFailure, true, "a failed upgrade stops the deployment");
            const script = (command.inputs.source as { script: string }).script;
            assert.match(script, /^readonly K8S_VERSION='1\.33\.5'$/m);
            assert.match(script, /kubeadm upgrade apply "v\$\{K8S_VERSION\}" --yes/);
            assert.match(script, /kubeadm upgrade node/);
            // Masters go one at a time.
            const deps = command.options.dependsOn ?? [];
            assert.ok(deps.includes(vms[i].urn), "runs on its master");
            assert.deepStrictEqual(
                commands.filter((c) => deps.includes(c.urn)).map((c) => c.name),
                i === 0 ? [] : [commands[i - 1].name],
            );
            // The same command before the bump carried the old version: an update, which runs it again.
            const old = runCommands(previous)[i];
            assert.strictEqual(old.name, command.name);
            assert.match((old.inputs.source as { script: string }).script, /^readonly K8S_VERSION='1\.32\.9'$/m);
        });
        // The agents' scale sets (new kubelets) wait for the whole control plane, Run Commands included.
        const pools = one(after, "aura:infra:AgentPools");
        for (const command of commands) assert.ok(pools.options.dependsOn?.includes(command.urn), `agent pools wait for ${command.name}`);
        for (const set of byType(after, "azure-native:compute:VirtualMachineScaleSet")) {
            assert.match(decode((set.inputs.virtualMachineProfile as any).osProfile.customData), /readonly K8S_VERSION='1\.33\.5'/);
        }
    });

    it("no master VM is replaced or updated by the bump: only ignored inputs differ", () => {
        const a = masters(previous);
        const b = masters(after);
        assert.strictEqual(a.length, 5);
        b.forEach((vm, i) => {
            for (const ignored of ["osProfile.customData", "storageProfile.imageReference"]) assert.ok(vm.options.ignoreChanges?.includes(ignored), ignored);
            assert.strictEqual(vm.urn, a[i].urn);
            assert.deepStrictEqual(comparableInputs(vm), comparableInputs(a[i]));
        });
        // (The custom data did change: it is what a master created from now on boots with.)
        assert.notStrictEqual((b[0].inputs.osProfile as any).customData, (a[0].inputs.osProfile as any).customData);
    });

    it("a master being rebuilt (aura:rebuildMasters) boots what the program renders now, not its predecessor's document", async () => {
        const rebuilding = await plan({
            profile: path.join(ROOT, "profiles", "prod.yaml"),
            stack: "prod",
            config: { "aura:rebuildMasters": "1" },
            previousOutputs: { masterCount: 5, kubernetesVersion: "1.32.9" },
        });
        masters(rebuilding).forEach((vm, i) => {
            // Pulumi keeps ignored inputs even on `pulumi up --replace`: only the master being
            // rebuilt drops them, so its new VM gets the current custom data, image and SSH key.
            if (i === 1) assert.strictEqual(vm.options.ignoreChanges, undefined, vm.name);
            else assert.deepStrictEqual(vm.options.ignoreChanges, ["osProfile.customData", "storageProfile.imageReference", "osProfile.linuxConfiguration.ssh"], vm.name);
            assert.strictEqual(vm.options.deleteBeforeReplace, true);
            assert.deepStrictEqual(vm.inputs, masters(after)[i].inputs, "the same inputs: only what Pulumi keeps differs");
        });
        assert.deepStrictEqual(parseRebuildMasters(" 2, 0,2 ", 5, "prod"), [0, 2]);
        assert.deepStrictEqual(parseRebuildMasters(undefined, 5, "prod"), []);
        for (const bad of ["5", "one", "1;2", "-1"]) {
            await assert.rejects(
                plan({ profile: path.join(ROOT, "profiles", "prod.yaml"), stack: "prod", config: { "aura:rebuildMasters": bad } }),
                /stack config aura:rebuildMasters \(Pulumi\.prod\.yaml\): must list master indexes from 0 to 4, separated by commas — got .*`pulumi config set aura:rebuildMasters 1 -s prod`.*`pulumi config rm aura:rebuildMasters -s prod`/,
                bad,
            );
        }
    });

    it("refuses a two-minor bump and a downgrade before registering anything", async () => {
        await assert.rejects(
            plan({ profile: path.join(ROOT, "profiles", "prod.yaml"), stack: "prod", previousOutputs: { masterCount: 5, kubernetesVersion: "1.31.4" } }),
            (e: Error) => {
                assert.match(e.message, /kubernetes\.version is 1\.33\.5, but this environment runs 1\.31\.4: kubeadm upgrades one minor version at a time/);
                assert.match(e.message, /Set kubernetes\.version to a 1\.32\.x release/);
                return true;
            },
        );
        await assert.rejects(
            plan({ profile: path.join(ROOT, "profiles", "prod.yaml"), stack: "prod", previousOutputs: { masterCount: 5, kubernetesVersion: "1.34.1" } }),
            /kubernetes\.version is 1\.33\.5, older than the 1\.34\.1 this environment runs\. Kubernetes cannot be downgraded/,
        );
    });

    it("checkKubernetesVersion: first deployment, same, patch and one-minor steps pass; the rest is refused", () => {
        assert.strictEqual(checkKubernetesVersion(undefined, "1.33.5"), undefined);
        assert.strictEqual(checkKubernetesVersion("1.33.5", "1.33.5"), undefined);
        assert.strictEqual(checkKubernetesVersion("1.33.1", "1.33.5"), undefined);
        assert.strictEqual(checkKubernetesVersion("1.32.9", "1.33.0"), undefined);
        assert.match(checkKubernetesVersion("1.32.9", "1.34.0") ?? "", /one minor version at a time/);
        assert.match(checkKubernetesVersion("1.33.5", "1.33.4") ?? "", /cannot be downgraded/);
        assert.match(checkKubernetesVersion("1.33.5", "2.0.0") ?? "", /one minor version at a time/);
    });

    it("refuses a version the agents' oldest kubelet would be more than three minors behind, until the agents are rolled", async () => {
        const to134 = prodWith([[VERSION_LINE, 'version: "1.34.1"']]);
        const previousOutputs = { masterCount: 5, kubernetesVersion: "1.33.5", masterVmSize: "Standard_DS2_v2", agentKubeletFloor: "1.30.14" };
        await assert.rejects(
            plan({ profile: to134, stack: "prod", previousOutputs }),
            /prod: kubernetes\.version is 1\.34\.1, but agents may still run the kubelet of 1\.30\.14 .* more than 3 minors behind.*`pulumi config set aura:agentsRolledTo <the version the cluster runs> -s prod`/,
        );
        // Rolled at 1.33.5: allowed, and the next run counts from there.
        const rolled = await plan({ profile: to134, stack: "prod", previousOutputs, config: { "aura:agentsRolledTo": "1.33.5" } });
        assert.strictEqual(rolled.outputs.agentKubeletFloor, "1.33.5");
        // A roll to a version the cluster never ran is refused with the fix.
        await assert.rejects(plan({ profile: to134, stack: "prod", previousOutputs, config: { "aura:agentsRolledTo": "1.34.1" } }), /aura:agentsRolledTo \(Pulumi\.prod\.yaml\): must be .* at most 1\.33\.5 — got "1\.34\.1" \(e\.g\. `pulumi config set aura:agentsRolledTo 1\.33\.5 -s prod`/);
        // An upgrade does not move the floor: running agents keep their kubelet.
        assert.strictEqual(agentKubeletFloor({ floor: "1.32.9", version: "1.33.5" }, undefined, "1.34.1", "prod"), "1.32.9");
        assert.strictEqual(agentKubeletFloor({ floor: undefined, version: "1.33.5" }, undefined, "1.34.1", "prod"), "1.33.5", "a deployment from before the output: its version");
        assert.strictEqual(agentKubeletFloor({ floor: undefined, version: undefined }, undefined, "1.33.5", "prod"), "1.33.5", "a first deployment");
        assert.strictEqual(agentKubeletFloor({ floor: "1.33.5", version: "1.33.5" }, "1.32.0", "1.33.5", "prod"), "1.33.5", "an older roll changes nothing");
        assert.strictEqual(checkAgentSkew("1.31.0", "1.34.1", "prod"), undefined, "three minors are supported");
    });

    it("refuses a new master size and a new Kubernetes version in one run, before anything changes", async () => {
        const bumpedAndResized = prodWith([[VERSION_LINE, 'version: "1.34.1"'], ['type: "Standard_DS2_v2"', 'type: "Standard_DS3_v2"']]);
        await assert.rejects(
            plan({ profile: bumpedAndResized, stack: "prod", previousOutputs: { masterCount: 5, kubernetesVersion: "1.33.5", masterVmSize: "Standard_DS2_v2" } }),
            /prod: infrastructure\.compute\.masters\.type changes from Standard_DS2_v2 to Standard_DS3_v2 and kubernetes\.version from 1\.33\.5 to 1\.34\.1 in one run: .* Change one of them, run pulumi up, then the other; nothing was changed\./,
        );
        // Either alone goes on; so does a deployment from before the output existed.
        assert.strictEqual(checkOneMasterChange({ version: "1.33.5", size: "Standard_DS2_v2" }, { version: "1.34.1", size: "Standard_DS2_v2" }), undefined);
        assert.strictEqual(checkOneMasterChange({ version: "1.33.5", size: "Standard_DS2_v2" }, { version: "1.33.5", size: "Standard_DS3_v2" }), undefined);
        assert.strictEqual(checkOneMasterChange({ version: "1.33.5", size: undefined }, { version: "1.34.1", size: "Standard_DS3_v2" }), undefined);
        const p = await plan({ profile: path.join(ROOT, "profiles", "prod.yaml"), stack: "prod" });
        assert.strictEqual(p.outputs.masterVmSize, "Standard_DS2_v2", "the next run compares with it");
    });
});

describe("infra stage: least privilege", function () {
    this.timeout(120_000);
    let prod: Plan;
    before(async () => {
        prod = await plan({ profile: path.join(ROOT, "profiles", "prod.yaml"), stack: "prod" });
    });

    /** The principal ids of the identities the VMs (masters) and scale sets (agents) run as. */
    function principalsOf(resources: PlannedResource[]): string[] {
        const ids = new Set(resources.map((r) => (r.inputs.identity as any).userAssignedIdentities[0] as string));
        assert.strictEqual(ids.size, 1);
        const identity = byType(prod, "azure-native:managedidentity:UserAssignedIdentity").find((i) => [...ids][0].endsWith(`/${String(i.inputs.resourceName)}`));
        assert.ok(identity, `no identity ${[...ids][0]}`);
        return [mockUuid(`principal:${identity.name}`)];
    }

    function blobPath(blobName: string): string {
        const blob = byType(prod, "azure-native:storage:Blob").find((b) => b.inputs.blobName === blobName);
        assert.ok(blob, `no blob ${blobName}`);
        const account = one(prod, "azure-native:storage:StorageAccount");
        const accountId = `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/${String(account.inputs.resourceGroupName)}/providers/Microsoft.Storage/storageAccounts/${String(account.inputs.accountName)}`;
        return `${accountId}/blobServices/default/containers/${String(blob.inputs.containerName)}/blobs/${blobName}`;
    }

    /** Role assignments of `principals` whose scope covers `target` (the scope is the target or one of its parents). */
    function covering(principals: string[], target: string): PlannedResource[] {
        return byType(prod, "azure-native:authorization:RoleAssignment").filter(
            (a) => principals.includes(a.inputs.principalId as string) && (target === a.inputs.scope || target.startsWith(`${String(a.inputs.scope)}/`)),
        );
    }

    it("the masters' identity has no role on the blob that holds the root kubeconfig (and the agents' none either)", () => {
        const masterPrincipals = principalsOf(masters(prod));
        const agentPrincipals = principalsOf(byType(prod, "azure-native:compute:VirtualMachineScaleSet"));
        assert.notDeepStrictEqual(masterPrincipals, agentPrincipals, "masters and agents have their own identities");
        const kubeconfig = blobPath("kubeconfig/admin.json");
        assert.match(kubeconfig, /\/containers\/break-glass\/blobs\/kubeconfig\/admin\.json$/);
        assert.deepStrictEqual(covering(masterPrincipals, kubeconfig).map((a) => a.name), []);
        assert.deepStrictEqual(covering(agentPrincipals, kubeconfig).map((a) => a.name), []);
        // The check can fail: the masters do have a role covering the PKI they boot from.
        assert.strictEqual(covering(masterPrincipals, blobPath("pki/ca.key")).length, 1);
        // Agents read the join token container and nothing else.
        const agentRoles = byType(prod, "azure-native:authorization:RoleAssignment").filter((a) => agentPrincipals.includes(a.inputs.principalId as string));
        assert.deepStrictEqual(agentRoles.map((a) => [(a.inputs.scope as string).split("/").pop(), (a.inputs.roleDefinitionId as string).split("/").pop()]), [
            ["node-join", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"],
        ]);
        // Masters read the PKI, take the bootstrap locks and publish the join token: exactly that
        // (the boot tests' access list assumes these roles; a reader on node-join would stop every agent).
        const masterRoles = byType(prod, "azure-native:authorization:RoleAssignment").filter((a) => masterPrincipals.includes(a.inputs.principalId as string));
        assert.deepStrictEqual(masterRoles.map((a) => [(a.inputs.scope as string).split("/").pop(), (a.inputs.roleDefinitionId as string).split("/").pop()]).sort(), [
            ["cluster-bootstrap", "ba92f5b4-2d11-453d-a403-e96b0029c9fe"],
            ["cluster-metadata", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"],
            ["node-join", "ba92f5b4-2d11-453d-a403-e96b0029c9fe"],
        ]);
        // Every role of every node identity is on one container, never on the account or above.
        for (const a of byType(prod, "azure-native:authorization:RoleAssignment").filter((r) => [...masterPrincipals, ...agentPrincipals].includes(r.inputs.principalId as string))) {
            assert.match(a.inputs.scope as string, /\/blobServices\/default\/containers\/(cluster-metadata|cluster-bootstrap|node-join)$/, a.name);
        }
    });

    it("pods cannot reach the instance metadata endpoint: every node loads the nftables rule before the kubelet", () => {
        const docs = [
            ...masters(prod).map((vm) => (vm.inputs.osProfile as any).customData),
            ...byType(prod, "azure-native:compute:VirtualMachineScaleSet").map((s) => (s.inputs.virtualMachineProfile as any).osProfile.customData),
        ].map(decode);
        for (const doc of docs) {
            const files = (yaml.load(doc) as any).write_files as Array<{ path: string; content: string }>;
            const rules = files.find((f) => f.path === "/etc/aura/pod-imds-block.nft")!.content;
            assert.match(rules, /hook prerouting priority -400;[^]*ip daddr 169\.254\.169\.254 counter drop/);
            const unit = files.find((f) => f.path === "/etc/systemd/system/aura-pod-imds-block.service")!.content;
            assert.match(unit, /^Before=containerd\.service kubelet\.service$/m);
            assert.match(unit, /^ExecStart=\/usr\/sbin\/nft -f \/etc\/aura\/pod-imds-block\.nft$/m);
        }
        // The rule sits in the host's netfilter: pod traffic must pass it (Cilium's legacy host
        // routing; eBPF host routing would bypass netfilter).
        const cilium = prod.resources.find((r) => r.type === "kubernetes:helm.sh/v4:Chart" && r.inputs.chart === "cilium")!;
        assert.deepStrictEqual((cilium.inputs.values as any).bpf, { hostLegacyRouting: true });
    });
});

describe("infra stage: nodes reach the API inside the VNet", function () {
    this.timeout(120_000);

    it('with api_allowed_cidrs: ["203.0.113.0/24"] every node still reaches the API, through the internal load balancer', async () => {
        const narrowed = await plan({ profile: prodWith([['api_allowed_cidrs: ["0.0.0.0/0"]', 'api_allowed_cidrs: ["203.0.113.0/24"]']]), stack: "prod" });
        const vnet = one(narrowed, "azure-native:network:VirtualNetwork").inputs.addressSpace as { addressPrefixes: string[] };

        // The public side is narrowed as asked ...
        const nsgRules = byType(narrowed, "azure-native:network:NetworkSecurityGroup").flatMap((n) => (n.inputs.securityRules as any[]) ?? []);
        const api = nsgRules.find((r) => r.destinationPortRange === "6443");
        assert.deepStrictEqual(api.sourceAddressPrefixes, ["203.0.113.0/24"]);
        // ... and nothing denies traffic from inside the VNet (Azure's default AllowVnetInBound applies).
        assert.deepStrictEqual(nsgRules.filter((r) => r.direction === "Inbound" && r.access === "Deny"), []);

        // The internal load balancer: a private frontend in the masters' subnet, 6443 to every master.
        const ilb = one(narrowed, "azure-native:network:LoadBalancer", "aura-prod-control-plane-api-ilb");
        const [frontend] = ilb.inputs.frontendIPConfigurations as any[];
        assert.strictEqual(frontend.publicIPAddress, undefined);
        assert.strictEqual(frontend.privateIPAllocationMethod, "Static");
        const mastersSubnet = byType(narrowed, "azure-native:network:Subnet").find((s) => frontend.subnet.id.endsWith(`/subnets/${String(s.inputs.subnetName)}`));
        assert.ok(mastersSubnet && String(mastersSubnet.inputs.subnetName).startsWith("masters"), `frontend subnet ${frontend.subnet.id}`);
        assert.ok(cidrContains(mastersSubnet.inputs.addressPrefix as string, `${frontend.privateIPAddress}/32`));
        assert.ok(vnet.addressPrefixes.some((c) => cidrContains(c, `${frontend.privateIPAddress}/32`)));
        const [rule] = ilb.inputs.loadBalancingRules as any[];
        assert.deepStrictEqual([rule.frontendPort, rule.backendPort, rule.protocol], [6443, 6443, "Tcp"]);
        assert.match(rule.backendAddressPool.id, /api-ilb\/backendAddressPools\/masters$/);
        assert.strictEqual((ilb.inputs.probes as any[])[0].requestPath, "/readyz");
        const nics = byType(narrowed, "azure-native:network:NetworkInterface");
        assert.strictEqual(nics.length, 5);
        for (const nic of nics) assert.match(JSON.stringify(nic.inputs.ipConfigurations), /api-ilb\/backendAddressPools\/masters/);

        // Every node's boot points the API name at that frontend.
        const docs = [
            ...masters(narrowed).map((vm) => (vm.inputs.osProfile as any).customData),
            ...byType(narrowed, "azure-native:compute:VirtualMachineScaleSet").map((s) => (s.inputs.virtualMachineProfile as any).osProfile.customData),
        ].map(decode);
        assert.strictEqual(docs.length, 5 + byType(narrowed, "azure-native:compute:VirtualMachineScaleSet").length);
        for (const doc of docs) {
            const boot = ((yaml.load(doc) as any).write_files as Array<{ path: string; content: string }>).find((f) => f.path === "/usr/local/bin/aura-bootstrap.sh")!.content;
            assert.ok(boot.includes(`readonly API_INTERNAL_IP='${frontend.privateIPAddress}'`));
            assert.match(boot, /step api-route map_api_host "\$\{API_INTERNAL_IP\}"/);
        }
    });

    it("internalApiAddress takes the subnet's last usable address", () => {
        assert.strictEqual(internalApiAddress("10.240.0.0/24"), "10.240.0.254");
        assert.strictEqual(internalApiAddress("10.1.2.0/23"), "10.1.3.254");
        assert.strictEqual(internalApiAddress("10.240.0.8/29"), "10.240.0.14");
        assert.throws(() => internalApiAddress("10.240.0.0/30"), /\/29 or larger/);
    });
});

describe("infra stage: reproducible nodes", function () {
    this.timeout(120_000);

    it("pins the OS image version and sizes the etcd disk like CAPZ (256 GB Premium, no caching)", async () => {
        const prod = await plan({ profile: path.join(ROOT, "profiles", "prod.yaml"), stack: "prod" });
        assert.match(NODE_IMAGE.version, /^\d+\.\d+\.\d+$/, "an exact image version, never latest");
        for (const vm of masters(prod)) {
            assert.deepStrictEqual((vm.inputs.storageProfile as any).imageReference, NODE_IMAGE);
            const [disk] = (vm.inputs.storageProfile as any).dataDisks;
            assert.strictEqual(disk.caching, "None");
        }
        const disks = byType(prod, "azure-native:compute:Disk").filter((d) => d.name.endsWith("-etcd"));
        assert.strictEqual(disks.length, 5);
        for (const disk of disks) assert.deepStrictEqual([disk.inputs.diskSizeGB, (disk.inputs.sku as any).name], [256, "Premium_LRS"]);
        assert.strictEqual(ETCD_DISK_SPEC.diskSizeGB, 256);
        for (const set of byType(prod, "azure-native:compute:VirtualMachineScaleSet")) {
            assert.deepStrictEqual((set.inputs.virtualMachineProfile as any).storageProfile.imageReference, NODE_IMAGE);
        }
    });
});
