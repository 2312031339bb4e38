#!/usr/bin/env bash
# Aura node bootstrap: first control-plane node (kubeadm init).
# Appended after lib.sh by components/infra/cloudinit.ts; the statements
# below run top to bottom, in this order.

if already_bootstrapped; then
  exit 0
fi

prepare_master

# The API server name must resolve to this node before `kubeadm init`: the
# Azure load balancer does not hairpin, and init waits on the endpoint.
map_api_host_to_loopback

if [[ -f "${KUBEADM_MARKER}" ]]; then
  log "kubeadm init already completed on a previous run"
else
  for attempt in 1 2 3; do
    install_pki
    log "kubeadm init attempt ${attempt}/3"
    if kubeadm init --config "${KUBEADM_CONFIG}" --skip-token-print; then
      touch "${KUBEADM_MARKER}"
      break
    fi
    if (( attempt == 3 )); then
      die "kubeadm init failed 3 times"
    fi
    log "kubeadm init failed; resetting before the next attempt"
    kubeadm reset -f || true
    sleep 30
  done
fi

# Long-lived join token shared with the other nodes through the metadata
# store. Creating it twice is fine ("already exists" is ignored).
join_token="$(read_bootstrap_token)"
for attempt in $(seq 1 30); do
  if token_error="$(kubeadm token create "${join_token}" --ttl 0 --kubeconfig /etc/kubernetes/admin.conf 2>&1 >/dev/null)"; then
    log "created the cluster join token"
    break
  fi
  if [[ "${token_error}" == *"already exists"* ]]; then
    log "the cluster join token already exists"
    break
  fi
  if (( attempt == 30 )); then
    die "could not create the join token: ${token_error//${join_token}/<redacted>}"
  fi
  log "kubeadm token create failed (attempt ${attempt}/30): ${token_error//${join_token}/<redacted>}"
  sleep 10
done
unset join_token token_error

finish
