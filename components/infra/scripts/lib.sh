#!/usr/bin/env bash
# Aura node scripts: function library shared by every role and every script.
#
# This file is not executed on its own. components/infra/cloudinit.ts renders
# each script as: shebang + `set -euo pipefail` + shell-quoted settings
# (AURA_ROLE, K8S_VERSION, LOG_FILE, ...) + this library (+ lib-master.sh on
# control-plane nodes) + one task file (role-*.sh, renew-certs.sh, ...).
# Never enable `set -x`: the scripts handle bearer tokens and join tokens.
#
# AURA_ROOT prefixes every path the scripts write: it is unset on nodes; the
# tests set it to a scratch directory and run the scripts against stubs.

set -o errtrace
# Secret files get explicit modes or live in 0700 directories; keep the
# default umask for everything else (apt, kubeadm, containerd).
umask 022

readonly AURA_ROOT="${AURA_ROOT:-}"
readonly STATE_DIR="${AURA_ROOT}/var/lib/aura"
readonly DONE_MARKER="${STATE_DIR}/bootstrap.done"
readonly KUBEADM_MARKER="${STATE_DIR}/kubeadm.done"
# The one place an operator reads how the boot is going (see the README).
readonly STATE_FILE="${STATE_DIR}/bootstrap.state"
readonly HOSTS_FILE="${AURA_ROOT}/etc/hosts"
readonly APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

install -d -m 0700 "${STATE_DIR}"
install -d -m 0755 "$(dirname "${AURA_ROOT}${LOG_FILE}")"
touch "${AURA_ROOT}${LOG_FILE}"
chmod 0600 "${AURA_ROOT}${LOG_FILE}"
# Under systemd stdout is the journal; the file keeps a copy across reboots.
exec > >(tee -a "${AURA_ROOT}${LOG_FILE}") 2>&1

CURRENT_STEP=start
# Scratch files of this run (blob responses, header files), removed on exit.
AURA_TMP="$(mktemp -d)"
readonly AURA_TMP
# Background jobs (a lock keepalive) end with the script, whatever ends it.
on_exit() {
  local pids
  pids="$(jobs -p)"
  if [[ -n "${pids}" ]]; then
    # shellcheck disable=SC2086
    kill ${pids} 2>/dev/null || true
  fi
  rm -rf "${AURA_TMP}"
}
trap on_exit EXIT

log() {
  printf '%s [aura:%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${AURA_ROLE}" "$*" >&2
}

# record_state <status> [message]: rewrites the state file atomically.
record_state() {
  local status=$1 message=${2:-}
  [[ "${AURA_TASK:-bootstrap}" == bootstrap ]] || return 0
  printf 'status=%s\nstep=%s\nrole=%s\nupdated=%s\nmessage=%s\n' \
    "${status}" "${CURRENT_STEP}" "${AURA_ROLE}" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${message}" > "${STATE_FILE}.tmp"
  mv -f "${STATE_FILE}.tmp" "${STATE_FILE}"
}

die() {
  log "ERROR: $*"
  record_state failed "$*"
  exit 1
}

on_error() {
  local rc=$?
  log "ERROR: command failed (exit ${rc}) at line ${BASH_LINENO[0]}: ${BASH_COMMAND%% *}"
  record_state failed "step ${CURRENT_STEP} failed (exit ${rc}); systemd retries it"
  exit "${rc}"
}
trap on_error ERR

# step <name> <command...>: runs one boot step and records it. A failure ends
# the script non-zero; the systemd unit then runs it again after a backoff, and
# finished steps are skipped through their own markers.
step() {
  CURRENT_STEP=$1
  shift
  record_state running
  log "step ${CURRENT_STEP}"
  "$@"
}

# retry <attempts> <sleep-seconds> <command...>
retry() {
  local attempts=$1 pause=$2 n=1
  shift 2
  until "$@"; do
    if (( n >= attempts )); then
      log "giving up after ${n} attempts: $1"
      return 1
    fi
    log "attempt ${n}/${attempts} failed: $1; retrying in ${pause}s"
    n=$((n + 1))
    sleep "${pause}"
  done
}

