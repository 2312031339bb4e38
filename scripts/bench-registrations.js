// The benchmark's registration minimum (scripts/bench.js): what the Pulumi SDK and the plan's mock
// engine cost for resources that carry almost nothing. `node bench-registrations.js <custom>
// <components>` registers that many custom resources (a ConfigMap or a network interface with two
// inputs each, alternately) spread over that many component resources, through the same runPlan as
// `aura plan` with the program's stack transformation. bench.js runs it with plan(prod)'s counts and
// with none: the difference is the part of a plan that no program of that size avoids on this SDK.
"use strict";
Error.stackTraceLimit = 0; // as bin/aura.js
require("../cli/transpile").register();
const pulumi = require("@pulumi/pulumi");
const network = require("@pulumi/azure-native/network");
const k8s = require("@pulumi/kubernetes");
const { runPlan } = require("../cli/plan");
const { dropVersionAliases } = require("../components/versionAliases");

const [custom, components] = process.argv.slice(2).map(Number);

function program() {
    pulumi.runtime.registerStackTransformation(dropVersionAliases);
    const groups = Array.from({ length: components }, (_, i) => new pulumi.ComponentResource("aura:bench:Group", `group-${i}`));
    const provider = custom > 0 ? new k8s.Provider("bench", { kubeconfig: "{}" }) : undefined;
    for (let i = 1; i < custom; i++) {
        const parent = groups.length ? groups[i % groups.length] : undefined;
        if (i % 2) {
            new network.NetworkInterface(`nic-${i}`, { resourceGroupName: "rg", location: "westeurope" }, { parent });
        } else {
            new k8s.core.v1.ConfigMap(`cm-${i}`, { metadata: { name: `cm-${i}` }, data: { key: "value" } }, { parent, provider });
        }
    }
    for (const g of groups) g.registerOutputs({});
}

runPlan({ profile: "(registrations)", stack: "bench", program }).then(
    (plan) => process.stdout.write(`${JSON.stringify({ resources: plan.resources.length })}\n`),
    (err) => {
        process.stderr.write(`${err && err.message ? err.message : err}\n`);
        process.exitCode = 1;
    },
);
