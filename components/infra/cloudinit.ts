/**
 * Renders the cloud-init (#cloud-config) documents that boot a kubeadm
 * Kubernetes cluster on Azure Ubuntu 24.04 VMs, and the master upgrade script.
 *
 * Pure functions: plain values in, a string out. No Pulumi imports. No
 * document carries a secret: masters fetch the PKI and agents the current join
 * token from the metadata store at boot, each with its own managed identity.
 *
 * Roles:
 *  - master: one document for every control-plane node. The node decides at
 *    boot whether it creates the cluster (`kubeadm init`, only the holder of
 *    the init lock, a blob lease) or joins it (`kubeadm join --control-plane`,
 *    after removing a stale etcd member of its own name).
 *  - agent: one document per VM scale set pool, `kubeadm join` as a worker.
 * The boot runs as a systemd unit that retries with a backoff; masters also
 * get timers that renew certificates and rotate the agents' join token.
 *
 * Scripts are assembled from the files in ./scripts (read at runtime,
 * relative to this file) plus a header of shell-quoted settings.
 */
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import * as yaml from "js-yaml";
import { OLDEST_KUBERNETES } from "../../profiles/versions";
import { CONTAINERD_APT_VERSION } from "./pins";

// ---------------------------------------------------------------------------
// Constants shared with the infra code
// ---------------------------------------------------------------------------

export const KUBEADM_API_VERSION = "kubeadm.k8s.io/v1beta4";
export const KUBELET_CONFIG_API_VERSION = "kubelet.config.k8s.io/v1beta1";
export const KUBE_PROXY_CONFIG_API_VERSION = "kubeproxy.config.k8s.io/v1alpha1";
export const AUDIT_API_VERSION = "audit.k8s.io/v1";
/** kubeadm v1beta4 needs Kubernetes 1.31 or newer (the bound lives with the profile's version rules). */
export const MIN_KUBERNETES_MINOR: number = OLDEST_KUBERNETES.minor;

/**
 * Metrics ports of the control-plane components, which Prometheus scrapes (kube-prometheus-stack,
 * components/system/monitoring.ts). kubeadm binds them to 127.0.0.1, where nothing off the node
 * reaches them; the cluster configuration binds them on every address instead. They are reachable
 * inside the VNet only (no NSG rule admits them from outside). The controller manager and the
 * scheduler serve HTTPS and authorise `/metrics` like any request; etcd's metrics listener serves
 * metrics and health only (the key-value API stays on its client port, behind client certificates);
 * kube-proxy serves metrics over HTTP.
 */
export const CONTROL_PLANE_METRICS_PORTS = {
  controllerManager: 10257,
  scheduler: 10259,
  etcd: 2381,
  kubeProxy: 10249,
} as const;

/**
 * The metadata store's containers. Each identity gets a role on the containers it needs and no
 * other: masters read `pki` and write `bootstrap` (locks) and `join` (the agents' token); agents
 * read `join`; nothing on a node can read `breakGlass` (the root kubeconfig).
 */
export const METADATA_CONTAINERS = {
  pki: "cluster-metadata",
  bootstrap: "cluster-bootstrap",
  join: "node-join",
  breakGlass: "break-glass",
} as const;

/**
 * Fixed layout of the PKI container. The infra code uploads the cluster PKI
 * under these blob names; control-plane nodes download them at boot.
 */
export const METADATA_BLOBS = {
  caCrt: "pki/ca.crt",
  caKey: "pki/ca.key",
  saKey: "pki/sa.key",
  saPub: "pki/sa.pub",
  frontProxyCaCrt: "pki/front-proxy-ca.crt",
  frontProxyCaKey: "pki/front-proxy-ca.key",
  etcdCaCrt: "pki/etcd/ca.crt",
  etcdCaKey: "pki/etcd/ca.key",
} as const;

/** The blobs that are installed under /etc/kubernetes/pki (the `pki/` prefix is stripped). */
export const METADATA_PKI_BLOBS: readonly string[] = Object.values(METADATA_BLOBS);

/** The current agent join token (`<container>/<blob>`), written by the masters. */
export const JOIN_TOKEN_PATH = `${METADATA_CONTAINERS.join}/token`;
/** Lifetime of an agent join token; the masters publish a new one when one day is left. */
export const JOIN_TOKEN_TTL = "48h";
/** Certificates are renewed once one of them has fewer days left than this (kubeadm issues one year). */
export const CERT_RENEW_BEFORE_DAYS = 90;

