// A scratch world for running the rendered node scripts for real: cloud-init's write_files laid
// out under a temporary root (the scripts' AURA_ROOT), and stub commands on PATH standing in for
// the node (apt-get, systemctl, kubeadm, kubectl, ...) and for Azure (curl answering the instance
// metadata endpoint, Blob storage with leases, and the API server's /readyz). Every stub call is
// appended to a log the tests read. The world is removed with `dispose()`.
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type { ClusterBootstrap } from "../components/infra/cloudinit";
import { CONTAINERD_APT_VERSION } from "../components/infra/pins";

export const BLOB_ENDPOINT = "https://auraprodmeta01.blob.core.windows.net/";
/** The cluster the boot tests render documents for (realistic prod values). */
export const TEST_CLUSTER: ClusterBootstrap = {
    clusterName: "aura-prod",
    kubernetesVersion: "1.33.5",
    apiServerHost: "aura-prod-api.westeurope.cloudapp.azure.com",
    apiServerPort: 6443,
    apiServerInternalIp: "10.240.0.254",
    podCidr: "10.244.0.0/16",
    serviceCidr: "10.96.0.0/12",
};
const STUB_TOKEN_PREFIX = "stub-bearer-";

/**
 * curl stand-in (Python: it starts fast, and cloud-init, whose `schema` the tests need anyway,
 * brings /usr/bin/python3): IMDS tokens, Blob storage (GET, PUT, leases, per-identity access),
 * the API server probe, local health checks.
 */
const CURL_STUB = String.raw`#!/usr/bin/python3
import json, os, sys, time, urllib.parse
state = os.environ["STUB_STATE"]
endpoint = os.environ["STUB_BLOB_ENDPOINT"]
args = sys.argv[1:]
def log(line):
    with open(os.path.join(state, "calls.log"), "a") as f:
        f.write(os.environ["STUB_HOSTNAME"] + " curl " + line + "\n")
method, out, dump, write, data_file, url, resolve_to = "GET", None, None, None, None, None, None
headers = {}
def add_header(h):
    if ":" in h:
        k, v = h.split(":", 1)
        headers[k.strip().lower()] = v.strip()
i = 0
while i < len(args):
    a = args[i]
    if a == "-X": i += 1; method = args[i]
    elif a == "-H":
        i += 1
        if args[i].startswith("@"):
            for line in open(args[i][1:]).read().split("\n"): add_header(line)
        else: add_header(args[i])
    elif a == "-o": i += 1; out = args[i]
    elif a == "-D": i += 1; dump = args[i]
    elif a == "-w": i += 1; write = args[i]
    elif a == "--data-binary": i += 1; data_file = args[i]
    elif a == "--resolve": i += 1; resolve_to = args[i].rsplit(":", 1)[1]
    elif a in ("--max-time", "--cacert"): i += 1
    elif not a.startswith("-"): url = a
    i += 1
failing = any(a.startswith("-") and not a.startswith("--") and "f" in a[1:] for a in args)
def consume_failure(key):
    f = os.path.join(state, "fail", key)
    if not os.path.exists(f): return False
    left = int(open(f).read() or "0")
    if left <= 0: return False
    open(f, "w").write(str(left - 1))
    return True
def answer(code, body=b"", response_headers=None):
    if isinstance(body, str): body = body.encode()
    if out: open(out, "wb").write(body)
    elif body and not write: sys.stdout.buffer.write(body)
    if dump: open(dump, "w").write("\n".join(k + ": " + v for k, v in (response_headers or {}).items()))
    if write: sys.stdout.write(str(code).zfill(3))
    sys.stdout.flush()
    sys.exit(7 if code == 0 else 22 if failing and code >= 400 else 0)
if url.startswith("http://169.254.169.254/metadata/identity/oauth2/token"):
    client_id = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["client_id"][0]
    log("imds-token " + client_id)
    if consume_failure("imds"): answer(500)
    answer(200, json.dumps({"access_token": "${STUB_TOKEN_PREFIX}" + client_id, "token_type": "Bearer"}))
if url.startswith("https://pkgs.k8s.io/"): log("download " + url); answer(200, "stub release key")
if url.startswith("https://127.0.0.1:") or url.startswith("http://127.0.0.1:"): log("health " + url); answer(200, "ok")
if url.endswith(":6443/readyz"):
    # Through the load balancer: up while any API server runs ("api-up"); at one master's address
    # (--resolve): up while that master's runs ("api-up-at-<address>").
    up = os.path.exists(os.path.join(state, "api-up-at-" + resolve_to if resolve_to else "api-up"))
    log("api-probe " + (resolve_to + " " if resolve_to else "") + ("up" if up else "down"))
    answer(200, "ok") if up else answer(0)
if not url.startswith(endpoint): log("unexpected " + url); answer(0)

# --- Blob storage ---
blob_path, _, query = url[len(endpoint):].partition("?")
container = blob_path.split("/")[0]
blob_file = os.path.join(state, "blobs", blob_path)
lease_file = blob_file + ".lease.json"
auth = headers.get("authorization", "")
prefix = "Bearer ${STUB_TOKEN_PREFIX}"
client_id = auth[len(prefix):] if auth.startswith(prefix) else ""
acl = json.load(open(os.path.join(state, "acl.json")))
allowed = acl.get(client_id, {}).get(container)
action = headers.get("x-ms-lease-action", "")
log("blob " + method + " " + blob_path + ((" " + query + " " + action) if query else "") + " as " + client_id)
if not allowed or (method == "PUT" and allowed != "write"): answer(403, "AuthorizationPermissionMismatch")
if method == "GET" and consume_failure("blob-get"): answer(503, "ServerBusy")

# Leases change under a lock: two masters race on them.
import fcntl
lock = open(os.path.join(state, "blob.lock"), "w")
fcntl.flock(lock, fcntl.LOCK_EX)
now = time.time()
lease = json.load(open(lease_file)) if os.path.exists(lease_file) else None
active = lease is not None and lease["expires"] > now
code = 500
if method == "GET":
    if os.path.exists(blob_file): answer(200, open(blob_file, "rb").read())
    code = 404
elif query == "comp=lease":
    if not os.path.exists(blob_file): code = 404
    elif action == "acquire":
        if active and lease["id"] != headers.get("x-ms-proposed-lease-id"): code = 409
        else:
            json.dump({"id": headers.get("x-ms-proposed-lease-id"), "expires": now + int(headers["x-ms-lease-duration"])}, open(lease_file, "w"))
            code = 201
    elif action == "renew":
        if lease and lease["id"] == headers.get("x-ms-lease-id"):
            json.dump({"id": lease["id"], "expires": now + 60}, open(lease_file, "w")); code = 200
        else: code = 409
    elif action == "release":
        if lease and lease["id"] == headers.get("x-ms-lease-id"): os.remove(lease_file); code = 200
        else: code = 409
elif method == "PUT":
    if headers.get("if-none-match") == "*" and os.path.exists(blob_file): code = 409
    elif active and headers.get("x-ms-lease-id") != lease["id"]: code = 412
    else:
        os.makedirs(os.path.dirname(blob_file), exist_ok=True)
        open(blob_file, "wb").write(open(data_file.lstrip("@"), "rb").read() if data_file else b"")
        code = 201
answer(code)
`;

