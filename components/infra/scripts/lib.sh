#!/usr/bin/env bash
# Aura node bootstrap: function library shared by every role.
#
# This file is not executed on its own. components/infra/cloudinit.ts renders
# the boot script as: shebang + `set -euo pipefail` + shell-quoted settings
# (AURA_ROLE, K8S_VERSION, LOG_FILE, KUBEADM_CONFIG, ...) + this library
# (+ lib-master.sh on control-plane nodes) + one role-*.sh file.
# Never enable `set -x`: the scripts handle bearer tokens and join tokens.

set -o errtrace
# Secret files get explicit modes or live in 0700 directories; keep the
# default umask for everything else (apt, kubeadm, containerd).
umask 022

readonly STATE_DIR=/var/lib/aura
readonly DONE_MARKER=/var/lib/aura/bootstrap.done
readonly KUBEADM_MARKER=/var/lib/aura/kubeadm.done
readonly APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

touch "${LOG_FILE}"
chmod 0600 "${LOG_FILE}"
exec > >(tee -a "${LOG_FILE}") 2>&1

log() {
  printf '%s [aura-bootstrap:%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${AURA_ROLE}" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 1
}

on_error() {
  local rc=$?
  log "ERROR: command failed (exit ${rc}) at line ${BASH_LINENO[0]}: ${BASH_COMMAND%% *}"
  exit "${rc}"
}
trap on_error ERR

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
  sed -i -E 's@^([^#[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]].*)$@# \1@' /etc/fstab
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

install_containerd() {
  log "installing containerd from the Ubuntu archive"
  retry 5 15 apt_get update
  retry 5 15 apt_get install -y --no-install-recommends containerd ca-certificates curl gpg openssl
  mkdir -p /etc/containerd
  containerd config default > /etc/containerd/config.toml
  sed -i -E 's/^([[:space:]]*)SystemdCgroup = false/\1SystemdCgroup = true/' /etc/containerd/config.toml
  grep -q 'SystemdCgroup = true' /etc/containerd/config.toml || die "could not enable SystemdCgroup in containerd config"
  chmod 0644 /etc/containerd/config.toml
  systemctl enable containerd
  systemctl restart containerd
}

install_kubernetes_packages() {
  local minor repo keyring=/etc/apt/keyrings/kubernetes-apt-keyring.gpg
  minor="${K8S_VERSION%.*}"
  repo="https://pkgs.k8s.io/core:/stable:/v${minor}/deb/"
  log "installing kubelet/kubeadm/kubectl ${K8S_VERSION} from ${repo}"
  install -d -m 0755 /etc/apt/keyrings
  retry 5 15 curl -fsSL -o /tmp/kubernetes-release.key "${repo}Release.key"
  gpg --batch --yes --dearmor -o "${keyring}" /tmp/kubernetes-release.key
  chmod 0644 "${keyring}"
  rm -f /tmp/kubernetes-release.key
  printf 'deb [signed-by=%s] %s /\n' "${keyring}" "${repo}" > /etc/apt/sources.list.d/kubernetes.list
  chmod 0644 /etc/apt/sources.list.d/kubernetes.list
  retry 5 15 apt_get update
  retry 5 15 apt_get install -y --no-install-recommends --allow-change-held-packages \
    "kubelet=${K8S_VERSION}-*" "kubeadm=${K8S_VERSION}-*" "kubectl=${K8S_VERSION}-*"
  apt-mark hold kubelet kubeadm kubectl
  systemctl enable kubelet

  # Align containerd's sandbox (pause) image with the one kubeadm expects.
  local pause_image
  pause_image="$(kubeadm config images list --kubernetes-version "v${K8S_VERSION}" 2>/dev/null | grep '/pause:' || true)"
  if [[ -n "${pause_image}" ]] && grep -q 'sandbox_image = ' /etc/containerd/config.toml; then
    sed -i -E "s#^([[:space:]]*)sandbox_image = .*#\\1sandbox_image = \"${pause_image}\"#" /etc/containerd/config.toml
    systemctl restart containerd
  fi
}

# join_with_retries <attempts> <kubeadm config file> [before-attempt function]
# Runs `kubeadm join` until it succeeds, resetting the node between attempts.
join_with_retries() {
  local attempts=$1 config=$2 prepare=${3:-} n
  for n in $(seq 1 "${attempts}"); do
    if [[ -n "${prepare}" ]]; then
      "${prepare}"
    fi
    log "kubeadm join attempt ${n}/${attempts}"
    if kubeadm join --config "${config}"; then
      return 0
    fi
    log "kubeadm join failed; resetting the node before the next attempt"
    kubeadm reset -f || true
    sleep 30
  done
  die "kubeadm join did not succeed after ${attempts} attempts"
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
  install -d -m 0700 "${STATE_DIR}"
  date -u +%Y-%m-%dT%H:%M:%SZ > "${DONE_MARKER}"
  log "bootstrap complete"
}

prepare_node() {
  install -d -m 0700 "${STATE_DIR}"
  disable_swap
  configure_kernel
  install_containerd
  install_kubernetes_packages
}