/** Azure's limit on the size of (base64-decoded) custom data. */
export const CUSTOM_DATA_MAX_BYTES = 65535;

export const BOOTSTRAP_SCRIPT_PATH = "/usr/local/bin/aura-bootstrap.sh";
export const BOOTSTRAP_LOG_PATH = "/var/log/aura-bootstrap.log";
/** Where an operator reads how the boot went: status, step, message. */
export const BOOTSTRAP_STATE_PATH = "/var/lib/aura/bootstrap.state";
export const BOOTSTRAP_UNIT = "aura-bootstrap.service";
export const RENEW_CERTS_SCRIPT_PATH = "/usr/local/bin/aura-renew-certs.sh";
export const JOIN_TOKEN_SCRIPT_PATH = "/usr/local/bin/aura-join-token.sh";
export const SYSTEMD_DIR = "/etc/systemd/system";
/** Makes the kubelet (and so etcd) wait for the etcd disk on masters. */
export const KUBELET_ETCD_DROP_IN_PATH = `${SYSTEMD_DIR}/kubelet.service.d/05-aura-etcd-disk.conf`;
export const POD_IMDS_RULES_PATH = "/etc/aura/pod-imds-block.nft";
/** kubeadm configuration used by every role (`kubeadm init|join --config`), filled in at boot. */
export const KUBEADM_CONFIG_PATH = "/etc/kubernetes/kubeadm-config.yaml";
/** Templates with placeholders (node address, join token, CA hash) filled in at boot. */
export const KUBEADM_INIT_TEMPLATE_PATH = "/etc/kubernetes/kubeadm-init.yaml.tmpl";
export const KUBEADM_JOIN_TEMPLATE_PATH = "/etc/kubernetes/kubeadm-join.yaml.tmpl";
export const AUDIT_POLICY_PATH = "/etc/kubernetes/audit-policy.yaml";
export const AUDIT_LOG_DIR = "/var/log/kubernetes/audit";
export const AUDIT_LOG_PATH = `${AUDIT_LOG_DIR}/audit.log`;
export const CONTAINERD_SOCKET = "unix:///run/containerd/containerd.sock";
/** The Azure instance metadata endpoint, which pods must not reach. */
export const IMDS_ADDRESS = "169.254.169.254";
/**
 * The users that may reach it from the host's own network namespace: root (the Azure agent, the
 * boot, the disk CSI node plugin, cloud-controller-manager) and 65532, the user cloud-node-manager's
 * image runs as (its Dockerfile's USER).
 */
export const IMDS_USERS = [0, 65532] as const;

/** etcd data disk: Azure data disk at LUN 0, laid out as Cluster API Provider Azure does. */
export const ETCD_DISK = {
  device: "/dev/disk/azure/scsi1/lun0",
  label: "etcd_disk",
  filesystem: "ext4",
  mountPoint: "/var/lib/etcddisk",
  dataDir: "/var/lib/etcddisk/etcd",
} as const;

/** Placeholders in the kubeadm templates, replaced on the VM. */
export const JOIN_TEMPLATE_TOKEN_PLACEHOLDER = "@AURA_BOOTSTRAP_TOKEN@";
export const JOIN_TEMPLATE_CA_HASH_PLACEHOLDER = "@AURA_CA_CERT_HASH@";
export const NODE_IP_PLACEHOLDER = "@AURA_NODE_IP@";

export const CA_CERT_HASH_PATTERN = /^sha256:[0-9a-f]{64}$/;
export const KUBERNETES_VERSION_PATTERN = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

export interface ClusterBootstrap {
  /** Cluster name (kubeadm `clusterName`), DNS-label style. */
  clusterName: string;
  /** Exact Kubernetes patch version without "v", e.g. "1.33.5" (>= 1.31). */
  kubernetesVersion: string;
  /** DNS name of the API server load balancer (not an IP address). */
  apiServerHost: string;
  apiServerPort: number;
  /** Private frontend address of the internal API load balancer: what nodes connect to. */
  apiServerInternalIp: string;
  /** IPv4 CIDR, e.g. "10.244.0.0/16". */
  podCidr: string;
  /** IPv4 CIDR, e.g. "10.96.0.0/12". */
  serviceCidr: string;
}

export interface MetadataSource {
  /** Storage account blob endpoint, e.g. "https://acct.blob.core.windows.net/". */
  blobEndpoint: string;
  /** Client id of the VM's user-assigned managed identity. */
  identityClientId: string;
}

export interface MasterCloudInitArgs extends ClusterBootstrap {
  metadata: MetadataSource;
}