/** Bash stubs: each logs `<host> <name> <args>` and answers what the scripts read. */
const BASH_STUBS: Record<string, string> = {
    "apt-get": `fail_once "apt-get-$1"`,
    // The archive's containerd builds (apt-cache madison: package | version | source).
    "apt-cache": String.raw`
if [[ "$1" == madison && "$2" == containerd ]]; then
  cat "$STUB_STATE/containerd-versions"
fi`,
    "apt-mark": "",
    systemctl: "",
    modprobe: "",
    swapoff: "",
    mount: "",
    mountpoint: "",
    nft: "",
    crictl: "",
    gpg: `while [[ $# -gt 0 ]]; do if [[ $1 == -o ]]; then printf 'keyring' > "$2"; shift; fi; shift; done`,
    sysctl: `if [[ "\${1:-}" == -n ]]; then echo 1; fi`,
    // `containerd config default` of the 2.x line: version 3, the runc options and the pinned sandbox.
    containerd: `printf "version = 3\\n\\n[plugins]\\n  [plugins.'io.containerd.cri.v1.images'.pinned_images]\\n    sandbox = 'registry.k8s.io/pause:3.10.1'\\n\\n  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]\\n    SystemdCgroup = false\\n"`,
    ip: `echo "168.63.129.16 via 10.240.0.1 dev eth0 src \${STUB_NODE_IP} uid 0"`,
    hostname: `echo "\${STUB_HOSTNAME}"`,
    sleep: `/bin/sleep 0.02`,
    kubelet: `echo "Kubernetes v$(cat "\${STUB_STATE}/kubelet-version" 2>/dev/null || echo 1.33.5)"`,
    kubeadm: String.raw`
case "$1 $2" in
  "config images") echo "registry.k8s.io/pause:3.10" ;;
  "init --config")
    fail_once kubeadm-init
    echo "$STUB_HOSTNAME" >> "$STUB_STATE/init-by"
    # A stall past the init lock's lease, during which another master takes the lock.
    if [[ -f "$STUB_STATE/init-lease-lapses" ]]; then
      printf '{"id": "another-master", "expires": %s}' "$(( $(date +%s) + 600 ))" > "$STUB_STATE/blobs/cluster-bootstrap/init.lock.lease.json"
    fi
    cp "$AURA_ROOT/etc/hosts" "$STUB_STATE/hosts-at-init"
    mkdir -p "$AURA_ROOT/etc/kubernetes/manifests"
    touch "$AURA_ROOT/etc/kubernetes/admin.conf" "$AURA_ROOT/etc/kubernetes/manifests/kube-apiserver.yaml"
    touch "$STUB_STATE/api-up" "$STUB_STATE/api-up-at-$STUB_NODE_IP" ;;
  "init phase")
    dir=""; while [[ $# -gt 0 ]]; do [[ $1 == --kubeconfig-dir ]] && dir=$2; shift; done
    echo "apiVersion: v1" > "$dir/admin.conf" ;;
  "join --config")
    fail_once kubeadm-join
    if grep -q '@AURA_' "$3"; then echo "unfilled placeholder in $3" >&2; exit 1; fi
    cp "$3" "$STUB_STATE/join-config-$STUB_HOSTNAME.yaml"
    cp "$AURA_ROOT/etc/hosts" "$STUB_STATE/hosts-at-join-$STUB_HOSTNAME"
    echo "$STUB_HOSTNAME" >> "$STUB_STATE/joined" ;;
  "token create") echo "k7x9q2.p4m8z1c6v3b5n7w0" ;;
esac`,
    kubectl: String.raw`
args="$*"
case "$args" in
  *"get pods -l component=etcd"*) cat "$STUB_STATE/etcd-pods" 2>/dev/null || true ;;
  # The API server reaches a kubelet (exec, logs) only once its serving certificate is approved.
  *" exec etcd-"*)
    pod="$args"; pod="etcd-$(sed -E 's/.* exec etcd-([^ ]+) .*/\1/' <<<"$pod")"
    if [[ ! -f "$STUB_STATE/serving-approved-$(sed 's/^etcd-//' <<<"$pod")" ]]; then
      echo "error: error dialing backend: remote error: tls: internal error" >&2; exit 1
    fi
    case "$args" in
      *"member list"*) cat "$STUB_STATE/etcd-members" ;;
      *"member remove"*) for last; do :; done; echo "$last" >> "$STUB_STATE/etcd-removed" ;;
    esac ;;
  # A node's Ready condition: True once the test says so (node-ready-<host>).
  *"get node "*)
    if [[ -f "$STUB_STATE/node-ready-$STUB_HOSTNAME" ]]; then echo True; else echo False; fi ;;
  # The kubelet's serving certificate request, pending until approved (serverTLSBootstrap).
  *"get csr"*)
    if [[ ! -f "$STUB_STATE/serving-approved-$STUB_HOSTNAME" ]]; then echo "csr-$STUB_HOSTNAME system:node:$STUB_HOSTNAME"; fi
    echo "csr-other system:node:someone-else" ;;
  *"certificate approve"*)
    shift 4
    for name in "$@"; do echo "$STUB_HOSTNAME $name" >> "$STUB_STATE/csr-approved"; done
    touch "$STUB_STATE/serving-approved-$STUB_HOSTNAME"
    mkdir -p "$AURA_ROOT/var/lib/kubelet/pki" && echo cert > "$AURA_ROOT/var/lib/kubelet/pki/kubelet-server-current.pem" ;;
esac`,
};

