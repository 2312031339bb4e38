// Alert routing: the stack secret aura:alertWebhookUrl sends every alert to a webhook, through a
// Secret the Alertmanager pods mount; the URL never reaches the chart's values or the plan.
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { PLACEHOLDER_ALERT_WEBHOOK, offlineConfig, secureStackKeys, stackConfig } from "../cli/main";
import { Plan } from "../cli/plan";
import { ALERT_WEBHOOK_KEY, readAlertWebhook } from "../components/system/alerting";
import { ProfileError } from "../profiles";
import { ROOT, plan, tempFile } from "./helpers";
import { CHART_TYPE } from "./k8s-helpers";

const DEV = path.join(ROOT, "profiles", "dev.yaml");
const HOOK = "https://hooks.example.com/services/T000/B000/abcdefSECRETtoken";

function monitoringValues(p: Plan): any {
    const chart = p.resources.find((r) => r.type === CHART_TYPE && r.name.endsWith("-monitoring-kube-prometheus-stack"));
    assert.ok(chart, "the kube-prometheus-stack chart");
    return chart.inputs.values;
}

describe("alert routing (stack secret aura:alertWebhookUrl)", () => {
    let withHook: Plan;
    let without: Plan;
    before(async function () {
        this.timeout(120_000);
        // One after the other: a plan sets the Pulumi runtime's global state.
        withHook = await plan({ profile: DEV, stack: "dev", config: { [ALERT_WEBHOOK_KEY]: HOOK }, secretConfigKeys: [ALERT_WEBHOOK_KEY] });
        without = await plan({ profile: DEV, stack: "dev" });
    });

    it("routes every alert but the Watchdog heartbeat to the webhook, read from a file of a mounted Secret", () => {
        const alertmanager = monitoringValues(withHook).alertmanager;
        assert.deepStrictEqual(alertmanager.alertmanagerSpec.secrets, ["alert-webhook"]);
        assert.deepStrictEqual(alertmanager.config.route, { receiver: "aura-webhook" }, "merged into the chart's route, whose Watchdog route stays");
        assert.deepStrictEqual(alertmanager.config.receivers, [
            { name: "null" },
            { name: "aura-webhook", webhook_configs: [{ url_file: "/etc/alertmanager/secrets/alert-webhook/url", send_resolved: true }] },
        ]);
        const secret = withHook.resources.find((r) => r.type === "kubernetes:core/v1:Secret" && (r.inputs.metadata as any).name === "alert-webhook");
        assert.ok(secret, "the Secret the pods mount");
        assert.strictEqual((secret.inputs.metadata as any).namespace, "aura-system");
        assert.strictEqual(secret.inputs.stringData, "[secret]");
        const chart = withHook.resources.find((r) => r.type === CHART_TYPE && r.name.endsWith("-monitoring-kube-prometheus-stack"))!;
        assert.ok(chart.options.dependsOn?.includes(secret.urn), "the Secret exists before the Alertmanager pods mount it");
        assert.doesNotMatch(JSON.stringify(withHook), /SECRETtoken|hooks\.example\.com/, "the URL appears nowhere in the plan");
    });

    it("without it, leaves the chart's configuration (alerts in the Alertmanager and Grafana UIs only)", () => {
        const alertmanager = monitoringValues(without).alertmanager;
        assert.strictEqual(alertmanager.config, undefined);
        assert.strictEqual(alertmanager.alertmanagerSpec.secrets, undefined);
        assert.ok(!without.resources.some((r) => (r.inputs.metadata as any)?.name === "alert-webhook"));
    });

    it("refuses a URL stored in plain text or not https, naming the key and the command, never echoing the value", async () => {
        assert.strictEqual(readAlertWebhook(undefined, true, "dev"), undefined);
        assert.ok(pulumi.Output.isInstance(readAlertWebhook(HOOK, true, "dev")));
        const cases: Array<[string, boolean, RegExp]> = [
            [HOOK, false, /^Pulumi\.dev\.yaml: aura:alertWebhookUrl: must be stored as a secret .*: pulumi config set --secret aura:alertWebhookUrl https:\/\/… -s dev$/],
            ["http://hooks.example.com/x?token=abc", true, /must be an https URL .* — got a http URL: pulumi config set --secret/],
            ["hooks.example.com/token-abc", true, /must be an https URL .* — got not a URL/],
        ];
        for (const [value, secret, expected] of cases) {
            assert.throws(() => readAlertWebhook(value, secret, "dev"), (e: Error) => {
                assert.match(e.message, expected);
                assert.ok(!/abc|SECRETtoken/.test(e.message), `no value in: ${e.message}`);
                return true;
            });
        }
        await assert.rejects(plan({ profile: DEV, stack: "dev", config: { [ALERT_WEBHOOK_KEY]: HOOK } }), /aura:alertWebhookUrl: must be stored as a secret/);
    });

    it("aura plan stands a placeholder in for the stack's secret, which it cannot decrypt", () => {
        const stackFile = tempFile("Pulumi.qa.yaml", `config:\n  aura:profile: profiles/dev.yaml\n  ${ALERT_WEBHOOK_KEY}:\n    secure: v1:AAAAAAAAAAAAAAAA:BBBBBBBB\n`);
        const root = path.dirname(stackFile);
        assert.deepStrictEqual(secureStackKeys("qa", root), [ALERT_WEBHOOK_KEY]);
        fs.writeFileSync(stackFile, "config:\n  aura:profile: profiles/dev.yaml\n");
        assert.deepStrictEqual(secureStackKeys("qa", root), []);
        assert.deepStrictEqual(secureStackKeys("nosuchstack", root), []);
        // A value reads as the Pulumi CLI gives it to the program: a number or boolean as its typed
        // value's text (YAML 1.1 octals included), null as "", a quoted string as written, a list or mapping as JSON.
        fs.writeFileSync(
            stackFile,
            "config:\n  aura:profile: profiles/dev.yaml\n  aura:secrets.pin: 1234\n  aura:flag: True\n  aura:hex: 0x10\n  aura:octal: 010\n  aura:float: 1.0\n" +
                "  aura:quoted: '0x10'\n  aura:none: ~\n  aura:list: [1, {a: b}]\n  aura:notSecure: {secure: x, other: y}\n" +
                "  aura:config:legacy: x\n  aura:prefixOnly: 0x_\n  aura:date: 2026-11-27 # a rotation label\n  aura:quotedDate: \"2026-11-27\"\n  aura:underscored: 1_000\n  aura:binary: 0B101\n  aura:negativeHex: -0x10\n  aura:big: 9007199254740993\n",
        );
        assert.deepStrictEqual(stackConfig("qa", root), {
            "aura:profile": "profiles/dev.yaml",
            "aura:secrets.pin": "1234",
            "aura:flag": "true",
            "aura:hex": "16",
            "aura:octal": "8",
            "aura:float": "1",
            "aura:quoted": "0x10",
            "aura:none": "",
            "aura:list": '[1,{"a":"b"}]',
            "aura:notSecure": '{"secure":"x","other":"y"}',
            // Where Go's YAML reader and YAML 1.2 disagree, as Go's gives it.
            "aura:date": "2026-11-27 00:00:00 +0000 UTC",
            "aura:quotedDate": "2026-11-27",
            "aura:underscored": "1000",
            "aura:binary": "5",
            "aura:negativeHex": "-16",
            "aura:big": "9007199254740993",
            "aura:prefixOnly": "0x_",
            // The legacy spelling of a key, as Pulumi reads it.
            "aura:legacy": "x",
        });
        // What pulumi up would pass on in a form the plan cannot show, or not read at all: quote it.
        for (const [value, why] of [["2026-11-27T10:00:00Z", /is a timestamp, which pulumi up passes on in Go's own format: quote it/], [".inf", /is not a number pulumi up can read: quote it/]] as const) {
            fs.writeFileSync(stackFile, `config:\n  aura:profile: profiles/dev.yaml\n  aura:servicePrincipalRotation: ${value}\n`);
            assert.throws(() => stackConfig("qa", root), (e: Error) => e instanceof ProfileError && e.message.startsWith(`Pulumi.qa.yaml: config.aura:servicePrincipalRotation: ${value} `) && why.test(e.message));
        }
        assert.doesNotThrow(() => readAlertWebhook(PLACEHOLDER_ALERT_WEBHOOK, true, "qa"), "the placeholder passes the check");
    });

    it("refuses a stack file Pulumi could not read either, naming it, and says when there is none", () => {
        const stackFile = tempFile("Pulumi.qa.yaml", "");
        const root = path.dirname(stackFile);
        const bad: Array<[string, RegExp]> = [
            ["config:\n  aura:profile: [\n", /is not valid YAML: .*line \d+/],
            ["config:\n  aura:profile: a\n  aura:profile: b\n", /is not valid YAML: duplicated mapping key/],
            ["config:\n  aura:profile: !!js/function 'x'\n", /is not valid YAML: unknown .*tag/],
            ["- config\n", /must be a mapping with a config: key/],
            ["config:\n  - aura:profile\n", /config: must be a mapping of keys such as aura:profile/],
            ["config:\n  aura:alertWebhookUrl:\n    secure: ''\n", /config\.aura:alertWebhookUrl\.secure: must be the ciphertext .* pulumi config set --secret aura:alertWebhookUrl <value> -s qa/],
        ];
        for (const [text, why] of bad) {
            fs.writeFileSync(stackFile, text);
            assert.throws(() => offlineConfig("qa", undefined, root), (e: unknown) => e instanceof ProfileError && e.message.startsWith("Pulumi.qa.yaml: ") && why.test(e.message), text);
        }
        fs.rmSync(stackFile);
        fs.mkdirSync(stackFile);
        assert.throws(() => offlineConfig("qa", undefined, root), /Pulumi\.qa\.yaml: cannot read the stack's config: is a folder/);
        fs.rmdirSync(stackFile);
        assert.match(offlineConfig("qa", undefined, root).placeholders[0], /there is no Pulumi\.qa\.yaml \(check --stack, or create the stack: pulumi stack init qa\)/);
    });
});