export interface AgentCloudInitArgs extends ClusterBootstrap {
  /** Agent pool (VM scale set) name, used for the `agentpool=<pool>` node label. */
  pool: string;
  /** `sha256:<64 hex>` of the cluster CA's public key (public). */
  caCertHash: string;
  /** Where the agent fetches the current join token, with the agents' identity. */
  metadata: MetadataSource;
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BLOB_ENDPOINT = /^https:\/\/[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?\/$/;

function fail(what: string, value: unknown, expected: string): never {
  throw new Error(`cloudinit: invalid ${what} ${JSON.stringify(value)}: expected ${expected}`);
}

function parseKubernetesVersion(version: string): { minor: string } {
  const m = KUBERNETES_VERSION_PATTERN.exec(version);
  if (!m) fail("kubernetesVersion", version, 'an exact version like "1.33.5" (no "v" prefix)');
  if (Number(m[1]) !== 1 || Number(m[2]) < MIN_KUBERNETES_MINOR) {
    fail("kubernetesVersion", version, `1.${MIN_KUBERNETES_MINOR}.0 or newer (kubeadm ${KUBEADM_API_VERSION})`);
  }
  return { minor: `${m[1]}.${m[2]}` };
}

function checkHostName(host: string): void {
  const labels = host.split(".");
  if (
    host.length > 253 ||
    !labels.every((l) => DNS_LABEL.test(l)) ||
    /^\d+$/.test(labels[labels.length - 1])
  ) {
    fail("apiServerHost", host, "a lowercase DNS name (an IP address cannot be mapped in /etc/hosts)");
  }
}

function checkIpv4Cidr(what: string, cidr: string): void {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
    fail(what, cidr, 'an IPv4 CIDR like "10.244.0.0/16"');
  }
}

function checkIpv4(what: string, address: string): void {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255)) fail(what, address, 'an IPv4 address like "10.240.0.254"');
}

function checkCluster(args: ClusterBootstrap): { minor: string } {
  if (typeof args.clusterName !== "string" || !DNS_LABEL.test(args.clusterName)) {
    fail("clusterName", args.clusterName, "a lowercase DNS label (a-z, 0-9, '-', at most 63 characters)");
  }
  const version = parseKubernetesVersion(args.kubernetesVersion);
  checkHostName(args.apiServerHost);
  if (!Number.isInteger(args.apiServerPort) || args.apiServerPort < 1 || args.apiServerPort > 65535) {
    fail("apiServerPort", args.apiServerPort, "an integer between 1 and 65535");
  }
  checkIpv4("apiServerInternalIp", args.apiServerInternalIp);
  checkIpv4Cidr("podCidr", args.podCidr);
  checkIpv4Cidr("serviceCidr", args.serviceCidr);
  return version;
}

function checkMetadata(m: MetadataSource): MetadataSource {
  const blobEndpoint = m.blobEndpoint.endsWith("/") ? m.blobEndpoint : `${m.blobEndpoint}/`;
  if (!BLOB_ENDPOINT.test(blobEndpoint)) {
    fail("metadata.blobEndpoint", m.blobEndpoint, 'an https endpoint like "https://acct.blob.core.windows.net/"');
  }
  if (!GUID.test(m.identityClientId)) {
    fail("metadata.identityClientId", m.identityClientId, "a GUID (managed identity client id)");
  }
  return { blobEndpoint, identityClientId: m.identityClientId.toLowerCase() };
}

export function assertCaCertHash(hash: string): void {
  if (typeof hash !== "string" || !CA_CERT_HASH_PATTERN.test(hash)) {
    fail("caCertHash", hash, '"sha256:" followed by 64 lowercase hex digits');
  }
}

// ---------------------------------------------------------------------------
// Rendering helpers
// ---------------------------------------------------------------------------

const SCRIPTS_DIR = path.join(__dirname, "scripts");

/** YAML for both cloud-init (PyYAML, YAML 1.1) and kubeadm: js-yaml's DUMP_SCHEMA quotes 1.1-ambiguous scalars. */
function toYaml(value: unknown): string {
  return yaml.dump(value, { lineWidth: -1, noRefs: true });
}

function yamlDocuments(docs: unknown[]): string {
  return docs.map(toYaml).join("---\n");
}

