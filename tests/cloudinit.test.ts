import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import * as yaml from "js-yaml";
import { TEST_CLUSTER } from "./boot-stubs";

import {
  AUDIT_LOG_DIR,
  AUDIT_POLICY_PATH,
  BOOTSTRAP_SCRIPT_PATH,
  CUSTOM_DATA_MAX_BYTES,
  ETCD_DISK,
  JOIN_TEMPLATE_CA_HASH_PLACEHOLDER,
  JOIN_TEMPLATE_TOKEN_PLACEHOLDER,
  JOIN_TOKEN_SCRIPT_PATH,
  KUBEADM_API_VERSION,
  KUBEADM_INIT_TEMPLATE_PATH,
  KUBEADM_JOIN_TEMPLATE_PATH,
  METADATA_BLOBS,
  METADATA_PKI_BLOBS,
  MetadataSource,
  NODE_IP_PLACEHOLDER,
  POD_IMDS_RULES_PATH,
  RENEW_CERTS_SCRIPT_PATH,
  encodeCustomData,
  renderAgentCloudInit,
  renderMasterCloudInit,
  renderMasterSettleScript,
  renderMasterUpgradeScript,
} from "../components/infra/cloudinit";
import { monitoringValues } from "../components/system/monitoring";

// ---------------------------------------------------------------------------
// Realistic test values
// ---------------------------------------------------------------------------

const CLUSTER = TEST_CLUSTER;

const METADATA: MetadataSource = {
  blobEndpoint: "https://auraprodmeta01.blob.core.windows.net/",
  identityClientId: "6f1c2e0a-93b4-4d7e-8a51-2c9f0e7b3d14",
};
const AGENT_METADATA: MetadataSource = { ...METADATA, identityClientId: "0b7d4c1e-2f3a-4b5c-9d6e-7f8091a2b3c4" };

const CA_HASH = "sha256:3b5d5c3712955042212316173ccf37be800e8f1ccf7e7e4ebc8ae8a06a4b6ad0";

const DOCS = {
  master: renderMasterCloudInit({ ...CLUSTER, metadata: METADATA }),
  agentSystem: renderAgentCloudInit({ ...CLUSTER, pool: "system", caCertHash: CA_HASH, metadata: AGENT_METADATA }),
  agentUser: renderAgentCloudInit({ ...CLUSTER, pool: "userpool1", caCertHash: CA_HASH, metadata: AGENT_METADATA }),
};
/** Every script a master runs: the boot, the timers' scripts and the Run Command's upgrade. */
const MASTER_SCRIPTS: Record<string, string> = {
  upgrade: renderMasterUpgradeScript({ ...CLUSTER, metadata: METADATA }),
  settle: renderMasterSettleScript({ ...CLUSTER, metadata: METADATA, vmSize: "Standard_D4s_v5" }),
};
type DocName = keyof typeof DOCS;
const DOC_NAMES = Object.keys(DOCS) as DocName[];

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

interface WriteFile {
  path: string;
  content: string;
  permissions?: string;
  owner?: string;
}
interface CloudConfig {
  write_files: WriteFile[];
  runcmd: Array<string | string[]>;
  disk_setup?: Record<string, Record<string, unknown>>;
  fs_setup?: Array<Record<string, unknown>>;
  mounts?: string[][];
}
type KubeadmDoc = Record<string, any>;

let tmpDir: string;

function parseDoc(doc: string): CloudConfig {
  return yaml.load(doc) as CloudConfig;
}

function file(doc: string, filePath: string): WriteFile {
  const f = parseDoc(doc).write_files.find((w) => w.path === filePath);
  assert.ok(f, `write_files has no ${filePath}`);
  return f;
}

function script(doc: string): string {
  return file(doc, BOOTSTRAP_SCRIPT_PATH).content;
}

/** Parses a kubeadm configuration the way a YAML 1.1 reader (kubeadm / PyYAML) would type scalars. */
function kubeadmDocs(content: string): KubeadmDoc[] {
  return yaml.loadAll(content, { schema: yaml.YAML11_SCHEMA }) as KubeadmDoc[];
}

function byKind(docs: KubeadmDoc[], kind: string): KubeadmDoc {
  const d = docs.find((x) => x.kind === kind);
  assert.ok(d, `no ${kind} document`);
  return d;
}

function argValue(args: Array<{ name: string; value: string }>, name: string): string | undefined {
  return args.find((a) => a.name === name)?.value;
}

