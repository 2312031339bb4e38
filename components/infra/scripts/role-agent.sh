#!/usr/bin/env bash
# Aura node bootstrap: worker node of an agent pool (kubeadm join).
# Runs as the aura-bootstrap systemd unit, which retries a failed run with a
# backoff; each step is recorded in /var/lib/aura/bootstrap.state.

# Runs before every join attempt: the current join token (the masters rotate
# it) and this node's address go into the kubeadm configuration.
prepare_agent_join() {
  local token node_ip
  fetch_blob "${JOIN_TOKEN_PATH}" "${STATE_DIR}/join-token"
  token="$(read_join_token "${STATE_DIR}/join-token")"
  rm -f "${STATE_DIR}/join-token"
  node_ip="$(detect_node_ip)"
  fill_template "${AURA_ROOT}${KUBEADM_JOIN_TEMPLATE}" "${AURA_ROOT}${KUBEADM_CONFIG}" \
    "@AURA_BOOTSTRAP_TOKEN@=${token}" "@AURA_NODE_IP@=${node_ip}"
  unset token
}

agent_join() {
  join_with_retries 30 prepare_agent_join
  touch "${KUBEADM_MARKER}"
}

if already_bootstrapped; then
  exit 0
fi

step packages prepare_node
step imds-block block_pod_imds
# Agents reach the API through the internal load balancer, inside the VNet.
step api-route map_api_host "${API_INTERNAL_IP}"

if [[ -f "${KUBEADM_MARKER}" ]]; then
  log "kubeadm join already completed on a previous run"
else
  step kubeadm-join agent_join
fi

finish