/** Single-quotes a value for bash. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function readScript(name: string): string {
  const text = fs.readFileSync(path.join(SCRIPTS_DIR, name), "utf8");
  // Drop the file's own shebang; the rendered script has a single one.
  return text.replace(/^#!.*\n/, "").trim() + "\n";
}

type Setting = [string, string | readonly string[]];
type ScriptTask = "role-master" | "role-agent" | "renew-certs" | "join-token" | "upgrade-master" | "settle-master";

/** One script: shebang, strict mode, settings, the libraries, then the task file. */
function renderScript(task: ScriptTask, master: boolean, settings: Setting[]): string {
  const lines = [
    "#!/usr/bin/env bash",
    `# Aura node script (${task}). Rendered by components/infra/cloudinit.ts; do not edit on the node.`,
    "set -euo pipefail",
    "",
    "# Settings (values are shell-quoted by the renderer).",
    ...settings.map(([name, value]) =>
      typeof value === "string"
        ? `readonly ${name}=${shellQuote(value)}`
        : `readonly ${name}=(${value.map(shellQuote).join(" ")})`,
    ),
    "",
  ];
  const parts = [lines.join("\n"), readScript("lib.sh")];
  if (master) parts.push(readScript("lib-master.sh"));
  parts.push(readScript(`${task}.sh`));
  return parts.join("\n");
}

interface WriteFile {
  path: string;
  content: string;
  permissions: string;
  owner?: string;
}

function kernelFiles(): WriteFile[] {
  return [
    {
      path: "/etc/modules-load.d/aura-kubernetes.conf",
      content: "overlay\nbr_netfilter\n",
      permissions: "0644",
    },
    {
      path: "/etc/sysctl.d/99-aura-kubernetes.conf",
      content: [
        "net.ipv4.ip_forward = 1",
        "net.bridge.bridge-nf-call-iptables = 1",
        "net.bridge.bridge-nf-call-ip6tables = 1",
        "",
      ].join("\n"),
      permissions: "0644",
    },
  ];
}

function arg(name: string, value: string): { name: string; value: string } {
  return { name, value };
}

function controlPlaneEndpoint(args: ClusterBootstrap): string {
  return `${args.apiServerHost}:${args.apiServerPort}`;
}

/** audit.k8s.io/v1 Policy: metadata for everything, never request/response bodies. */
export function auditPolicy(): Record<string, unknown> {
  return {
    apiVersion: AUDIT_API_VERSION,
    kind: "Policy",
    omitStages: ["RequestReceived"],
    rules: [
      // Noisy read-only system traffic.
      {
        level: "None",
        nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version", "/metrics", "/openapi*"],
      },
      {
        level: "None",
        users: ["system:kube-proxy"],
        verbs: ["watch"],
        resources: [
          { group: "", resources: ["endpoints", "services", "services/status"] },
          { group: "discovery.k8s.io", resources: ["endpointslices"] },
        ],
      },
      {
        level: "None",
        userGroups: ["system:nodes"],
        verbs: ["get"],
        resources: [{ group: "", resources: ["nodes", "nodes/status"] }],
      },
      // Sensitive payloads: metadata only, never Request/RequestResponse.
      {
        level: "Metadata",
        resources: [
          { group: "", resources: ["secrets", "configmaps", "serviceaccounts/token"] },
          { group: "authentication.k8s.io", resources: ["tokenreviews"] },
        ],
      },
      // Everything else.
      { level: "Metadata" },
    ],
  };
}

function clusterConfiguration(args: ClusterBootstrap): Record<string, unknown> {
  return {
    apiVersion: KUBEADM_API_VERSION,
    kind: "ClusterConfiguration",
    clusterName: args.clusterName,
    kubernetesVersion: `v${args.kubernetesVersion}`,
    controlPlaneEndpoint: controlPlaneEndpoint(args),
    certificatesDir: "/etc/kubernetes/pki",
    networking: {
      podSubnet: args.podCidr,
      serviceSubnet: args.serviceCidr,
    },
    etcd: {
      local: {
        dataDir: ETCD_DISK.dataDir,
        // Replaces kubeadm's http://127.0.0.1:2381; its probes follow (to the local machine).
        extraArgs: [arg("listen-metrics-urls", `http://0.0.0.0:${CONTROL_PLANE_METRICS_PORTS.etcd}`)],
      },
    },
    // Serving (and metrics) on every address instead of kubeadm's 127.0.0.1; kubeadm then probes
    // the pod's (the node's) address.
    controllerManager: { extraArgs: [arg("bind-address", "0.0.0.0")] },
    scheduler: { extraArgs: [arg("bind-address", "0.0.0.0")] },
    apiServer: {
      certSANs: [args.apiServerHost, args.apiServerInternalIp, "localhost", "127.0.0.1"],
      extraArgs: [
        arg("audit-policy-file", AUDIT_POLICY_PATH),
        arg("audit-log-path", AUDIT_LOG_PATH),
        arg("audit-log-maxage", "30"),
        arg("audit-log-maxbackup", "10"),
        arg("audit-log-maxsize", "100"),
      ],
      extraVolumes: [
        {
          name: "audit-policy",
          hostPath: AUDIT_POLICY_PATH,
          mountPath: AUDIT_POLICY_PATH,
          readOnly: true,
          pathType: "File",
        },
        {
          name: "audit-logs",
          hostPath: AUDIT_LOG_DIR,
          mountPath: AUDIT_LOG_DIR,
          readOnly: false,
          pathType: "DirectoryOrCreate",
        },
      ],
    },
  };
}

