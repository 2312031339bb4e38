// Where Alertmanager sends alerts: an optional webhook that takes Alertmanager's webhook format (an
// incident or paging service's Alertmanager integration, or a bridge to chat), set as a stack secret
// `aura:alertWebhookUrl`. The URL usually carries a token, so it never enters
// the chart's values or the plan: it lives in a Secret that the Alertmanager pods mount, and the
// Alertmanager configuration names only the file (`url_file`). Without it, alerts show in the
// Alertmanager and Grafana UIs only.
import * as pulumi from "@pulumi/pulumi";

/** The stack config key. */
export const ALERT_WEBHOOK_KEY = "aura:alertWebhookUrl";
/** The Secret (key `url`) the Alertmanager pods mount under /etc/alertmanager/secrets/<name>/. */
export const ALERT_WEBHOOK_SECRET = "alert-webhook";
/** The receiver's name in the Alertmanager configuration. */
export const ALERT_WEBHOOK_RECEIVER = "aura-webhook";

/**
 * Reads `aura:alertWebhookUrl`: undefined when unset, else the URL as a Pulumi secret. Refused (with
 * the command that sets it right, never echoing the value) unless it is stored as a secret and is an
 * https URL.
 */
export function readAlertWebhook(raw: string | undefined, storedAsSecret: boolean, stack: string): pulumi.Output<string> | undefined {
    if (raw === undefined || raw.trim() === "") return undefined;
    const fix = `pulumi config set --secret ${ALERT_WEBHOOK_KEY} https://… -s ${stack}`;
    const where = `Pulumi.${stack}.yaml: ${ALERT_WEBHOOK_KEY}`;
    if (!storedAsSecret) {
        throw new Error(`${where}: must be stored as a secret (a webhook URL usually carries a token, and the stack file is committed): ${fix}`);
    }
    let url: URL | undefined;
    try {
        url = new URL(raw.trim());
    } catch {
        url = undefined;
    }
    if (!url || url.protocol !== "https:" || !url.hostname) {
        const got = url ? `a ${url.protocol.replace(/:$/, "")} URL` : "not a URL";
        throw new Error(`${where}: must be an https URL such as https://alerts.example.com/hooks/aura — got ${got}: ${fix}`);
    }
    return pulumi.secret(raw.trim());
}

/** The kube-prometheus-stack values that route every alert to the webhook (merged into the chart's own). */
export function alertWebhookValues(): { alertmanagerSpec: Record<string, unknown>; config: Record<string, unknown> } {
    return {
        alertmanagerSpec: { secrets: [ALERT_WEBHOOK_SECRET] },
        config: {
            // Merged by Helm into the chart's route, whose Watchdog heartbeat keeps going to "null".
            route: { receiver: ALERT_WEBHOOK_RECEIVER },
            // A list replaces the chart's, so "null" is listed again.
            receivers: [
                { name: "null" },
                {
                    name: ALERT_WEBHOOK_RECEIVER,
                    webhook_configs: [{ url_file: `/etc/alertmanager/secrets/${ALERT_WEBHOOK_SECRET}/url`, send_resolved: true }],
                },
            ],
        },
    };
}
