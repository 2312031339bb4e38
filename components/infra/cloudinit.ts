/**
 * Renders the cloud-init (#cloud-config) documents that boot a kubeadm
 * Kubernetes cluster on Azure Ubuntu 24.04 VMs.
 *
 * Pure functions: plain values in, a string out. No Pulumi imports, so the
 * infra code decides what is secret (the agent document carries the join
 * token and must be treated as a secret; master documents carry none).
 *
 * Roles:
 *  - master "init": first control-plane node, runs `kubeadm init`.
 *  - master "join": other control-plane nodes, `kubeadm join` with
 *    `controlPlane: {}` (CAs distributed through the metadata store).
 *  - agent: one document per VM scale set pool, `kubeadm join` as a worker.
 *
 * The boot script is assembled from the files in ./scripts (read at runtime,
 * relative to this file) plus a header of shell-quoted settings.
 */
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import * as yaml from "js-yaml";

// ---------------------------------------------------------------------------
// Constants shared with the infra code
// ---------------------------------------------------------------------------

export const KUBEADM_API_VERSION = "kubeadm.k8s.io/v1beta4";
export const KUBELET_CONFIG_API_VERSION = "kubelet.config.k8s.io/v1beta1";
export const AUDIT_API_VERSION = "audit.k8s.io/v1";
/** kubeadm v1beta4 needs Kubernetes 1.31 or newer. */
export const MIN_KUBERNETES_MINOR = 31;

/**
 * Fixed layout of the metadata store container. The infra code uploads the
 * cluster PKI and the join token under these blob names; control-plane nodes
 * download them at boot with their user-assigned managed identity.
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
  /** A file holding the join token, e.g. `abcdef.0123456789abcdef`. */
  bootstrapToken: "kubeadm/bootstrap-token",
} as const;

/** The blobs that are installed under /etc/kubernetes/pki (the `pki/` prefix is stripped). */
export const METADATA_PKI_BLOBS: readonly string[] = Object.values(METADATA_BLOBS).filter((b) =>
  b.startsWith("pki/"),
);

/** Azure's limit on the size of (base64-decoded) custom data. */
export const CUSTOM_DATA_MAX_BYTES = 65535;

export const BOOTSTRAP_SCRIPT_PATH = "/usr/local/bin/aura-bootstrap.sh";
export const BOOTSTRAP_LOG_PATH = "/var/log/aura-bootstrap.log";
/** kubeadm configuration used by every role (`kubeadm init|join --config`). */
export const KUBEADM_CONFIG_PATH = "/etc/kubernetes/kubeadm-config.yaml";
/** master-join only: JoinConfiguration with placeholders filled in at boot. */
export const KUBEADM_JOIN_TEMPLATE_PATH = "/etc/kubernetes/kubeadm-join.yaml.tmpl";
export const AUDIT_POLICY_PATH = "/etc/kubernetes/audit-policy.yaml";
export const AUDIT_LOG_DIR = "/var/log/kubernetes/audit";
export const AUDIT_LOG_PATH = `${AUDIT_LOG_DIR}/audit.log`;
export const CONTAINERD_SOCKET = "unix:///run/containerd/containerd.sock";

/** etcd data disk: Azure data disk at LUN 0, laid out as Cluster API Provider Azure does. */
export const ETCD_DISK = {
  device: "/dev/disk/azure/scsi1/lun0",
  label: "etcd_disk",
  filesystem: "ext4",
  mountPoint: "/var/lib/etcddisk",
  dataDir: "/var/lib/etcddisk/etcd",
} as const;

/** Placeholders in the master-join template, replaced on the VM. */
export const JOIN_TEMPLATE_TOKEN_PLACEHOLDER = "@AURA_BOOTSTRAP_TOKEN@";
export const JOIN_TEMPLATE_CA_HASH_PLACEHOLDER = "@AURA_CA_CERT_HASH@";

export const BOOTSTRAP_TOKEN_PATTERN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
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
  /** IPv4 CIDR, e.g. "10.244.0.0/16". */
  podCidr: string;
  /** IPv4 CIDR, e.g. "10.96.0.0/12". */
  serviceCidr: string;
}

export interface MetadataSource {
  /** Storage account blob endpoint, e.g. "https://acct.blob.core.windows.net/". */
  blobEndpoint: string;
  /** Blob container holding METADATA_BLOBS. */
  container: string;
  /** Client id of the VM's user-assigned managed identity. */
  identityClientId: string;
}