function nodeRegistration(extraKubeletArgs: Array<{ name: string; value: string }> = []): Record<string, unknown> {
  return {
    criSocket: CONTAINERD_SOCKET,
    kubeletExtraArgs: [arg("cloud-provider", "external"), arg("node-ip", NODE_IP_PLACEHOLDER), ...extraKubeletArgs],
  };
}

function initKubeadmConfig(args: ClusterBootstrap): string {
  return yamlDocuments([
    {
      apiVersion: KUBEADM_API_VERSION,
      kind: "InitConfiguration",
      nodeRegistration: nodeRegistration(),
    },
    clusterConfiguration(args),
    {
      apiVersion: KUBELET_CONFIG_API_VERSION,
      kind: "KubeletConfiguration",
      cgroupDriver: "systemd",
      // Serving certificates from the cluster CA (approved by kubelet-csr-approver), so metrics-server
      // can verify kubelets. Joining nodes read this from the cluster's kubelet-config ConfigMap.
      serverTLSBootstrap: true,
    },
    {
      // kubeadm keeps this in the kube-proxy ConfigMap that every node's kube-proxy reads, and
      // fills in the rest (cluster CIDR, kubeconfig).
      apiVersion: KUBE_PROXY_CONFIG_API_VERSION,
      kind: "KubeProxyConfiguration",
      metricsBindAddress: `0.0.0.0:${CONTROL_PLANE_METRICS_PORTS.kubeProxy}`,
    },
  ]);
}

function joinKubeadmConfig(
  args: ClusterBootstrap,
  caCertHash: string,
  options: { controlPlane: boolean; extraKubeletArgs?: Array<{ name: string; value: string }> },
): string {
  const doc: Record<string, unknown> = {
    apiVersion: KUBEADM_API_VERSION,
    kind: "JoinConfiguration",
    nodeRegistration: nodeRegistration(options.extraKubeletArgs),
    discovery: {
      bootstrapToken: {
        apiServerEndpoint: controlPlaneEndpoint(args),
        token: JOIN_TEMPLATE_TOKEN_PLACEHOLDER,
        caCertHashes: [caCertHash],
      },
    },
  };
  if (options.controlPlane) doc.controlPlane = {};
  const text = toYaml(doc);
  // The placeholders must come out quoted so that the substituted values stay
  // strings whatever they look like (an all-digit token is a float in YAML 1.1).
  for (const p of [JOIN_TEMPLATE_TOKEN_PLACEHOLDER, NODE_IP_PLACEHOLDER]) {
    if (!text.includes(`'${p}'`)) throw new Error(`cloudinit: internal error: placeholder ${p} is not quoted`);
  }
  return text;
}

/** A systemd unit file from sections of `key=value` lines. */
function unitFile(sections: Record<string, Array<[string, string]>>): string {
  return Object.entries(sections)
    .map(([section, entries]) => [`[${section}]`, ...entries.map(([k, v]) => `${k}=${v}`)].join("\n"))
    .join("\n\n") + "\n";
}

/**
 * The boot as a systemd unit: a failed run (apt mirror, blob fetch, API not up yet) is retried with
 * a growing delay (10 s up to 10 min) for as long as it takes, instead of cloud-init's one shot.
 */
function bootstrapUnit(): WriteFile {
  return {
    path: `${SYSTEMD_DIR}/${BOOTSTRAP_UNIT}`,
    permissions: "0644",
    content: unitFile({
      Unit: [
        ["Description", `Aura node bootstrap (kubeadm); state in ${BOOTSTRAP_STATE_PATH}`],
        ["Wants", "network-online.target"],
        ["After", "network-online.target"],
        ["ConditionPathExists", "!/var/lib/aura/bootstrap.done"],
        ["StartLimitIntervalSec", "0"],
      ],
      Service: [
        ["Type", "oneshot"],
        ["ExecStart", BOOTSTRAP_SCRIPT_PATH],
        ["Restart", "on-failure"],
        ["RestartSec", "10s"],
        ["RestartSteps", "10"],
        ["RestartMaxDelaySec", "10min"],
        ["TimeoutStartSec", "2h"],
      ],
      Install: [["WantedBy", "multi-user.target"]],
    }),
  };
}