apt_get() {
  DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" "$@"
}

disable_swap() {
  log "disabling swap"
  swapoff -a
  # Comment out swap entries so swap stays off after a reboot.
  sed -i -E 's@^([^#[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]].*)$@# \1@' "${AURA_ROOT}/etc/fstab"
}

configure_kernel() {
  log "loading kernel modules and applying sysctls"
  # The files themselves are written by cloud-init (write_files).
  modprobe overlay
  modprobe br_netfilter
  sysctl --system >/dev/null
  [[ "$(sysctl -n net.ipv4.ip_forward)" == "1" ]] || die "net.ipv4.ip_forward is not 1"
  [[ "$(sysctl -n net.bridge.bridge-nf-call-iptables)" == "1" ]] || die "bridge-nf-call-iptables is not 1"
}

# Whether the archive still offers a containerd build the pin matches: the
# Ubuntu archive keeps only the newest build of each pocket.
containerd_version_available() {
  local version
  while read -r version; do
    # The pin is a glob (the rebuild number floats).
    # shellcheck disable=SC2053
    [[ "${version}" == ${CONTAINERD_VERSION} ]] && return 0
  done < <(apt-cache madison containerd | awk '{ print $3 }')
  return 1
}

install_containerd() {
  log "installing containerd ${CONTAINERD_VERSION} from the Ubuntu archive"
  retry 5 15 apt_get update
  containerd_version_available || die "containerd ${CONTAINERD_VERSION} is not in the Ubuntu archive any more (it has: $(apt-cache madison containerd | awk '{ print $3 }' | paste -sd ' ' -)): pin an available one in components/infra/pins.ts (CONTAINERD_APT_VERSION) and run pulumi up"
  retry 5 15 apt_get install -y --no-install-recommends --allow-change-held-packages \
    "containerd=${CONTAINERD_VERSION}" ca-certificates curl gpg openssl nftables
  apt-mark hold containerd
  mkdir -p "${AURA_ROOT}/etc/containerd"
  containerd config default > "${AURA_ROOT}/etc/containerd/config.toml"
  sed -i -E 's/^([[:space:]]*)SystemdCgroup = false/\1SystemdCgroup = true/' "${AURA_ROOT}/etc/containerd/config.toml"
  grep -q 'SystemdCgroup = true' "${AURA_ROOT}/etc/containerd/config.toml" || die "could not enable SystemdCgroup in containerd config"
  chmod 0644 "${AURA_ROOT}/etc/containerd/config.toml"
  systemctl enable containerd
  systemctl restart containerd
}

# use_kubernetes_repo <version>: points apt at the pkgs.k8s.io repository of the version's minor.
use_kubernetes_repo() {
  local minor="${1%.*}" repo keyring="${AURA_ROOT}/etc/apt/keyrings/kubernetes-apt-keyring.gpg" key
  repo="https://pkgs.k8s.io/core:/stable:/v${minor}/deb/"
  log "using the Kubernetes package repository ${repo}"
  install -d -m 0755 "${AURA_ROOT}/etc/apt/keyrings" "${AURA_ROOT}/etc/apt/sources.list.d"
  key="$(mktemp)"
  retry 5 15 curl -fsSL -o "${key}" "${repo}Release.key"
  gpg --batch --yes --dearmor -o "${keyring}" "${key}"
  chmod 0644 "${keyring}"
  rm -f "${key}"
  printf 'deb [signed-by=%s] %s /\n' "${keyring#"${AURA_ROOT}"}" "${repo}" > "${AURA_ROOT}/etc/apt/sources.list.d/kubernetes.list"
  chmod 0644 "${AURA_ROOT}/etc/apt/sources.list.d/kubernetes.list"
  retry 5 15 apt_get update
}

