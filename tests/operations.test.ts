// The runbook (docs/operations.md) covers every procedure of the seed's runbook, each with the old
// command beside the new form, and the profile edits it prescribes are ones the profile accepts.
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as yaml from "js-yaml";
import { parseProfile } from "../profiles";
import { ROOT } from "./helpers";

const RUNBOOK = fs.readFileSync(path.join(ROOT, "docs", "operations.md"), "utf8");

/** The text of the `## title` section. */
function section(title: string): string {
    const start = RUNBOOK.indexOf(`\n## ${title}\n`);
    assert.ok(start >= 0, `docs/operations.md has a section "${title}"`);
    const end = RUNBOOK.indexOf("\n## ", start + 4);
    return RUNBOOK.slice(start, end === -1 ? undefined : end);
}

/** The seed runbook's procedures → the old command each section must show beside the new form. */
const PROCEDURES: Record<string, RegExp> = {
    "Scale a deployment (core service)": /kubectl scale deployment aura-bot --replicas=6/,
    "Scale a statefulset (system service)": /kubectl scale statefulsets elasticsearch --replicas=7/,
    "Add or remove nodes": /cluster-autoscaler/,
    "Change instance types": /\.\/aura deploy_\*/,
    "Restart or rejoin a master": /restart the VM in the portal/,
    "Drain and replace a node": /kubectl drain <node>/,
    "Rotate the service principal": /aks-engine#724/,
    "Give a user a kubeconfig": /root kubeconfig/,
    "Read logs": /kubectl logs -f -l app=aura-bot -n aura-\$ENV/,
    "Upgrade Kubernetes": /aks-engine upgrade/,
};

describe("operations runbook", () => {
    for (const [title, old] of Object.entries(PROCEDURES)) {
        it(`covers "${title}" with the old way beside the new`, () => {
            const text = section(title);
            assert.match(text, /\| before \| now \|/);
            assert.match(text, old);
        });
    }

    it("does hand changes as a profile change + pulumi up", () => {
        for (const title of ["Scale a deployment (core service)", "Scale a statefulset (system service)", "Add or remove nodes", "Change instance types", "Give a user a kubeconfig"]) {
            assert.match(section(title), /profile `[a-z_.<>-]+/, `${title}: names the profile key`);
            assert.match(section(title), /change procedure/, `${title}: then the change procedure`);
        }
        assert.match(section("The change procedure (used by every section below)"), /pulumi up -s \$ENV/);
        assert.match(section("Rotate the service principal"), /pulumi config set aura:servicePrincipalRotation 2 -s \$ENV.*pulumi up -s \$ENV/s);
    });

    it("rolls the agents after a Kubernetes upgrade with a script shellcheck accepts", () => {
        const text = section("Upgrade Kubernetes");
        assert.match(text, /profile `kubernetes\.version`/);
        assert.match(text, /Running agents keep theirs/);
        const script = /```sh\n([\s\S]*?)```/.exec(text)?.[1];
        assert.ok(script, "a shell block");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aura-runbook-"));
        try {
            const file = path.join(dir, "roll.sh");
            fs.writeFileSync(file, `#!/usr/bin/env bash\nENV=dev\n${script}`);
            const r = spawnSync("shellcheck", ["-s", "bash", file], { encoding: "utf8" });
            assert.strictEqual(r.error, undefined, "shellcheck is installed (scripts/install-validators.sh)");
            assert.strictEqual(r.status, 0, r.stdout);
            // Run against stand-in kubectl and az: a node that does not drain, or does not come back,
            // stops the roll; no undrained node is reimaged, no unready one uncordoned.
            const log = path.join(dir, "calls.log");
            const stub = (name: string, body: string) => fs.writeFileSync(path.join(dir, name), `#!/bin/bash\necho "${name} $*" >> '${log}'\n${body}\n`, { mode: 0o755 });
            stub("kubectl", [
                'case "$1" in',
                "  get) if [ \"$2\" = nodes ]; then printf 'node/a\\nnode/b\\n'; else echo /subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachineScaleSets/aura-dev-common-z1/virtualMachines/7; fi ;;",
                '  drain) [ "$2" != "$FAIL_DRAIN" ] ;;',
                '  wait) [ "$2" != "$FAIL_WAIT" ] ;;',
                "esac",
            ].join("\n"));
            stub("az", "exit 0");
            const run = (env: Record<string, string>) => {
                fs.rmSync(log, { force: true });
                spawnSync("bash", [file], { encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, ...env } });
                return fs.readFileSync(log, "utf8").trim().split("\n").filter((l) => !l.startsWith("kubectl get"));
            };
            assert.deepStrictEqual(run({}), [
                "kubectl drain node/a --ignore-daemonsets --delete-emptydir-data --timeout=10m",
                "az vmss reimage -g aura-dev-rg -n aura-dev-common-z1 --instance-ids 7",
                "kubectl wait node/a --for=condition=Ready --timeout=20m",
                "kubectl uncordon node/a",
                "kubectl drain node/b --ignore-daemonsets --delete-emptydir-data --timeout=10m",
                "az vmss reimage -g aura-dev-rg -n aura-dev-common-z1 --instance-ids 7",
                "kubectl wait node/b --for=condition=Ready --timeout=20m",
                "kubectl uncordon node/b",
            ]);
            assert.deepStrictEqual(run({ FAIL_DRAIN: "node/a" }), ["kubectl drain node/a --ignore-daemonsets --delete-emptydir-data --timeout=10m"]);
            assert.deepStrictEqual(run({ FAIL_WAIT: "node/a" }), [
                "kubectl drain node/a --ignore-daemonsets --delete-emptydir-data --timeout=10m",
                "az vmss reimage -g aura-dev-rg -n aura-dev-common-z1 --instance-ids 7",
                "kubectl wait node/a --for=condition=Ready --timeout=20m",
            ]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("prescribes profile edits the profile accepts", () => {
        const dev = yaml.load(fs.readFileSync(path.join(ROOT, "profiles", "dev.yaml"), "utf8")) as any;
        dev.core.services["aura-bot"].service_replicas = 6;
        dev.system.elasticsearch.replicas = 7;
        dev.infrastructure.compute.common_nodes.min_size = 0;
        dev.infrastructure.compute.batch_nodes = { min_size: 0, max_size: 4, type: "Standard_DS3_v2" };
        dev.infrastructure.compute.common_nodes.type = "Standard_DS3_v2";
        dev.access.users.push({ name: "jane", role: "edit" });
        const profile = parseProfile(yaml.dump(dev), { file: "edited.yaml", stack: "dev" });
        assert.strictEqual(profile.core.services["aura-bot"].service_replicas, 6);
        assert.ok(profile.pools.some((p) => p.name === "batch"));
        for (const key of ["core.services.aura-bot.service_replicas", "system.elasticsearch.replicas", "access.users", "infrastructure.compute.<pool>_nodes.type"]) {
            assert.ok(RUNBOOK.includes(key), key);
        }
    });
});