/** A oneshot service run by a timer (certificate renewal, join token rotation). */
function timerUnits(name: string, description: string, script: string, timer: Array<[string, string]>): WriteFile[] {
  return [
    {
      path: `${SYSTEMD_DIR}/${name}.service`,
      permissions: "0644",
      content: unitFile({
        Unit: [["Description", description], ["After", "kubelet.service"]],
        Service: [["Type", "oneshot"], ["ExecStart", script]],
      }),
    },
    {
      path: `${SYSTEMD_DIR}/${name}.timer`,
      permissions: "0644",
      content: unitFile({
        Unit: [["Description", `${description} (timer)`]],
        Timer: [...timer, ["Persistent", "true"]],
        Install: [["WantedBy", "timers.target"]],
      }),
    },
  ];
}

/**
 * Pods must not reach the instance metadata endpoint (a pod on a master could otherwise get the
 * masters' identity token). An nftables table hooked into prerouting before the raw table drops
 * every packet to it that enters the host from outside, pods included, whatever the CNI or
 * kube-proxy insert later. Host-network pods send through the output path: there only root (the
 * Azure agent, the boot, the disk CSI node plugin) and the uid cloud-node-manager runs as (it needs
 * the endpoint) may reach it, so a host-network pod running as another user (node-exporter, as
 * nobody) cannot.
 */
function podImdsBlockFiles(): WriteFile[] {
  return [
    {
      path: POD_IMDS_RULES_PATH,
      permissions: "0644",
      content: [
        "# Aura: pods must not reach the Azure instance metadata endpoint. Loaded by aura-pod-imds-block.service.",
        "table inet aura_pod_imds",
        "delete table inet aura_pod_imds",
        "table inet aura_pod_imds {",
        "  chain prerouting {",
        "    type filter hook prerouting priority -400; policy accept;",
        `    ip daddr ${IMDS_ADDRESS} counter drop`,
        "  }",
        "  chain output {",
        "    type filter hook output priority -400; policy accept;",
        `    ip daddr ${IMDS_ADDRESS} meta skuid != { ${IMDS_USERS.join(", ")} } counter drop`,
        "  }",
        "}",
        "",
      ].join("\n"),
    },
    {
      path: `${SYSTEMD_DIR}/aura-pod-imds-block.service`,
      permissions: "0644",
      content: unitFile({
        Unit: [
          ["Description", `Aura: drop pod traffic to the instance metadata endpoint (${IMDS_ADDRESS})`],
          ["Before", "containerd.service kubelet.service"],
        ],
        Service: [["Type", "oneshot"], ["RemainAfterExit", "yes"], ["ExecStart", `/usr/sbin/nft -f ${POD_IMDS_RULES_PATH}`]],
        Install: [["WantedBy", "multi-user.target"]],
      }),
    },
  ];
}

/** runcmd: hand the boot to systemd (no blocking: cloud-final itself runs inside the boot). */
const START_BOOTSTRAP = [
  ["systemctl", "daemon-reload"],
  ["systemctl", "enable", BOOTSTRAP_UNIT],
  ["systemctl", "start", "--no-block", BOOTSTRAP_UNIT],
];

function cloudConfig(doc: Record<string, unknown>): string {
  return `#cloud-config\n${toYaml(doc)}`;
}

function etcdDiskConfig(): Record<string, unknown> {
  return {
    disk_setup: {
      [ETCD_DISK.device]: { table_type: "gpt", layout: true, overwrite: false },
    },
    fs_setup: [
      {
        label: ETCD_DISK.label,
        filesystem: ETCD_DISK.filesystem,
        device: ETCD_DISK.device,
        partition: "auto",
        extra_opts: ["-E", "lazy_itable_init=1,lazy_journal_init=1"],
      },
    ],
    mounts: [[`LABEL=${ETCD_DISK.label}`, ETCD_DISK.mountPoint]],
  };
}

// ---------------------------------------------------------------------------
// Public renderers
// ---------------------------------------------------------------------------