function assertArgList(args: unknown): asserts args is Array<{ name: string; value: string }> {
  assert.ok(Array.isArray(args), `expected a list of {name, value} (kubeadm v1beta4), got ${JSON.stringify(args)}`);
  for (const a of args) {
    assert.deepEqual(Object.keys(a).sort(), ["name", "value"]);
    assert.equal(typeof a.name, "string");
    assert.equal(typeof a.value, "string");
  }
}

/** Fails (never skips) when a validator is missing. */
function requireTool(tool: string): void {
  const r = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" });
  if (r.status !== 0) {
    assert.fail(`${tool} is not installed: run scripts/install-validators.sh (installs cloud-init and shellcheck)`);
  }
}

function writeTemp(name: string, content: string): string {
  const p = path.join(tmpDir, name);
  fs.writeFileSync(p, content);
  return p;
}

before(() => {
  tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "aura-cloudinit-test-"));
});

after(() => {
  fs.rmSync(tmpDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
// Independent validators
// ---------------------------------------------------------------------------

describe("cloudinit: cloud-init schema validation", () => {
  for (const name of DOC_NAMES) {
    it(`${name}: \`cloud-init schema --config-file\` accepts the document`, () => {
      requireTool("cloud-init");
      const p = writeTemp(`${name}.yaml`, DOCS[name]);
      const r = spawnSync("cloud-init", ["schema", "--config-file", p], { encoding: "utf8" });
      const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
      assert.equal(r.error, undefined, String(r.error));
      assert.equal(r.status, 0, `cloud-init schema failed for ${name}:\n${out}`);
      assert.match(out, /\bvalid\b/i, `unexpected cloud-init schema output:\n${out}`);
      assert.doesNotMatch(out, /\berror/i, out);
    });
  }

  it("the validator really rejects a broken document", () => {
    requireTool("cloud-init");
    const broken = DOCS.master.replace("permissions: '0755'", "permissions: 0755\n    bogus: true");
    const p = writeTemp("broken.yaml", broken);
    const r = spawnSync("cloud-init", ["schema", "--config-file", p], { encoding: "utf8" });
    assert.notEqual(r.status, 0, "cloud-init schema accepted an invalid document");
  });
});

describe("cloudinit: shellcheck on every embedded script", () => {
  for (const name of DOC_NAMES) {
    it(`${name}: all write_files scripts and runcmd strings pass shellcheck -s bash`, () => {
      requireTool("shellcheck");
      const cfg = parseDoc(DOCS[name]);
      const scripts: Array<[string, string]> = cfg.write_files
        .filter((f) => f.content.startsWith("#!"))
        .map((f) => [f.path, f.content]);
      cfg.runcmd.forEach((c, i) => {
        if (typeof c === "string") scripts.push([`runcmd[${i}]`, `#!/usr/bin/env bash\n${c}\n`]);
      });
      assert.ok(scripts.length >= 1, "no shell script found in write_files");
      if (name === "master") {
        assert.equal(scripts.length, 3, "boot, certificate renewal and join token scripts");
        for (const [label, content] of Object.entries(MASTER_SCRIPTS)) scripts.push([label, content]);
      }
      for (const [label, content] of scripts) {
        const p = writeTemp(`${name}-${path.basename(label)}.sh`, content);
        const r = spawnSync("shellcheck", ["-s", "bash", p], { encoding: "utf8" });
        assert.equal(r.error, undefined, String(r.error));
        assert.equal(r.status, 0, `shellcheck failed for ${name} ${label}:\n${r.stdout}${r.stderr}`);
      }
    });
  }
});

// ---------------------------------------------------------------------------
// Document structure and semantics
// ---------------------------------------------------------------------------

describe("cloudinit: the nodes' firewall rules", () => {
  /** `nft -c -f` (check only: nothing is loaded); as root, or else in a user and network namespace of its own. */
  function nftCheck(rules: string): ReturnType<typeof spawnSync> {
    const p = writeTemp("rules.nft", rules);
    const nft = fs.existsSync("/usr/sbin/nft") ? "/usr/sbin/nft" : "nft";
    const r = process.getuid?.() === 0 ? spawnSync(nft, ["-c", "-f", p], { encoding: "utf8" }) : spawnSync("unshare", ["-rn", nft, "-c", "-f", p], { encoding: "utf8" });
    assert.equal(r.error, undefined, `${String(r.error)}: run scripts/install-validators.sh (installs nftables)`);
    return r;
  }

  it("nft accepts the metadata-endpoint rules every node loads, and refuses a broken variant", () => {
    const rules = file(DOCS.master, POD_IMDS_RULES_PATH).content;
    assert.equal(rules, file(DOCS.agentSystem, POD_IMDS_RULES_PATH).content, "masters and agents load the same rules");
    const ok = nftCheck(rules);
    assert.equal(ok.status, 0, `nft -c refused the rules:\n${String(ok.stderr)}`);
    const broken = nftCheck(rules.replace("65532 }", "65532"));
    assert.notEqual(broken.status, 0, "nft -c accepted a broken rule set");
  });
});

describe("cloudinit: common structure", () => {
  for (const name of DOC_NAMES) {
    it(`${name}: #cloud-config header, boot script written and run`, () => {
      const doc = DOCS[name];
      assert.equal(doc.split("\n")[0], "#cloud-config");
      const cfg = parseDoc(doc);
      const s = file(doc, BOOTSTRAP_SCRIPT_PATH);
      assert.equal(s.permissions, "0755");
      assert.ok(s.content.startsWith("#!/usr/bin/env bash\n"));
      assert.match(s.content, /^set -euo pipefail$/m);
      const code = s.content
        .split("\n")
        .filter((l) => !/^\s*#/.test(l))
        .join("\n");
      assert.doesNotMatch(code, /set\s+-[a-z]*x|set\s+-o\s+xtrace|bash\s+-x/, "scripts must not trace (secrets)");
      assert.match(s.content, /\/var\/log\/aura-bootstrap\.log/);
      assert.match(s.content, /\/var\/lib\/aura/, "state and idempotency markers");
      assert.match(s.content, /DONE_MARKER="\$\{STATE_DIR\}\/bootstrap\.done"/);
      // cloud-init only hands the boot to systemd, which retries it.
      assert.deepEqual(cfg.runcmd, [
        ["systemctl", "daemon-reload"],
        ["systemctl", "enable", "aura-bootstrap.service"],
        ["systemctl", "start", "--no-block", "aura-bootstrap.service"],
      ]);
      for (const f of cfg.write_files) {
        assert.equal(typeof f.permissions, "string", `${f.path}: permissions must be a quoted octal string`);
        assert.match(f.permissions!, /^0[0-7]{3}$/);
      }
      // kernel modules, sysctls, swap, containerd, pinned packages
      assert.equal(file(doc, "/etc/modules-load.d/aura-kubernetes.conf").content, "overlay\nbr_netfilter\n");
      const sysctl = file(doc, "/etc/sysctl.d/99-aura-kubernetes.conf").content;
      assert.match(sysctl, /^net\.ipv4\.ip_forward = 1$/m);
      assert.match(sysctl, /^net\.bridge\.bridge-nf-call-iptables = 1$/m);
      assert.match(s.content, /swapoff -a/);
      assert.match(s.content, /SystemdCgroup = true/);
      assert.match(s.content, /"containerd=\$\{CONTAINERD_VERSION\}"/);
      assert.match(s.content, /^readonly CONTAINERD_VERSION='2\.2\.1-0ubuntu1~24\.04\.\*'$/m, "containerd pinned (pins.ts)");
      assert.match(s.content, /apt-mark hold containerd/);
      // Pods never reach the instance metadata endpoint; host-network ones only as root or 65532.
      const rules = file(doc, POD_IMDS_RULES_PATH).content;
      assert.match(rules, /type filter hook prerouting priority -400; policy accept;\n\s+ip daddr 169\.254\.169\.254 counter drop/);
      assert.match(rules, /type filter hook output priority -400; policy accept;\n\s+ip daddr 169\.254\.169\.254 meta skuid != \{ 0, 65532 \} counter drop/);
      assert.match(s.content, /^step imds-block block_pod_imds$|^\s+step imds-block block_pod_imds$/m);
      assert.match(s.content, /https:\/\/pkgs\.k8s\.io\/core:\/stable:\/v\$\{minor\}\/deb\//);
      assert.match(s.content, /^readonly K8S_VERSION='1\.33\.5'$/m);
      assert.match(s.content, /"kubelet=\$\{K8S_VERSION\}-\*" "kubeadm=\$\{K8S_VERSION\}-\*" "kubectl=\$\{K8S_VERSION\}-\*"/);
      assert.match(s.content, /apt-mark hold kubelet kubeadm kubectl/);
    });
  }
});

describe("cloudinit: master", () => {
  const doc = DOCS.master;

  it("formats and mounts the etcd data disk like CAPZ, and the kubelet waits for it", () => {
    const cfg = parseDoc(doc);
    assert.deepEqual(cfg.disk_setup, {
      [ETCD_DISK.device]: { table_type: "gpt", layout: true, overwrite: false },
    });
    assert.equal(ETCD_DISK.device, "/dev/disk/azure/scsi1/lun0");
    assert.equal(cfg.fs_setup?.length, 1);
    assert.equal(cfg.fs_setup![0].label, "etcd_disk");
    assert.equal(cfg.fs_setup![0].filesystem, "ext4");
    assert.equal(cfg.fs_setup![0].device, "/dev/disk/azure/scsi1/lun0");
    assert.deepEqual(cfg.mounts, [["LABEL=etcd_disk", "/var/lib/etcddisk"]]);
    assert.equal(
      file(doc, "/etc/systemd/system/kubelet.service.d/05-aura-etcd-disk.conf").content,
      "[Unit]\nRequiresMountsFor=/var/lib/etcddisk\n",
    );
  });

  it("kubeadm v1beta4 Init/Cluster configuration template", () => {
    const f = file(doc, KUBEADM_INIT_TEMPLATE_PATH);
    assert.equal(f.permissions, "0600");
    const docs = kubeadmDocs(f.content);
    const init = byKind(docs, "InitConfiguration");
    const cluster = byKind(docs, "ClusterConfiguration");
    assert.equal(init.apiVersion, KUBEADM_API_VERSION);
    assert.equal(cluster.apiVersion, "kubeadm.k8s.io/v1beta4");
    assert.equal(byKind(docs, "KubeletConfiguration").cgroupDriver, "systemd");

    assertArgList(init.nodeRegistration.kubeletExtraArgs);
    assert.equal(argValue(init.nodeRegistration.kubeletExtraArgs, "cloud-provider"), "external");
    assert.equal(argValue(init.nodeRegistration.kubeletExtraArgs, "node-ip"), NODE_IP_PLACEHOLDER);

    assert.equal(cluster.clusterName, "aura-prod");
    assert.equal(cluster.kubernetesVersion, "v1.33.5");
    assert.equal(cluster.controlPlaneEndpoint, "aura-prod-api.westeurope.cloudapp.azure.com:6443");
    assert.deepEqual(cluster.networking, { podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12" });
    assert.equal(cluster.etcd.local.dataDir, "/var/lib/etcddisk/etcd");
    assert.ok(cluster.apiServer.certSANs.includes(CLUSTER.apiServerHost));
    assert.ok(cluster.apiServer.certSANs.includes(CLUSTER.apiServerInternalIp), "nodes may use the internal address");

    const apiArgs = cluster.apiServer.extraArgs;
    assertArgList(apiArgs);
    assert.equal(argValue(apiArgs, "audit-policy-file"), "/etc/kubernetes/audit-policy.yaml");
    assert.equal(argValue(apiArgs, "audit-log-path"), "/var/log/kubernetes/audit/audit.log");
    for (const n of ["audit-log-maxage", "audit-log-maxbackup", "audit-log-maxsize"]) {
      assert.match(argValue(apiArgs, n) ?? "", /^\d+$/, n);
    }
    const vols: Array<Record<string, unknown>> = cluster.apiServer.extraVolumes;
    const policyVol = vols.find((v) => v.hostPath === AUDIT_POLICY_PATH);
    const logVol = vols.find((v) => v.hostPath === AUDIT_LOG_DIR);
    assert.ok(policyVol && logVol);
    assert.equal(policyVol.mountPath, AUDIT_POLICY_PATH);
    assert.equal(policyVol.readOnly, true);
    assert.equal(logVol.mountPath, AUDIT_LOG_DIR);
    assert.notEqual(logVol.readOnly, true);
  });

  it("serves the control plane's metrics off the node, on the ports kube-prometheus-stack scrapes", () => {
    const docs = kubeadmDocs(file(doc, KUBEADM_INIT_TEMPLATE_PATH).content);
    const cluster = byKind(docs, "ClusterConfiguration");
    const proxy = byKind(docs, "KubeProxyConfiguration");
    assert.equal(proxy.apiVersion, "kubeproxy.config.k8s.io/v1alpha1");
    for (const component of ["controllerManager", "scheduler"]) {
      assertArgList(cluster[component].extraArgs);
      assert.equal(argValue(cluster[component].extraArgs, "bind-address"), "0.0.0.0", component);
    }
    assertArgList(cluster.etcd.local.extraArgs);
    const etcdMetrics = new URL(argValue(cluster.etcd.local.extraArgs, "listen-metrics-urls") ?? "");
    assert.deepEqual([etcdMetrics.protocol, etcdMetrics.hostname], ["http:", "0.0.0.0"], "one plain-HTTP listener (kubeadm's probes use the first URL)");
    const [proxyHost, proxyPort] = String(proxy.metricsBindAddress).split(":");
    assert.equal(proxyHost, "0.0.0.0");

    const kps = monitoringValues({ prometheusReplicas: 2, alertmanagerReplicas: 2, kubeStateMetricsReplicas: 1, storageClassName: "sc", grafanaAdminSecret: "g", namespace: "aura-system" }) as Record<string, any>;
    // kubeadm leaves the secure ports at their defaults: 10257 and 10259.
    const scraped = (key: string) => [kps[key].service.port, kps[key].service.targetPort];
    assert.deepEqual(scraped("kubeControllerManager"), [10257, 10257]);
    assert.deepEqual(scraped("kubeScheduler"), [10259, 10259]);
    assert.deepEqual(scraped("kubeEtcd"), [Number(etcdMetrics.port), Number(etcdMetrics.port)]);
    assert.deepEqual(scraped("kubeProxy"), [Number(proxyPort), Number(proxyPort)]);
    for (const key of ["kubeControllerManager", "kubeScheduler"]) assert.deepEqual(kps[key].serviceMonitor, { https: true, insecureSkipVerify: true });
    // No service-account token over plain HTTP.
    assert.deepEqual(kps.kubeEtcd.serviceMonitor, { scheme: "http", bearerTokenFile: "" });
    assert.deepEqual(kps.kubeProxy.serviceMonitor, { https: false, bearerTokenFile: "" });
  });

  it("writes an audit policy: Metadata by default, never bodies for secrets/configmaps/tokenreviews", () => {
    const policy = yaml.load(file(doc, AUDIT_POLICY_PATH).content) as KubeadmDoc;
    assert.equal(policy.apiVersion, "audit.k8s.io/v1");
    assert.equal(policy.kind, "Policy");
    const rules: KubeadmDoc[] = policy.rules;
    assert.deepEqual(rules[rules.length - 1], { level: "Metadata" });
    for (const r of rules) {
      assert.ok(["None", "Metadata"].includes(r.level), `unexpected audit level ${r.level}`);
    }
    const sensitive = rules.find((r) =>
      (r.resources ?? []).some((g: KubeadmDoc) => g.resources?.includes("secrets")),
    );
    assert.equal(sensitive?.level, "Metadata");
    const mentioned = (res: string) =>
      rules.some((r) => (r.resources ?? []).some((g: KubeadmDoc) => g.resources?.includes(res)));
    assert.ok(mentioned("configmaps") && mentioned("tokenreviews"));
    // None rules only for read-only traffic: health and discovery URLs, or API reads with their
    // verbs listed (a rule without verbs matches every verb, writes included).
    const none = rules.filter((x) => x.level === "None");
    assert.ok(none.length >= 2);
    for (const r of none) {
      if (r.nonResourceURLs) {
        assert.equal(r.resources, undefined, "a health-URL rule covers no API resources");
        for (const u of r.nonResourceURLs) assert.match(u, /^\/(healthz|livez|readyz|version|metrics|openapi)\*?$/);
        continue;
      }
      assert.ok(Array.isArray(r.verbs) && r.verbs.length > 0, `None rule without verbs: ${JSON.stringify(r)}`);
      for (const v of r.verbs) assert.ok(["get", "list", "watch"].includes(v), `None rule for verb ${v}`);
    }
  });

  it("JoinConfiguration template: controlPlane {}, bootstrapToken discovery, placeholders only", () => {
    const f = file(doc, KUBEADM_JOIN_TEMPLATE_PATH);
    assert.equal(f.permissions, "0600");
    const [join] = kubeadmDocs(f.content);
    assert.equal(join.apiVersion, KUBEADM_API_VERSION);
    assert.equal(join.kind, "JoinConfiguration");
    assert.deepEqual(join.controlPlane, {});
    assertArgList(join.nodeRegistration.kubeletExtraArgs);
    assert.equal(argValue(join.nodeRegistration.kubeletExtraArgs, "cloud-provider"), "external");
    assert.equal(argValue(join.nodeRegistration.kubeletExtraArgs, "node-ip"), NODE_IP_PLACEHOLDER);
    assert.deepEqual(join.discovery.bootstrapToken, {
      apiServerEndpoint: "aura-prod-api.westeurope.cloudapp.azure.com:6443",
      token: JOIN_TEMPLATE_TOKEN_PLACEHOLDER,
      caCertHashes: [JOIN_TEMPLATE_CA_HASH_PLACEHOLDER],
    });

    // After the on-node substitution the values must stay strings even when
    // they look like numbers to a YAML 1.1 reader.
    const filled = f.content
      .replace(JOIN_TEMPLATE_TOKEN_PLACEHOLDER, "123456.1234567890123456")
      .replace(JOIN_TEMPLATE_CA_HASH_PLACEHOLDER, CA_HASH);
    const [parsed] = kubeadmDocs(filled);
    assert.equal(parsed.discovery.bootstrapToken.token, "123456.1234567890123456");
    assert.deepEqual(parsed.discovery.bootstrapToken.caCertHashes, [CA_HASH]);
  });

  it("fetches the PKI with the masters' identity and decides init or join at boot, under a blob lease", () => {
    const s = script(doc);
    assert.match(s, /^readonly AURA_ROLE='master'$/m);
    assert.match(s, /^readonly BLOB_ENDPOINT='https:\/\/auraprodmeta01\.blob\.core\.windows\.net\/'$/m);
    assert.match(s, /^readonly PKI_CONTAINER='cluster-metadata'$/m);
    assert.match(s, /^readonly LOCK_CONTAINER='cluster-bootstrap'$/m);
    assert.match(s, /^readonly JOIN_TOKEN_PATH='node-join\/token'$/m);
    assert.match(s, /^readonly API_INTERNAL_IP='10\.240\.0\.254'$/m);
    assert.match(s, /^readonly IDENTITY_CLIENT_ID='6f1c2e0a-93b4-4d7e-8a51-2c9f0e7b3d14'$/m);
    assert.ok(
      s.includes(
        "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fstorage.azure.com%2F&client_id=${IDENTITY_CLIENT_ID}",
      ),
    );
    assert.match(s, /-H Metadata:true/);
    assert.match(s, /x-ms-version: 2021-08-06/);
    assert.match(s, /retry 30 10 fetch_blob_once/, "bounded retries for the blob download");
    for (const blob of Object.values(METADATA_BLOBS)) assert.ok(s.includes(`'${blob}'`), `${blob} not fetched`);
    assert.match(s, /\*\.key\) install -m 0600/);
    // The Blob service's lease protocol, exactly.
    assert.ok(s.includes(`'x-ms-lease-action: acquire'`));
    assert.ok(s.includes(`"x-ms-lease-duration: \${LOCK_LEASE_SECONDS}" "x-ms-proposed-lease-id: \${id}"`));
    assert.ok(s.includes(`'x-ms-lease-action: renew' "x-ms-lease-id: \${id}"`));
    assert.ok(s.includes(`'x-ms-lease-action: release' "x-ms-lease-id: $(lease_id)"`));
    assert.ok(s.includes(`"\${blob}?comp=lease"`));
    assert.match(s, /^readonly LOCK_LEASE_SECONDS=60$/m, "a lease of 15-60 s, renewed while held");
    assert.match(s, /kubeadm init --config "\$\{AURA_ROOT\}\$\{KUBEADM_CONFIG\}" --skip-token-print/);
    assert.match(s, /member remove "\$\{id\}"/);
    assert.doesNotMatch(s, /--upload-certs/);
    assert.doesNotMatch(s, /--ttl 0/, "no join token that never expires");
  });

  it("renews certificates and rotates the agents' join token from systemd timers", () => {
    const renew = file(doc, RENEW_CERTS_SCRIPT_PATH).content;
    assert.match(renew, /^readonly CERT_RENEW_BEFORE_DAYS='90'$/m);
    assert.match(renew, /kubeadm certs renew all/);
    assert.match(renew, /for pod in etcd kube-apiserver kube-controller-manager kube-scheduler; do/);
    // A pod counts as stopped only when crictl, asked at containerd's socket, lists none.
    assert.match(renew, /if running="\$\(crictl --runtime-endpoint unix:\/\/\/run\/containerd\/containerd\.sock ps --name "\^\$\{name\}\\\$" -q\)" && \[\[ -z "\$\{running\}" \]\]; then/);
    assert.match(renew, /^renew_certificates$/m);
    const timer = file(doc, "/etc/systemd/system/aura-renew-certs.timer").content;
    assert.match(timer, /^OnCalendar=daily$/m);
    assert.match(timer, /^Persistent=true$/m);
    assert.match(file(doc, "/etc/systemd/system/aura-renew-certs.service").content, new RegExp(`^ExecStart=${RENEW_CERTS_SCRIPT_PATH}$`, "m"));
    const token = file(doc, JOIN_TOKEN_SCRIPT_PATH).content;
    assert.match(token, /^readonly JOIN_TOKEN_TTL='48h'$/m);
    assert.match(token, /^publish_join_token$/m);
    assert.match(file(doc, "/etc/systemd/system/aura-join-token.timer").content, /^OnUnitActiveSec=1h$/m);
  });

  it("the upgrade script applies on the first master, upgrades the node on the others, refuses a skip or a downgrade", () => {
    const s = MASTER_SCRIPTS.upgrade;
    assert.match(s, /^readonly K8S_VERSION='1\.33\.5'$/m);
    assert.match(s, /kubeadm upgrade apply "v\$\{K8S_VERSION\}" --yes/);
    assert.match(s, /kubeadm upgrade node/);
    // The next master starts only once this one is back: healthy components, node Ready.
    assert.match(s, /uncordon "\$\{me\}"\n(\s*#.*\n)*\s*retry 60 10 control_plane_settled "\$\{me\}"\n\s*lock_keepalive_stop\n\s*lock_release maintenance\.lock/);
    assert.match(s, /for component in etcd kube-apiserver kube-controller-manager kube-scheduler; do/);
    assert.match(s, /drain "\$\{me\}" --ignore-daemonsets/);
    assert.match(s, /^wait_for_bootstrap\nupgrade_master$/m);
    assert.match(s, /refusing to downgrade/);
    assert.match(s, /kubeadm upgrades one minor version at a time/);
  });
});

describe("cloudinit: secrets", () => {
  for (const name of DOC_NAMES) {
    it(`${name}: the document carries no token or key material`, () => {
      const doc = DOCS[name];
      assert.doesNotMatch(doc, /[a-z0-9]{6}\.[a-z0-9]{16}/, "a join token");
      assert.doesNotMatch(doc, /BEGIN [A-Z ]*PRIVATE KEY|BEGIN CERTIFICATE/);
      assert.doesNotMatch(doc, /bootstrapTokens:/);
      const decoded = zlib.gunzipSync(Buffer.from(encodeCustomData(doc), "base64")).toString("utf8");
      assert.equal(decoded, doc);
    });
  }

  for (const [name, pool] of [["agentSystem", "system"], ["agentUser", "userpool1"]] as const) {
    it(`${name}: agent fetches the join token with its identity; JoinConfiguration without controlPlane`, () => {
      const doc = DOCS[name];
      const cfg = parseDoc(doc);
      assert.equal(cfg.disk_setup, undefined, "agents have no data disk");
      assert.equal(cfg.fs_setup, undefined);
      assert.equal(cfg.mounts, undefined);
      const f = file(doc, KUBEADM_JOIN_TEMPLATE_PATH);
      assert.equal(f.permissions, "0600");
      const [join] = kubeadmDocs(f.content);
      assert.equal(join.apiVersion, KUBEADM_API_VERSION);
      assert.equal(join.kind, "JoinConfiguration");
      assert.equal(join.controlPlane, undefined);
      assert.deepEqual(join.discovery.bootstrapToken, {
        apiServerEndpoint: "aura-prod-api.westeurope.cloudapp.azure.com:6443",
        token: JOIN_TEMPLATE_TOKEN_PLACEHOLDER,
        caCertHashes: [CA_HASH],
      });
      assertArgList(join.nodeRegistration.kubeletExtraArgs);
      assert.equal(argValue(join.nodeRegistration.kubeletExtraArgs, "cloud-provider"), "external");
      assert.equal(argValue(join.nodeRegistration.kubeletExtraArgs, "node-labels"), `agentpool=${pool}`);
      assert.equal(argValue(join.nodeRegistration.kubeletExtraArgs, "node-ip"), NODE_IP_PLACEHOLDER);

      const s = script(doc);
      assert.match(s, /^readonly IDENTITY_CLIENT_ID='0b7d4c1e-2f3a-4b5c-9d6e-7f8091a2b3c4'$/m);
      assert.match(s, /^readonly JOIN_TOKEN_PATH='node-join\/token'$/m);
      assert.match(s, /^\s*join_with_retries \d+ prepare_agent_join\s*$/m);
      assert.match(s, /kubeadm reset -f/);
      assert.doesNotMatch(s, /PKI_CONTAINER|LOCK_CONTAINER|cluster-metadata/, "agents touch nothing but the join token");
    });
  }
});

describe("cloudinit: METADATA_BLOBS layout", () => {
  it("is the fixed layout shared with the upload code", () => {
    assert.deepEqual(Object.values(METADATA_BLOBS).sort(), [
      "pki/ca.crt",
      "pki/ca.key",
      "pki/etcd/ca.crt",
      "pki/etcd/ca.key",
      "pki/front-proxy-ca.crt",
      "pki/front-proxy-ca.key",
      "pki/sa.key",
      "pki/sa.pub",
    ]);
    assert.equal(METADATA_PKI_BLOBS.length, 8);
  });
});

// ---------------------------------------------------------------------------
// encodeCustomData
// ---------------------------------------------------------------------------

describe("cloudinit: encodeCustomData", () => {
  it("round-trips through gunzip for every role and fits Azure's limit", () => {
    for (const name of DOC_NAMES) {
      const encoded = encodeCustomData(DOCS[name]);
      const gz = Buffer.from(encoded, "base64");
      assert.ok(gz.length <= CUSTOM_DATA_MAX_BYTES);
      assert.equal(gz[0], 0x1f);
      assert.equal(gz[1], 0x8b);
      assert.equal(zlib.gunzipSync(gz).toString("utf8"), DOCS[name]);
    }
  });

  it("is deterministic (no mtime, fixed OS byte)", () => {
    const a = encodeCustomData(DOCS.master);
    const b = encodeCustomData(DOCS.master);
    assert.equal(a, b);
    const gz = Buffer.from(a, "base64");
    assert.equal(gz.readUInt32LE(4), 0, "gzip mtime must be 0");
    assert.equal(gz[9], 3);
  });

  it("throws when the gzip bytes exceed 65535", () => {
    const incompressible = crypto.randomBytes(100_000).toString("base64");
    assert.throws(() => encodeCustomData(incompressible), /65535/);
  });
});

// ---------------------------------------------------------------------------
// Input validation
// ---------------------------------------------------------------------------

describe("cloudinit: bad inputs throw", () => {
  const agent = { ...CLUSTER, pool: "system", caCertHash: CA_HASH, metadata: AGENT_METADATA };
  const master = { ...CLUSTER, metadata: METADATA };

  it("bad CA cert hash", () => {
    for (const bad of ["3b5d5c3712955042212316173ccf37be800e8f1ccf7e7e4ebc8ae8a06a4b6ad0", "sha256:abc", "sha1:" + "a".repeat(64), "sha256:" + "A".repeat(64)]) {
      assert.throws(() => renderAgentCloudInit({ ...agent, caCertHash: bad }), /caCertHash/);
    }
  });

  it("bad Kubernetes version", () => {
    for (const bad of ["v1.33.5", "1.33", "1.30.4", "2.0.0", "1.33.5-rc.1", "1.33.5; rm -rf /"]) {
      assert.throws(() => renderMasterCloudInit({ ...master, kubernetesVersion: bad }), /kubernetesVersion/);
      assert.throws(() => renderAgentCloudInit({ ...agent, kubernetesVersion: bad }), /kubernetesVersion/);
      assert.throws(() => renderMasterUpgradeScript({ ...master, kubernetesVersion: bad }), /kubernetesVersion/);
    }
  });

  it("bad cluster values", () => {
    assert.throws(() => renderMasterCloudInit({ ...master, apiServerHost: "10.0.0.4" }), /apiServerHost/);
    assert.throws(() => renderMasterCloudInit({ ...master, apiServerHost: "api.example.com'$(id)" }), /apiServerHost/);
    assert.throws(() => renderMasterCloudInit({ ...master, apiServerPort: 70000 }), /apiServerPort/);
    assert.throws(() => renderMasterCloudInit({ ...master, apiServerInternalIp: "10.240.0" }), /apiServerInternalIp/);
    assert.throws(() => renderAgentCloudInit({ ...agent, apiServerInternalIp: "10.240.0.256" }), /apiServerInternalIp/);
    assert.throws(() => renderMasterCloudInit({ ...master, podCidr: "10.244.0.0" }), /podCidr/);
    assert.throws(() => renderMasterCloudInit({ ...master, serviceCidr: "10.96.0.300/12" }), /serviceCidr/);
    assert.throws(() => renderMasterCloudInit({ ...master, clusterName: "Aura_Prod" }), /clusterName/);
    assert.throws(() => renderAgentCloudInit({ ...agent, pool: "pool with space" }), /pool/);
  });

  it("bad metadata source", () => {
    const md = (m: Partial<MetadataSource>) => ({ ...master, metadata: { ...METADATA, ...m } });
    assert.throws(() => renderMasterCloudInit(md({ blobEndpoint: "http://acct.blob.core.windows.net/" })), /blobEndpoint/);
    assert.throws(() => renderMasterCloudInit(md({ identityClientId: "not-a-guid" })), /identityClientId/);
    assert.throws(() => renderAgentCloudInit({ ...agent, metadata: { ...AGENT_METADATA, identityClientId: "x" } }), /identityClientId/);
  });

  it("a blob endpoint without the trailing slash is normalised", () => {
    const doc = renderMasterCloudInit({ ...master, metadata: { ...METADATA, blobEndpoint: "https://auraprodmeta01.blob.core.windows.net" } });
    assert.match(script(doc), /^readonly BLOB_ENDPOINT='https:\/\/auraprodmeta01\.blob\.core\.windows\.net\/'$/m);
  });
});