install_kubernetes_packages() {
  log "installing kubelet/kubeadm/kubectl ${K8S_VERSION}"
  use_kubernetes_repo "${K8S_VERSION}"
  retry 5 15 apt_get install -y --no-install-recommends --allow-change-held-packages \
    "kubelet=${K8S_VERSION}-*" "kubeadm=${K8S_VERSION}-*" "kubectl=${K8S_VERSION}-*"
  apt-mark hold kubelet kubeadm kubectl
  systemctl daemon-reload
  systemctl enable kubelet

  # Align containerd's sandbox (pause) image with the one kubeadm expects.
  local pause_image
  pause_image="$(kubeadm config images list --kubernetes-version "v${K8S_VERSION}" 2>/dev/null | grep '/pause:' || true)"
  # containerd 2.x: `sandbox` under [plugins.'io.containerd.cri.v1.images'.pinned_images]
  # (1.7 called it `sandbox_image`).
  if [[ -n "${pause_image}" ]] && grep -qE '^[[:space:]]*sandbox(_image)? = ' "${AURA_ROOT}/etc/containerd/config.toml"; then
    sed -i -E "s#^([[:space:]]*)sandbox(_image)? = .*#\\1sandbox\\2 = '${pause_image}'#" "${AURA_ROOT}/etc/containerd/config.toml"
    systemctl restart containerd
  fi
}

# Pods must not reach the instance metadata endpoint (managed identity tokens).
# The nftables table hooks prerouting before the raw table, so no CNI or
# kube-proxy rule can accept the packet first; host-network processes (the
# kubelet, cloud-node-manager, the disk CSI node plugin) use the output path
# and keep their access.
block_pod_imds() {
  log "blocking pod traffic to 169.254.169.254"
  systemctl enable aura-pod-imds-block.service
  systemctl restart aura-pod-imds-block.service
}