/** Settings every master script shares. */
function masterSettings(args: MasterCloudInitArgs, task: string, logFile: string): Setting[] {
  const metadata = checkMetadata(args.metadata);
  return [
    ["AURA_ROLE", "master"],
    ["AURA_TASK", task],
    ["K8S_VERSION", args.kubernetesVersion],
    ["CONTAINERD_VERSION", CONTAINERD_APT_VERSION],
    ["LOG_FILE", logFile],
    ["KUBEADM_CONFIG", KUBEADM_CONFIG_PATH],
    ["KUBEADM_INIT_TEMPLATE", KUBEADM_INIT_TEMPLATE_PATH],
    ["KUBEADM_JOIN_TEMPLATE", KUBEADM_JOIN_TEMPLATE_PATH],
    ["API_SERVER_HOST", args.apiServerHost],
    ["API_SERVER_PORT", String(args.apiServerPort)],
    // Only the boot routes the API name (to the internal load balancer, then to itself).
    ...(task === "bootstrap" ? [["API_INTERNAL_IP", args.apiServerInternalIp] as Setting] : []),
    ["ETCD_MOUNT", ETCD_DISK.mountPoint],
    ["ETCD_DATA_DIR", ETCD_DISK.dataDir],
    ["BLOB_ENDPOINT", metadata.blobEndpoint],
    ["IDENTITY_CLIENT_ID", metadata.identityClientId],
    ["PKI_CONTAINER", METADATA_CONTAINERS.pki],
    ["LOCK_CONTAINER", METADATA_CONTAINERS.bootstrap],
    ["METADATA_PKI_BLOBS", METADATA_PKI_BLOBS],
    ["JOIN_TOKEN_PATH", JOIN_TOKEN_PATH],
    ["JOIN_TOKEN_TTL", JOIN_TOKEN_TTL],
    ["CERT_RENEW_BEFORE_DAYS", String(CERT_RENEW_BEFORE_DAYS)],
  ];
}

/**
 * Control-plane node document, the same for every master. Contains no secrets: only the blob
 * endpoint, the identity's client id, the API names and addresses, versions and CIDRs.
 */
export function renderMasterCloudInit(args: MasterCloudInitArgs): string {
  checkCluster(args);
  const files: WriteFile[] = [
    ...kernelFiles(),
    ...podImdsBlockFiles(),
    { path: AUDIT_POLICY_PATH, content: toYaml(auditPolicy()), permissions: "0644" },
    { path: KUBEADM_INIT_TEMPLATE_PATH, content: initKubeadmConfig(args), permissions: "0600" },
    {
      path: KUBEADM_JOIN_TEMPLATE_PATH,
      content: joinKubeadmConfig(args, JOIN_TEMPLATE_CA_HASH_PLACEHOLDER, { controlPlane: true }),
      permissions: "0600",
    },
    {
      path: KUBELET_ETCD_DROP_IN_PATH,
      permissions: "0644",
      content: unitFile({ Unit: [["RequiresMountsFor", ETCD_DISK.mountPoint]] }),
    },
    {
      path: BOOTSTRAP_SCRIPT_PATH,
      content: renderScript("role-master", true, masterSettings(args, "bootstrap", BOOTSTRAP_LOG_PATH)),
      permissions: "0755",
    },
    {
      path: RENEW_CERTS_SCRIPT_PATH,
      content: renderScript("renew-certs", true, masterSettings(args, "renew-certs", "/var/log/aura-renew-certs.log")),
      permissions: "0755",
    },
    {
      path: JOIN_TOKEN_SCRIPT_PATH,
      content: renderScript("join-token", true, masterSettings(args, "join-token", "/var/log/aura-join-token.log")),
      permissions: "0755",
    },
    bootstrapUnit(),
    ...timerUnits("aura-renew-certs", "Aura: renew kubeadm certificates before they expire", RENEW_CERTS_SCRIPT_PATH, [
      ["OnCalendar", "daily"],
      ["RandomizedDelaySec", "6h"],
    ]),
    ...timerUnits("aura-join-token", "Aura: keep a valid agent join token in the metadata store", JOIN_TOKEN_SCRIPT_PATH, [
      ["OnBootSec", "10min"],
      ["OnUnitActiveSec", "1h"],
      ["RandomizedDelaySec", "5min"],
    ]),
  ];

  return cloudConfig({
    ...etcdDiskConfig(),
    write_files: files.map(withOwner),
    runcmd: START_BOOTSTRAP,
  });
}

/**
 * The script an Azure Run Command runs on each master to bring it to `kubernetesVersion`
 * (`kubeadm upgrade apply` on the first, `kubeadm upgrade node` on the others). Idempotent: a
 * master already at the version does nothing, so the command can run on every deployment.
 */
