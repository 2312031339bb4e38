#!/usr/bin/env bash
# Aura node bootstrap: control-plane node. Whether it creates the cluster
# (`kubeadm init`) or joins it (`kubeadm join --control-plane`) is decided
# here, at boot, never by the node's index: see decide_role in lib-master.sh.
# Runs as the aura-bootstrap systemd unit, which retries a failed run with a
# backoff; each step is recorded in /var/lib/aura/bootstrap.state.

if already_bootstrapped; then
  exit 0
fi

prepare_master

# Until this node runs an API server, the API name points at the internal load
# balancer: the probe in decide_role and the join go through it.
step api-route map_api_host "${API_INTERNAL_IP}"

if [[ ! -f "${KUBEADM_MARKER}" ]]; then
  step creator-check recover_creator_marker
fi
if [[ -f "${KUBEADM_MARKER}" ]]; then
  log "kubeadm already completed on a previous run"
  step cluster-record reclaim_cluster
else
  step decide decide_role
  if [[ "${ROLE}" == init ]]; then
    # Azure's internal load balancer drops a flow from a backend that it maps back
    # to that same backend, and this node is its only one: kubeadm init (whose
    # admin client uses the API server name) talks to the local API server.
    step init-api-route map_api_host 127.0.0.1
    # kubeadm init, then the record of this node's cluster, under the init lock.
    step kubeadm-init init_cluster
  else
    step kubeadm-join join_control_plane
  fi
fi

# Now this node runs an API server: the name points at it (a joined master's
# until now pointed at the internal load balancer).
step local-api-route map_api_host 127.0.0.1
step serving-cert retry 30 10 approve_own_serving_certificate
step join-token retry 30 10 publish_join_token
step timers enable_master_timers

finish