export interface RunResult {
    status: number | null;
    output: string;
}

export class BootWorld {
    readonly dir: string;
    readonly state: string;
    private readonly bin: string;

    /** `acl`: identity client id → container → "read" | "write", enforced by the Blob stub. */
    constructor(acl: Record<string, Record<string, "read" | "write">>) {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "aura-boot-"));
        this.state = path.join(this.dir, "cloud");
        this.bin = path.join(this.dir, "bin");
        fs.mkdirSync(path.join(this.state, "fail"), { recursive: true });
        fs.mkdirSync(this.bin);
        fs.writeFileSync(path.join(this.state, "calls.log"), "");
        fs.writeFileSync(path.join(this.state, "acl.json"), JSON.stringify(acl));
        // The archive has a build the pin matches (its floating rebuild number as 2), and the release's.
        this.archiveContainerd([CONTAINERD_APT_VERSION.replace("*", "2"), "1.7.12-0ubuntu4"]);
        fs.writeFileSync(path.join(this.bin, "curl"), CURL_STUB, { mode: 0o755 });
        // The scripts' python3 is the system one (a version manager's shim would only be slower).
        fs.writeFileSync(path.join(this.bin, "python3"), '#!/bin/sh\nexec /usr/bin/python3 "$@"\n', { mode: 0o755 });
        for (const [name, body] of Object.entries(BASH_STUBS)) {
            fs.writeFileSync(
                path.join(this.bin, name),
                [
                    "#!/usr/bin/env bash",
                    `printf '%s ${name} %s\\n' "$STUB_HOSTNAME" "$*" >> "$STUB_STATE/calls.log"`,
                    // fail_once <key>: fails while $STUB_STATE/fail/<key> holds a count above zero.
                    'fail_once() { local f="$STUB_STATE/fail/$1" n; [[ -f $f ]] || return 0; n=$(<"$f"); (( n > 0 )) || return 0; echo $((n - 1)) > "$f"; echo "stub: injected failure of $1" >&2; exit 1; }',
                    body,
                    "",
                ].join("\n"),
                { mode: 0o755 },
            );
        }
    }

    /** Stores a blob in the fake storage account (`container/blob`). */
    putBlob(blobPath: string, content: string | Buffer): void {
        const f = path.join(this.state, "blobs", blobPath);
        fs.mkdirSync(path.dirname(f), { recursive: true });
        fs.writeFileSync(f, content);
    }

    blobExists(blobPath: string): boolean {
        return fs.existsSync(path.join(this.state, "blobs", blobPath));
    }

    /** Makes the stub `key` fail `times` times (keys: apt-get-update, blob-get, kubeadm-init, ...). */
    failNext(key: string, times: number): void {
        fs.writeFileSync(path.join(this.state, "fail", key), String(times));
    }

    write(name: string, content: string): void {
        fs.writeFileSync(path.join(this.state, name), content);
    }

    /** The containerd builds the archive offers (apt-cache madison). */
    archiveContainerd(versions: string[]): void {
        fs.writeFileSync(path.join(this.state, "containerd-versions"), versions.map((v) => ` containerd | ${v} | http://azure.archive.ubuntu.com/ubuntu noble-updates/main amd64 Packages\n`).join(""));
    }

    read(name: string): string {
        const f = path.join(this.state, name);
        return fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "";
    }

    /** Stub calls of one host, in order. */
    calls(host: string): string[] {
        return this.read("calls.log").split("\n").filter((l) => l.startsWith(`${host} `)).map((l) => l.slice(host.length + 1));
    }

    /** Lays out a node: the document's write_files under its own root, /etc/hosts and /etc/fstab. */
    node(host: string, cloudConfig: string): string {
        const root = path.join(this.dir, "nodes", host);
        for (const f of (yaml.load(cloudConfig) as { write_files: Array<{ path: string; content: string; permissions: string }> }).write_files) {
            const target = path.join(root, f.path);
            fs.mkdirSync(path.dirname(target), { recursive: true });
            fs.writeFileSync(target, f.content, { mode: parseInt(f.permissions, 8) });
        }
        fs.mkdirSync(path.join(root, "etc"), { recursive: true });
        fs.writeFileSync(path.join(root, "etc", "hosts"), "127.0.0.1 localhost\n");
        fs.writeFileSync(path.join(root, "etc", "fstab"), "UUID=abc / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n");
        return root;
    }

    private env(host: string, root: string, nodeIp: string): NodeJS.ProcessEnv {
        return {
            PATH: `${this.bin}:${process.env.PATH}`,
            HOME: root,
            AURA_ROOT: root,
            STUB_STATE: this.state,
            STUB_HOSTNAME: host,
            STUB_NODE_IP: nodeIp,
            STUB_BLOB_ENDPOINT: BLOB_ENDPOINT,
        };
    }

    /** Runs `script` (a path inside the node's root) to the end, as systemd would start it once. */
    run(host: string, root: string, script: string, nodeIp = "10.240.0.4"): RunResult {
        const r = spawnSync("bash", [path.join(root, script)], { env: this.env(host, root, nodeIp), encoding: "utf8", timeout: 120_000 });
        return { status: r.status, output: `${r.stdout}${r.stderr}` };
    }

    /** Starts the script without waiting (for races). */
    start(host: string, root: string, script: string, nodeIp: string): Promise<RunResult> {
        return new Promise((resolve) => {
            const child = spawn("bash", [path.join(root, script)], { env: this.env(host, root, nodeIp) });
            let output = "";
            child.stdout.on("data", (d) => (output += d));
            child.stderr.on("data", (d) => (output += d));
            child.on("close", (status) => resolve({ status, output }));
        });
    }

    dispose(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

/** A real self-signed CA (the scripts check it with openssl and hash its public key). */
export function makeCa(dir: string): { crt: string; key: string } {
    const key = path.join(dir, "ca.key");
    const crt = path.join(dir, "ca.crt");
    const r = spawnSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=kubernetes"], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
    return { crt: fs.readFileSync(crt, "utf8"), key: fs.readFileSync(key, "utf8") };
}