export function renderMasterUpgradeScript(args: MasterCloudInitArgs): string {
  checkCluster(args);
  return renderScript("upgrade-master", true, masterSettings(args, "upgrade", "/var/log/aura-upgrade.log"));
}

/**
 * The gate after a master's VM changed (settle-master.sh): waits until the master is back (control
 * plane healthy, node Ready) when it has booted before; nothing during its first boot. The VM size
 * is part of the script, so a resize changes the Run Command, which then runs again.
 */
export function renderMasterSettleScript(args: MasterCloudInitArgs & { vmSize: string }): string {
  checkCluster(args);
  if (typeof args.vmSize !== "string" || !/^[A-Za-z0-9_]+$/.test(args.vmSize)) fail("vmSize", args.vmSize, "an Azure VM size such as Standard_D4s_v5");
  return renderScript("settle-master", true, [...masterSettings(args, "settle", "/var/log/aura-settle.log"), ["VM_SIZE", args.vmSize]]);
}

/**
 * Worker document for one VM scale set pool. It carries no secret: the agent fetches the current
 * join token at boot with the agents' identity, which may read only that container. So the scale
 * set model never changes when the token rotates.
 */
export function renderAgentCloudInit(args: AgentCloudInitArgs): string {
  checkCluster(args);
  if (typeof args.pool !== "string" || !DNS_LABEL.test(args.pool)) {
    fail("pool", args.pool, "a lowercase DNS label (valid as a node label value)");
  }
  assertCaCertHash(args.caCertHash);
  const metadata = checkMetadata(args.metadata);

  const settings: Setting[] = [
    ["AURA_ROLE", "agent"],
    ["AURA_TASK", "bootstrap"],
    ["K8S_VERSION", args.kubernetesVersion],
    ["CONTAINERD_VERSION", CONTAINERD_APT_VERSION],
    ["LOG_FILE", BOOTSTRAP_LOG_PATH],
    ["KUBEADM_CONFIG", KUBEADM_CONFIG_PATH],
    ["KUBEADM_JOIN_TEMPLATE", KUBEADM_JOIN_TEMPLATE_PATH],
    ["API_SERVER_HOST", args.apiServerHost],
    ["API_INTERNAL_IP", args.apiServerInternalIp],
    ["BLOB_ENDPOINT", metadata.blobEndpoint],
    ["IDENTITY_CLIENT_ID", metadata.identityClientId],
    ["JOIN_TOKEN_PATH", JOIN_TOKEN_PATH],
  ];
  const files: WriteFile[] = [
    ...kernelFiles(),
    ...podImdsBlockFiles(),
    {
      path: KUBEADM_JOIN_TEMPLATE_PATH,
      content: joinKubeadmConfig(args, args.caCertHash, {
        controlPlane: false,
        extraKubeletArgs: [arg("node-labels", `agentpool=${args.pool}`)],
      }),
      permissions: "0600",
    },
    { path: BOOTSTRAP_SCRIPT_PATH, content: renderScript("role-agent", false, settings), permissions: "0755" },
    bootstrapUnit(),
  ];

  return cloudConfig({
    write_files: files.map(withOwner),
    runcmd: START_BOOTSTRAP,
  });
}

function withOwner(f: WriteFile): WriteFile {
  return { path: f.path, owner: "root:root", permissions: f.permissions, content: f.content };
}

/**
 * Azure custom data: gzip (level 9, no file name, mtime 0, so the output is
 * deterministic) then base64. Throws when the gzip bytes exceed Azure's
 * 65535-byte limit.
 */
export function encodeCustomData(doc: string): string {
  // zlib's default level: level 9 saved 0.5% of the bytes (about 300 of the master's 38 KB) for
  // three times the CPU of every plan and deployment.
  const gz = zlib.gzipSync(Buffer.from(doc, "utf8"), { level: 6 });
  // zlib writes mtime 0 and no file name; pin the OS byte (RFC 1952: 3 = Unix)
  // too, so every platform that runs the program produces the same bytes.
  gz[9] = 3;
  if (gz.length > CUSTOM_DATA_MAX_BYTES) {
    throw new Error(
      `cloudinit: custom data is ${gz.length} bytes after gzip, over Azure's limit of ${CUSTOM_DATA_MAX_BYTES} bytes ` +
        `(document is ${Buffer.byteLength(doc, "utf8")} bytes before compression)`,
    );
  }
  return gz.toString("base64");
}
