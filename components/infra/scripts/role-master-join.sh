#!/usr/bin/env bash
# Aura node bootstrap: additional control-plane node (kubeadm join --control-plane).
# Appended after lib.sh by components/infra/cloudinit.ts; the statements
# below run top to bottom, in this order.

# Runs before every join attempt: `kubeadm reset` empties /etc/kubernetes/pki
# and the etcd data directory, so both are put back each time.
prepare_control_plane_join() {
  install_pki
  install -d -m 0700 "${ETCD_MOUNT}/etcd"
}

if already_bootstrapped; then
  exit 0
fi

prepare_master

# The join token and CA hash only exist on the VM: they are filled into the
# configuration here, never carried in the custom data.
join_token="$(read_bootstrap_token)"
ca_hash="$(ca_cert_hash)"
join_config="$(<"${KUBEADM_JOIN_TEMPLATE}")"
join_config="${join_config//@AURA_BOOTSTRAP_TOKEN@/"${join_token}"}"
join_config="${join_config//@AURA_CA_CERT_HASH@/"${ca_hash}"}"
install -m 0600 /dev/null "${KUBEADM_CONFIG}"
printf '%s\n' "${join_config}" > "${KUBEADM_CONFIG}"
unset join_token join_config

if [[ -f "${KUBEADM_MARKER}" ]]; then
  log "kubeadm join already completed on a previous run"
else
  join_with_retries 30 "${KUBEADM_CONFIG}" prepare_control_plane_join
  touch "${KUBEADM_MARKER}"
fi

# Only now point the API server name at the local API server: during the
# join it had to reach the existing control plane through the load balancer.
map_api_host_to_loopback

finish