export type MasterRole = "init" | "join";

export interface MasterCloudInitArgs extends ClusterBootstrap {
  role: MasterRole;
  metadata: MetadataSource;
}

export interface AgentCloudInitArgs extends ClusterBootstrap {
  /** Agent pool (VM scale set) name, used for the `agentpool=<pool>` node label. */
  pool: string;
  /** Join token, `[a-z0-9]{6}.[a-z0-9]{16}`. Secret. */
  bootstrapToken: string;
  /** `sha256:<64 hex>` of the cluster CA's public key. */
  caCertHash: string;
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CONTAINER_NAME = /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/;
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

function checkCluster(args: ClusterBootstrap): { minor: string } {
  if (typeof args.clusterName !== "string" || !DNS_LABEL.test(args.clusterName)) {
    fail("clusterName", args.clusterName, "a lowercase DNS label (a-z, 0-9, '-', at most 63 characters)");
  }
  const version = parseKubernetesVersion(args.kubernetesVersion);
  checkHostName(args.apiServerHost);
  if (!Number.isInteger(args.apiServerPort) || args.apiServerPort < 1 || args.apiServerPort > 65535) {
    fail("apiServerPort", args.apiServerPort, "an integer between 1 and 65535");
  }
  checkIpv4Cidr("podCidr", args.podCidr);
  checkIpv4Cidr("serviceCidr", args.serviceCidr);
  return version;
}

function checkMetadata(m: MetadataSource): MetadataSource {
  const blobEndpoint = m.blobEndpoint.endsWith("/") ? m.blobEndpoint : `${m.blobEndpoint}/`;
  if (!BLOB_ENDPOINT.test(blobEndpoint)) {
    fail("metadata.blobEndpoint", m.blobEndpoint, 'an https endpoint like "https://acct.blob.core.windows.net/"');
  }
  if (!CONTAINER_NAME.test(m.container)) {
    fail("metadata.container", m.container, "an Azure blob container name (3-63 of a-z, 0-9, '-')");
  }
  if (!GUID.test(m.identityClientId)) {
    fail("metadata.identityClientId", m.identityClientId, "a GUID (managed identity client id)");
  }
  return { blobEndpoint, container: m.container, identityClientId: m.identityClientId.toLowerCase() };
}

/** Throws unless `token` is a kubeadm bootstrap token. The value is never echoed back. */
export function assertBootstrapToken(token: string): void {
  if (typeof token !== "string" || !BOOTSTRAP_TOKEN_PATTERN.test(token)) {
    throw new Error(
      `cloudinit: invalid bootstrapToken: expected ${BOOTSTRAP_TOKEN_PATTERN.source} (the value is not shown)`,
    );
  }
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

type ScriptRole = "master-init" | "master-join" | "agent";

function renderBootstrapScript(
  role: ScriptRole,
  settings: Array<[string, string | readonly string[]]>,
): string {
  const lines = [
    "#!/usr/bin/env bash",
    `# Aura node bootstrap (${role}). Rendered by components/infra/cloudinit.ts; do not edit on the node.`,
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
  if (role !== "agent") parts.push(readScript("lib-master.sh"));
  parts.push(readScript(`role-${role}.sh`));
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
      local: { dataDir: ETCD_DISK.dataDir },
    },
    apiServer: {
      certSANs: [args.apiServerHost, "localhost", "127.0.0.1"],
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
    kubeletExtraArgs: [arg("cloud-provider", "external"), ...extraKubeletArgs],
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
  ]);
}

function joinKubeadmConfig(
  args: ClusterBootstrap,
  token: string,
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
        token,
        caCertHashes: [caCertHash],
      },
    },
  };
  if (options.controlPlane) doc.controlPlane = {};
  return toYaml(doc);
}

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

/**
 * Control-plane node document. Contains no secrets: only the blob endpoint,
 * container name, identity client id, API host, versions and CIDRs. The PKI
 * and the join token are fetched from the metadata store at boot.
 */
