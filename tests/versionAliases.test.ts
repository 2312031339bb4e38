// The provider SDKs' API-version aliases are dropped before registration (components/versionAliases.ts),
// aliases the program writes itself are kept, and the plan shows every alias as the URN the engine
// would match.
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import * as resources from "@pulumi/azure-native/resources";
import { diffPlans } from "../cli/diff";
import { dropVersionAliases, isVersionAlias } from "../components/versionAliases";
import { ROOT, byType, one, plan } from "./helpers";
import { planProgram, testProvider } from "./k8s-helpers";

describe("API-version aliases", () => {
    it("recognises only a type-only alias naming the same resource under another API version or group", () => {
        const vmss = "azure-native:compute:VirtualMachineScaleSet";
        assert.ok(isVersionAlias({ type: "azure-native:compute/v20150615:VirtualMachineScaleSet" }, vmss));
        assert.ok(isVersionAlias({ type: "kubernetes:extensions/v1beta1:Deployment" }, "kubernetes:apps/v1:Deployment"));
        // Deliberate moves and renames stay.
        assert.ok(!isVersionAlias({ type: vmss }, vmss), "the resource's own type");
        assert.ok(!isVersionAlias({ type: "azure-native:compute:VirtualMachine" }, vmss), "another resource");
        assert.ok(!isVersionAlias({ type: "azure:compute/v1:VirtualMachineScaleSet" }, vmss), "another package");
        assert.ok(!isVersionAlias({ type: "aura:infra:Pool" }, "aura:infra:AgentPools"), "a component's old type");
        assert.ok(!isVersionAlias({ name: "old", type: "azure-native:compute/v20150615:VirtualMachineScaleSet" }, vmss), "a rename");
        assert.ok(!isVersionAlias({ type: "azure-native:compute/v20150615:VirtualMachineScaleSet", parent: pulumi.rootStackResource }, vmss), "a new parent");
        assert.ok(!isVersionAlias("urn:pulumi:dev::aura-platform::azure-native:compute/v20150615:VirtualMachineScaleSet::x", vmss), "a URN");
        assert.ok(!isVersionAlias(pulumi.output({ type: "azure-native:compute/v20150615:VirtualMachineScaleSet" }), vmss), "an output");
    });

    it("leaves a resource without SDK aliases untouched", () => {
        const opts = { aliases: [{ name: "old" }] };
        assert.strictEqual(dropVersionAliases({ resource: undefined as any, type: "aura:infra:InfraStage", name: "x", props: {}, opts }), undefined);
        assert.strictEqual(dropVersionAliases({ resource: undefined as any, type: "aura:infra:InfraStage", name: "x", props: {}, opts: {} }), undefined);
    });

    /** An Azure resource group renamed from `old-rg`, and a Namespace: what the SDKs alias. */
    const program = (drop: boolean) => () => {
        if (drop) pulumi.runtime.registerStackTransformation(dropVersionAliases);
        new resources.ResourceGroup("new-rg", { location: "westeurope" }, { aliases: [{ name: "old-rg" }] });
        new k8s.core.v1.Namespace("ns", {}, { provider: testProvider() });
    };

    it("under the transformation, registers only the program's own alias, as the URN the engine matches", async () => {
        const p = await planProgram(program(true));
        assert.deepStrictEqual(one(p, "azure-native:resources:ResourceGroup").options.aliases, ["urn:pulumi:dev::aura-platform::azure-native:resources:ResourceGroup::old-rg"]);
        assert.strictEqual(one(p, "kubernetes:core/v1:Namespace").options.aliases, undefined);
    });

    it("without it, the SDKs' aliases are there to drop (the plan shows each as a URN)", async () => {
        const p = await planProgram(program(false));
        const rg = one(p, "azure-native:resources:ResourceGroup").options.aliases ?? [];
        assert.ok(rg.length > 10, `an azure-native resource carries many version aliases, got ${rg.length}`);
        assert.ok(rg.includes("urn:pulumi:dev::aura-platform::azure-native:resources:ResourceGroup::old-rg"));
        assert.ok(rg.some((u) => /::azure-native:resources\/v\d{8}:ResourceGroup::new-rg$/.test(u)), rg.join("\n"));
    });

    it("the whole program registers no alias: none of its resources ever had a versioned type", async () => {
        const p = await plan({ profile: `${ROOT}/profiles/prod.yaml`, stack: "prod" });
        assert.ok(p.resources.length > 100);
        assert.deepStrictEqual(p.resources.filter((r) => r.options.aliases).map((r) => r.urn), []);
        // …and no resource uses a versioned azure-native module, which the dropped aliases would name.
        assert.deepStrictEqual(p.resources.filter((r) => /^azure-native:[^:]+\/v\d/.test(r.type)).map((r) => r.type), []);
        assert.ok(byType(p, "azure-native:compute:VirtualMachineScaleSet").length > 0);
    });

    it("aura diff carries a resource renamed with an alias over as a change", async () => {
        const before = await planProgram(() => {
            new resources.ResourceGroup("old-rg", { location: "westeurope" });
        });
        const after = await planProgram(program(true));
        const rg = diffPlans(before, after).resources.filter((r) => r.type === "azure-native:resources:ResourceGroup");
        assert.deepStrictEqual(
            rg.map((r) => [r.kind, r.renamedFrom]),
            [["changed", "urn:pulumi:dev::aura-platform::azure-native:resources:ResourceGroup::old-rg"]],
        );
    });
});
