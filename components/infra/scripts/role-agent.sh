#!/usr/bin/env bash
# Aura node bootstrap: worker node of an agent pool (kubeadm join).
# Appended after lib.sh by components/infra/cloudinit.ts; the statements
# below run top to bottom, in this order.

if already_bootstrapped; then
  exit 0
fi

prepare_node

if [[ -f "${KUBEADM_MARKER}" ]]; then
  log "kubeadm join already completed on a previous run"
else
  join_with_retries 30 "${KUBEADM_CONFIG}"
  touch "${KUBEADM_MARKER}"
fi

finish