export function renderMasterCloudInit(args: MasterCloudInitArgs): string {
  if (args.role !== "init" && args.role !== "join") fail("role", args.role, '"init" or "join"');
  checkCluster(args);
  const metadata = checkMetadata(args.metadata);
  const scriptRole: ScriptRole = args.role === "init" ? "master-init" : "master-join";

  const settings: Array<[string, string | readonly string[]]> = [
    ["AURA_ROLE", scriptRole],
    ["K8S_VERSION", args.kubernetesVersion],
    ["LOG_FILE", BOOTSTRAP_LOG_PATH],
    ["KUBEADM_CONFIG", KUBEADM_CONFIG_PATH],
    ["API_SERVER_HOST", args.apiServerHost],
    ["ETCD_MOUNT", ETCD_DISK.mountPoint],
    ["BLOB_ENDPOINT", metadata.blobEndpoint],
    ["BLOB_CONTAINER", metadata.container],
    ["IDENTITY_CLIENT_ID", metadata.identityClientId],
    ["METADATA_PKI_BLOBS", METADATA_PKI_BLOBS],
    ["METADATA_TOKEN_BLOB", METADATA_BLOBS.bootstrapToken],
  ];

  const files: WriteFile[] = [
    ...kernelFiles(),
    { path: AUDIT_POLICY_PATH, content: toYaml(auditPolicy()), permissions: "0644" },
  ];

  if (args.role === "init") {
    files.push({ path: KUBEADM_CONFIG_PATH, content: initKubeadmConfig(args), permissions: "0600" });
  } else {
    settings.push(["KUBEADM_JOIN_TEMPLATE", KUBEADM_JOIN_TEMPLATE_PATH]);
    const template = joinKubeadmConfig(args, JOIN_TEMPLATE_TOKEN_PLACEHOLDER, JOIN_TEMPLATE_CA_HASH_PLACEHOLDER, {
      controlPlane: true,
    });
    // The placeholders must come out quoted so that the substituted values
    // stay strings whatever they look like (an all-digit token is a float
    // in YAML 1.1).
    for (const p of [JOIN_TEMPLATE_TOKEN_PLACEHOLDER, JOIN_TEMPLATE_CA_HASH_PLACEHOLDER]) {
      if (!template.includes(`'${p}'`)) throw new Error(`cloudinit: internal error: placeholder ${p} is not quoted`);
    }
    files.push({ path: KUBEADM_JOIN_TEMPLATE_PATH, content: template, permissions: "0600" });
  }

  files.push({
    path: BOOTSTRAP_SCRIPT_PATH,
    content: renderBootstrapScript(scriptRole, settings),
    permissions: "0755",
  });

  return cloudConfig({
    ...etcdDiskConfig(),
    write_files: files.map(withOwner),
    runcmd: [[BOOTSTRAP_SCRIPT_PATH]],
  });
}

/**
 * Worker document for one VM scale set pool. It carries the join token and
 * the CA hash: the infra code must mark the result (and its encoding) secret.
 */
export function renderAgentCloudInit(args: AgentCloudInitArgs): string {
  checkCluster(args);
  if (typeof args.pool !== "string" || !DNS_LABEL.test(args.pool)) {
    fail("pool", args.pool, "a lowercase DNS label (valid as a node label value)");
  }
  assertBootstrapToken(args.bootstrapToken);
  assertCaCertHash(args.caCertHash);

  const settings: Array<[string, string | readonly string[]]> = [
    ["AURA_ROLE", "agent"],
    ["K8S_VERSION", args.kubernetesVersion],
    ["LOG_FILE", BOOTSTRAP_LOG_PATH],
    ["KUBEADM_CONFIG", KUBEADM_CONFIG_PATH],
  ];
  const files: WriteFile[] = [
    ...kernelFiles(),
    {
      path: KUBEADM_CONFIG_PATH,
      content: joinKubeadmConfig(args, args.bootstrapToken, args.caCertHash, {
        controlPlane: false,
        extraKubeletArgs: [arg("node-labels", `agentpool=${args.pool}`)],
      }),
      permissions: "0600",
    },
    { path: BOOTSTRAP_SCRIPT_PATH, content: renderBootstrapScript("agent", settings), permissions: "0755" },
  ];

  return cloudConfig({
    write_files: files.map(withOwner),
    runcmd: [[BOOTSTRAP_SCRIPT_PATH]],
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
  const gz = zlib.gzipSync(Buffer.from(doc, "utf8"), { level: 9 });
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