# The address the kubelet registers (--node-ip): the source address of the
# route to Azure's platform address, i.e. the primary NIC's private IP.
detect_node_ip() {
  local ip_addr
  ip_addr="$(ip -4 -o route get 168.63.129.16 | sed -n 's/.* src \([0-9.]*\).*/\1/p')"
  [[ "${ip_addr}" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || return 1
  printf '%s' "${ip_addr}"
}

# map_api_host <address>: points the API server name at <address> in /etc/hosts.
# Nodes reach the API through the internal load balancer (inside the VNet, so
# the public allow-list never applies to them); a control-plane node points it
# at itself once it runs an API server, as Azure load balancers do not hairpin.
map_api_host() {
  local address=$1 hosts
  hosts="$(awk -v host="${API_SERVER_HOST}" '{ keep = 1; for (i = 2; i <= NF; i++) if ($i == host) keep = 0 } keep' "${HOSTS_FILE}")"
  printf '%s\n%s %s\n' "${hosts}" "${address}" "${API_SERVER_HOST}" > "${HOSTS_FILE}.aura"
  cat "${HOSTS_FILE}.aura" > "${HOSTS_FILE}"
  rm -f "${HOSTS_FILE}.aura"
  log "${API_SERVER_HOST} resolves to ${address}"
}

# fill_template <template> <destination> <placeholder=value>...: 0600 result.
fill_template() {
  local template=$1 dest=$2 text pair
  shift 2
  text="$(<"${template}")"
  for pair in "$@"; do
    text="${text//"${pair%%=*}"/"${pair#*=}"}"
  done
  install -m 0600 /dev/null "${dest}"
  printf '%s\n' "${text}" > "${dest}"
}

# Prints an Azure Storage access token for the VM's user-assigned identity.
imds_storage_token() {
  local response
  response="$(curl -sSf --max-time 30 -H Metadata:true \
    "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fstorage.azure.com%2F&client_id=${IDENTITY_CLIENT_ID}")" || return 1
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' <<<"${response}"
}

# blob_call <method> <container/blob[?query]> <body file or ""> [header...]
# Prints the HTTP status (000 when there was no answer); the response headers
# land in ${BLOB_OUT}/headers and the body in ${BLOB_OUT}/body. The bearer
# token goes through a private header file so it never shows in a process
# listing. A background job sets its own BLOB_OUT.
BLOB_OUT="${AURA_TMP}"
blob_call() {
  local method=$1 path=$2 body=$3 token headers code rc=0
  shift 3
  token="$(imds_storage_token)" || { log "managed identity token not available yet"; printf '000'; return 0; }
  headers="$(mktemp -p "${BLOB_OUT}")"
  printf 'Authorization: Bearer %s\nx-ms-version: 2021-08-06\n' "${token}" > "${headers}"
  local args=(-sS --max-time 60 -X "${method}" -H @"${headers}" -D "${BLOB_OUT}/headers" -o "${BLOB_OUT}/body" -w '%{http_code}')
  local h
  for h in "$@"; do args+=(-H "${h}"); done
  if [[ -n "${body}" ]]; then
    args+=(--data-binary @"${body}")
  elif [[ "${method}" == PUT ]]; then
    args+=(-H 'Content-Length: 0')
  fi
  code="$(curl "${args[@]}" "${BLOB_ENDPOINT}${path}")" || rc=$?
  rm -f "${headers}"
  (( rc == 0 )) || code=000
  printf '%s' "${code}"
}

# fetch_blob_once <container/blob> <destination file>
fetch_blob_once() {
  local path=$1 dest=$2 code
  code="$(blob_call GET "${path}" "")"
  if [[ "${code}" != 200 ]]; then
    log "could not download ${path} (HTTP ${code}); the role assignment may still be propagating"
    return 1
  fi
  install -m 0600 "${BLOB_OUT}/body" "${dest}"
}

# fetch_blob <container/blob> <destination file>: bounded retries, result mode 0600.
fetch_blob() {
  local path=$1 dest=$2
  log "fetching ${path} from the metadata store"
  install -d -m 0700 "$(dirname "${dest}")"
  retry 30 10 fetch_blob_once "${path}" "${dest}"
}

# Prints the join token from a fetched file after checking its format.
read_join_token() {
  local token
  token="$(tr -d '[:space:]' < "$1")"
  [[ "${token}" =~ ^[a-z0-9]{6}\.[a-z0-9]{16}$ ]] || { log "the join token blob is malformed"; return 1; }
  printf '%s' "${token}"
}

# join_with_retries <attempts> <before-attempt function>
# Runs `kubeadm join` until it succeeds, resetting the node between attempts.
# The function writes ${KUBEADM_CONFIG} afresh before each attempt.
join_with_retries() {
  local attempts=$1 prepare=$2 n
  for n in $(seq 1 "${attempts}"); do
    "${prepare}"
    log "kubeadm join attempt ${n}/${attempts}"
    if kubeadm join --config "${AURA_ROOT}${KUBEADM_CONFIG}"; then
      return 0
    fi
    log "kubeadm join failed; resetting the node before the next attempt"
    kubeadm reset -f || true
    sleep 30
  done
  log "kubeadm join did not succeed after ${attempts} attempts"
  return 1
}

# Tell whether a previous run already finished.
already_bootstrapped() {
  if [[ -f "${DONE_MARKER}" ]]; then
    log "bootstrap already completed (${DONE_MARKER} exists); nothing to do"
    return 0
  fi
  return 1
}

finish() {
  CURRENT_STEP="done"
  date -u +%Y-%m-%dT%H:%M:%SZ > "${DONE_MARKER}"
  record_state "done" "node bootstrapped with Kubernetes ${K8S_VERSION}"
  log "bootstrap complete"
}

prepare_node() {
  if [[ -f "${STATE_DIR}/packages.done" ]]; then
    log "packages already installed"
    return 0
  fi
  disable_swap
  configure_kernel
  install_containerd
  install_kubernetes_packages
  touch "${STATE_DIR}/packages.done"
}
