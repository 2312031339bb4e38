#!/usr/bin/env bash
# Aura node scripts: functions for control-plane nodes only (etcd data disk,
# cluster secrets and locks in the Azure Blob metadata store, init or join,
# join tokens, certificate renewal, upgrades). Rendered after lib.sh; relies
# on the settings API_SERVER_HOST, API_SERVER_PORT, BLOB_ENDPOINT,
# PKI_CONTAINER, LOCK_CONTAINER, JOIN_TOKEN_PATH, METADATA_PKI_BLOBS,
# ETCD_MOUNT, ETCD_DATA_DIR, KUBEADM_INIT_TEMPLATE and KUBEADM_JOIN_TEMPLATE.

readonly PKI_STAGING_DIR="${STATE_DIR}/pki"
readonly K8S_DIR="${AURA_ROOT}/etc/kubernetes"
# The kubelet's serving certificate, there once its request is approved (serverTLSBootstrap).
readonly KUBELET_SERVING_CERT="${AURA_ROOT}/var/lib/kubelet/pki/kubelet-server-current.pem"
readonly K8S_PKI_DIR="${K8S_DIR}/pki"
readonly ADMIN_KUBECONFIG="${K8S_DIR}/admin.conf"
# kubeadm configuration with this node's address filled in (init, phases, upgrades).
readonly KUBEADM_INIT_CONFIG="${STATE_DIR}/kubeadm-init.yaml"
readonly LOCK_LEASE_SECONDS=60
readonly ETCDCTL_ARGS=(etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/kubernetes/pki/etcd/ca.crt
  --cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt --key=/etc/kubernetes/pki/etcd/healthcheck-client.key)

NODE_IP=""
# Set by decide_role, read by role-master.sh.
ROLE=""
LOCK_KEEPALIVE_PID=""

node_name() {
  hostname | tr '[:upper:]' '[:lower:]'
}

wait_for_etcd_disk() {
  local n
  for n in $(seq 1 30); do
    if mountpoint -q "${AURA_ROOT}${ETCD_MOUNT}"; then
      log "etcd data disk is mounted on ${ETCD_MOUNT}"
      install -d -m 0700 "${AURA_ROOT}${ETCD_DATA_DIR}"
      return 0
    fi
    log "waiting for ${ETCD_MOUNT} to be mounted (${n}/30)"
    mount "${AURA_ROOT}${ETCD_MOUNT}" 2>/dev/null || true
    sleep 5
  done
  log "${ETCD_MOUNT} is not a mount point; the etcd data disk (LUN 0) is missing"
  return 1
}

# Downloads the cluster CAs and service-account keys into a staging directory.
# `kubeadm reset` wipes /etc/kubernetes/pki, so the staged copy is reinstalled
# before each attempt.
fetch_cluster_secrets() {
  local blob
  install -d -m 0700 "${PKI_STAGING_DIR}"
  for blob in "${METADATA_PKI_BLOBS[@]}"; do
    fetch_blob "${PKI_CONTAINER}/${blob}" "${PKI_STAGING_DIR}/${blob#pki/}"
  done
  openssl x509 -noout -in "${PKI_STAGING_DIR}/ca.crt" || { log "downloaded ca.crt is not a certificate"; return 1; }
}

install_pki() {
  local f rel
  install -d -m 0755 "${K8S_PKI_DIR}" "${K8S_PKI_DIR}/etcd"
  while IFS= read -r -d '' f; do
    rel="${f#"${PKI_STAGING_DIR}"/}"
    case "${rel}" in
      *.key) install -m 0600 "${f}" "${K8S_PKI_DIR}/${rel}" ;;
      *) install -m 0644 "${f}" "${K8S_PKI_DIR}/${rel}" ;;
    esac
  done < <(find "${PKI_STAGING_DIR}" -type f -print0)
}

# SHA-256 of the cluster CA's public key (SubjectPublicKeyInfo), as kubeadm expects.
ca_cert_hash() {
  local hex
  hex="$(openssl x509 -pubkey -noout -in "${PKI_STAGING_DIR}/ca.crt" | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1)"
  [[ "${hex}" =~ ^[0-9a-f]{64}$ ]] || { log "could not compute the CA certificate hash"; return 1; }
  printf 'sha256:%s' "${hex}"
}

# The node's address goes into every kubeadm configuration (kubelet --node-ip).
prepare_kubeadm_config() {
  NODE_IP="$(detect_node_ip)" || { log "could not find this node's private address"; return 1; }
  log "node address ${NODE_IP}"
  fill_template "${AURA_ROOT}${KUBEADM_INIT_TEMPLATE}" "${KUBEADM_INIT_CONFIG}" "@AURA_NODE_IP@=${NODE_IP}"
}

# --- the cluster lock: a lease on a blob of the bootstrap container ----------

# A stable lease id per node, so a node that restarts mid-way gets its own lease back.
lease_id() {
  node_name | sha256sum | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/'
}

# lock_acquire <blob>: 0 when this node holds the lease, 2 when another node
# does, 1 when the store could not be asked.
lock_acquire() {
  local blob="${LOCK_CONTAINER}/$1" id code
  id="$(lease_id)"
  # Leases need an existing blob; If-None-Match keeps an existing one untouched.
  code="$(blob_call PUT "${blob}" "" 'x-ms-blob-type: BlockBlob' 'If-None-Match: *')"
  case "${code}" in
    201 | 409 | 412) ;;
    *) log "could not create the lock blob ${blob} (HTTP ${code})"; return 1 ;;
  esac
  code="$(blob_call PUT "${blob}?comp=lease" "" 'x-ms-lease-action: acquire' \
    "x-ms-lease-duration: ${LOCK_LEASE_SECONDS}" "x-ms-proposed-lease-id: ${id}")"
  case "${code}" in
    201) log "acquired the lock ${blob}"; return 0 ;;
    409)
      # Leased: by this node in an earlier run (renewing with our id works), or by another.
      code="$(blob_call PUT "${blob}?comp=lease" "" 'x-ms-lease-action: renew' "x-ms-lease-id: ${id}")"
      if [[ "${code}" == 200 ]]; then
        log "this node already holds the lock ${blob}"
        return 0
      fi
      return 2
      ;;
    *) log "could not lease ${blob} (HTTP ${code})"; return 1 ;;
  esac
}

lock_release() {
  local blob="${LOCK_CONTAINER}/$1" code
  code="$(blob_call PUT "${blob}?comp=lease" "" 'x-ms-lease-action: release' "x-ms-lease-id: $(lease_id)")"
  log "released the lock ${blob} (HTTP ${code})"
}

# Renews the lease in the background while a long step (kubeadm init, a
# certificate renewal, an upgrade) runs; a node that dies loses it within a minute.
lock_keepalive_start() {
  local blob="${LOCK_CONTAINER}/$1" id
  id="$(lease_id)"
  (
    # Its own response files: the main script keeps using BLOB_OUT meanwhile.
    local out
    out="$(mktemp -d -p "${AURA_TMP}")"
    local code
    while sleep 20; do
      code="$(BLOB_OUT="${out}" blob_call PUT "${blob}?comp=lease" "" 'x-ms-lease-action: renew' "x-ms-lease-id: ${id}")"
      [[ "${code}" == 200 ]] || log "could not renew the lock ${blob} (HTTP ${code}); it lapses 60 s after the last renewal"
    done
  ) &
  LOCK_KEEPALIVE_PID=$!
}

lock_keepalive_stop() {
  if [[ -n "${LOCK_KEEPALIVE_PID}" ]]; then
    kill "${LOCK_KEEPALIVE_PID}" 2>/dev/null || true
    wait "${LOCK_KEEPALIVE_PID}" 2>/dev/null || true
    LOCK_KEEPALIVE_PID=""
  fi
}

# lock_wait <blob>: waits (bounded) until this node holds the lock.
lock_wait() {
  local n rc
  for n in $(seq 1 90); do
    rc=0
    lock_acquire "$1" || rc=$?
    (( rc == 0 )) && return 0
    log "waiting for the lock $1 (${n}/90)"
    sleep 20
  done
  return 1
}

# --- init or join --------------------------------------------------------------

# Any HTTP answer from the API server name (through the internal load balancer)
# means a control plane runs. This node's own backend never answers before it
# runs an API server, so the answer comes from another master.
# api_answers [address]: the API server at that address instead (its certificate
# still checked against the API server name).
api_answers() {
  local code resolve=()
  [[ -n "${1:-}" ]] && resolve=(--resolve "${API_SERVER_HOST}:${API_SERVER_PORT}:$1")
  code="$(curl -s --max-time 10 --cacert "${PKI_STAGING_DIR}/ca.crt" "${resolve[@]}" -o /dev/null -w '%{http_code}' \
    "https://${API_SERVER_HOST}:${API_SERVER_PORT}/readyz" || true)"
  [[ -n "${code}" && "${code}" != 000 ]]
}

# 0: a cluster exists; 1: none yet; 2: the metadata store could not be asked.
cluster_exists() {
  if api_answers; then
    log "an API server answers at ${API_SERVER_HOST}: the cluster exists"
    return 0
  fi
  local record code
  # The creator's record, or a joined master's (the creator may have stopped before recording).
  for record in initialized joined; do
    code="$(blob_call GET "${LOCK_CONTAINER}/${record}" "")"
    case "${code}" in
      200) log "the metadata store records a cluster (${record})"; return 0 ;;
      404) ;;
      *) log "could not read ${LOCK_CONTAINER}/${record} (HTTP ${code})"; return 2 ;;
    esac
  done
  return 1
}

# ROLE is read by role-master.sh only, so the other master scripts never use it.
# shellcheck disable=SC2034
# Sets ROLE to init or join. Only the holder of the init lock may init, and it
# looks again under the lock, so two masters never both create a cluster while
# the lease holds (and if one outlived its lease, record_cluster settles which
# cluster stays); a rebuilt master finds the cluster and joins it.
decide_role() {
  local n rc
  for n in $(seq 1 120); do
    rc=0
    cluster_exists || rc=$?
    if (( rc == 0 )); then
      ROLE="join"
      return 0
    fi
    if (( rc == 1 )); then
      rc=0
      lock_acquire init.lock || rc=$?
      if (( rc == 0 )); then
        rc=0
        cluster_exists || rc=$?
        if (( rc == 1 )); then
          ROLE="init"
          log "no cluster exists and this node holds the init lock: it creates the cluster"
          return 0
        fi
        lock_release init.lock
        if (( rc == 0 )); then
          ROLE="join"
          return 0
        fi
      elif (( rc == 2 )); then
        log "another master holds the init lock; waiting for its cluster (${n}/120)"
      fi
    fi
    sleep 10
  done
  log "could not decide whether to create or join the cluster"
  return 1
}

# The first line of `initialized` when this node created the cluster.
creator_record() {
  printf 'initialized by %s' "$(node_name)"
}

# The metadata store records which master created the cluster: whoever writes
# `initialized` first (If-None-Match). Only a creator writes it, under the init
# lock. A master whose lease ran out while it was down or stalled after kubeadm
# init may find that another master has since created and recorded a cluster:
# its own is then the one that goes.
# record_cluster: 0 this node's cluster is recorded (now, or by an earlier run),
# 2 another master's is, 1 the store could not be asked.
record_cluster() {
  local marker="${AURA_TMP}/initialized" me code
  me="$(creator_record)"
  # The second line: where joining masters reach the recorded cluster (route_join).
  printf '%s\naddress %s\n' "${me}" "${NODE_IP}" > "${marker}"
  code="$(blob_call PUT "${LOCK_CONTAINER}/initialized" "${marker}" 'x-ms-blob-type: BlockBlob' 'If-None-Match: *')"
  case "${code}" in
    201) log "recorded this node's cluster in the metadata store"; return 0 ;;
    409 | 412) ;;
    *) log "could not record the cluster (HTTP ${code})"; return 1 ;;
  esac
  code="$(blob_call GET "${LOCK_CONTAINER}/initialized" "")"
  [[ "${code}" == 200 ]] || { log "could not read ${LOCK_CONTAINER}/initialized (HTTP ${code})"; return 1; }
  if [[ "$(head -n 1 "${BLOB_OUT}/body")" == "${me}" ]]; then
    return 0
  fi
  log "the metadata store records another master's cluster ($(head -n 1 "${BLOB_OUT}/body"))"
  return 2
}

# The creator's kubeadm.done says "init" (see reclaim_cluster), written so that
# it survives a crash: a creator that lost it would take itself for a rebuilt
# master and move its etcd data, the cluster's, aside to join.
write_kubeadm_marker() {
  local tmp="${KUBEADM_MARKER}.tmp"
  printf '%s\n' "$1" > "${tmp}"
  sync "${tmp}"
  mv -f "${tmp}" "${KUBEADM_MARKER}"
  sync "$(dirname "${KUBEADM_MARKER}")"
}

# Gives up this node's own cluster (another master's is the cluster): the next
# run (systemd's restart) joins that one.
abandon_cluster() {
  log "removing this node's own cluster (kubeadm reset); the next run joins the recorded one"
  kubeadm reset -f || true
  rm -f "${KUBEADM_MARKER}"
}

# claim_cluster: records this node's cluster (the caller holds the init lock);
# when another master's is recorded, removes this node's own cluster and fails.
claim_cluster() {
  local n rc
  for n in $(seq 1 10); do
    rc=0
    record_cluster || rc=$?
    case "${rc}" in
      0) return 0 ;;
      2) abandon_cluster; return 1 ;;
    esac
    log "recording the cluster: attempt ${n}/10 failed"
    sleep 10
  done
  return 1
}

# A joined master records that a cluster exists in a blob of its own: the
# creator's record says which cluster is the cluster, and only a creator writes it.
record_joined() {
  local marker="${AURA_TMP}/joined" code
  printf 'joined by %s\n' "$(node_name)" > "${marker}"
  code="$(blob_call PUT "${LOCK_CONTAINER}/joined" "${marker}" 'x-ms-blob-type: BlockBlob')"
  [[ "${code}" == 201 ]] || { log "could not record the join (HTTP ${code})"; return 1; }
}

# A creator that stopped between kubeadm init and recording its cluster (the
# init marker says so) records it now, under the init lock again; a joined
# master records its join (again).
reclaim_cluster() {
  local rc=0
  if [[ "$(head -n 1 "${KUBEADM_MARKER}")" != init ]]; then
    retry 10 10 record_joined
    return
  fi
  lock_wait init.lock || return 1
  lock_keepalive_start init.lock
  claim_cluster || rc=$?
  lock_keepalive_stop
  lock_release init.lock
  return "${rc}"
}

# A creator that crashed after recording its cluster but before its kubeadm.done
# reached the disk finds its manifests and the record of its name: it carries on
# as the creator (reclaim_cluster) instead of joining.
recover_creator_marker() {
  local code
  [[ -e "${K8S_DIR}/manifests/kube-apiserver.yaml" ]] || return 0
  code="$(blob_call GET "${LOCK_CONTAINER}/initialized" "")"
  case "${code}" in
    200) ;;
    404) return 0 ;;
    *) log "could not read ${LOCK_CONTAINER}/initialized (HTTP ${code})"; return 1 ;;
  esac
  [[ "$(head -n 1 "${BLOB_OUT}/body")" == "$(creator_record)" ]] || return 0
  log "this node created the recorded cluster and lost its kubeadm marker: it carries on as the creator"
  write_kubeadm_marker init
}

init_cluster() {
  local attempt rc=0
  lock_keepalive_start init.lock
  cp "${KUBEADM_INIT_CONFIG}" "${AURA_ROOT}${KUBEADM_CONFIG}"
  chmod 0600 "${AURA_ROOT}${KUBEADM_CONFIG}"
  # A run that stopped half-way left manifests behind: start clean.
  if [[ -e "${K8S_DIR}/manifests/kube-apiserver.yaml" ]]; then
    kubeadm reset -f || true
  fi
  for attempt in 1 2 3; do
    install_pki
    log "kubeadm init attempt ${attempt}/3"
    if kubeadm init --config "${AURA_ROOT}${KUBEADM_CONFIG}" --skip-token-print; then
      break
    fi
    if (( attempt == 3 )); then
      log "kubeadm init failed 3 times"
      return 1
    fi
    log "kubeadm init failed; resetting before the next attempt"
    kubeadm reset -f || true
    sleep 30
  done
  # "init": a restart before the record below records it then (reclaim_cluster).
  write_kubeadm_marker init
  # The lease may have lapsed while kubeadm ran (a stalled VM, a store that did not
  # answer the renewals). A master that took the lock since is creating its own
  # cluster, and joins cannot have reached this one yet (they need its kubelet's
  # serving certificate, approved only after the record): this one yields.
  lock_acquire init.lock || rc=$?
  if (( rc == 2 )); then
    log "another master took the init lock while this node's lease had lapsed: it creates the cluster"
    abandon_cluster
  else
    rc=0
    claim_cluster || rc=$?
  fi
  lock_keepalive_stop
  lock_release init.lock
  return "${rc}"
}

# A temporary admin kubeconfig signed with the cluster CA this node already
# holds: enough to remove a stale etcd member and mint a short-lived join token.
bootstrap_admin_kubeconfig() {
  rm -rf "${STATE_DIR}/join-admin"
  install -d -m 0700 "${STATE_DIR}/join-admin"
  kubeadm init phase kubeconfig admin --config "${KUBEADM_INIT_CONFIG}" --kubeconfig-dir "${STATE_DIR}/join-admin" >/dev/null
  printf '%s' "${STATE_DIR}/join-admin/admin.conf"
}

# A rebuilt master comes back under the same name: its old etcd member (or a
# half-added one with this node's address) must go before it joins again.
# Checks each call itself: it runs under retry (an exec fails until the other
# master's kubelet has its serving certificate, see approve_own_serving_certificate).
remove_stale_etcd_member() {
  local kubeconfig=$1 me pods pod members ids id
  me="$(node_name)"
  pods="$(kubectl --kubeconfig "${kubeconfig}" -n kube-system get pods -l component=etcd \
    -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}')" || return 1
  pod="$(grep -vx "etcd-${me}" <<<"${pods}" | head -n 1 || true)"
  if [[ -z "${pod}" ]]; then
    log "no other etcd member found to ask"
    return 1
  fi
  members="$(kubectl --kubeconfig "${kubeconfig}" -n kube-system exec "${pod}" -- "${ETCDCTL_ARGS[@]}" member list)" || return 1
  ids="$(awk -F', ' -v name="${me}" -v peer="https://${NODE_IP}:2380" '$3 == name || $4 == peer { print $1 }' <<<"${members}")"
  for id in ${ids}; do
    log "removing the stale etcd member ${id} of ${me}"
    kubectl --kubeconfig "${kubeconfig}" -n kube-system exec "${pod}" -- "${ETCDCTL_ARGS[@]}" member remove "${id}" || return 1
  done
}

# kubeadm refuses a non-empty etcd data directory on join. A rebuilt master's
# old data is moved aside, never deleted.
set_aside_stale_etcd_data() {
  local dir="${AURA_ROOT}${ETCD_DATA_DIR}"
  if [[ -n "$(ls -A "${dir}" 2>/dev/null)" ]]; then
    log "moving stale etcd data aside to ${ETCD_DATA_DIR}.stale-$(date -u +%Y%m%dT%H%M%SZ)"
    mv "${dir}" "${dir}.stale-$(date -u +%Y%m%dT%H%M%SZ)"
  fi
  install -d -m 0700 "${dir}"
}

# Runs before every join attempt (`kubeadm reset` empties the PKI and etcd
# directories): PKI back, stale member gone, a fresh one-hour join token.
prepare_control_plane_join() {
  local kubeconfig token hash
  # Each attempt looks again: the creator may have gone down since the last.
  retry 60 10 route_join
  install_pki
  set_aside_stale_etcd_data
  kubeconfig="$(bootstrap_admin_kubeconfig)"
  retry 30 10 remove_stale_etcd_member "${kubeconfig}"
  token="$(kubeadm token create --kubeconfig "${kubeconfig}" --ttl 1h --description "aura: control-plane join of $(node_name)")"
  hash="$(ca_cert_hash)"
  fill_template "${AURA_ROOT}${KUBEADM_JOIN_TEMPLATE}" "${AURA_ROOT}${KUBEADM_CONFIG}" \
    "@AURA_BOOTSTRAP_TOKEN@=${token}" "@AURA_CA_CERT_HASH@=${hash}" "@AURA_NODE_IP@=${NODE_IP}"
  unset token
}

# Where the join goes. A master that lost the init race (its lease lapsed during
# kubeadm init) runs an API server of its own until it notices and resets, and
# the load balancer may hand any request of a join to it: this node would join
# a cluster that is about to go. So the join waits for the creator's record and
# goes to the recorded creator's API server. When that one does not answer (the
# creator is down or being rebuilt, or is this node: the race is long over), or
# the record predates addresses, the join goes through the load balancer.
route_join() {
  local code address
  code="$(blob_call GET "${LOCK_CONTAINER}/initialized" "")"
  case "${code}" in
    200) address="$(sed -n 's/^address //p' "${BLOB_OUT}/body")" ;;
    404)
      # Only a joined master's record (its creator stopped before recording):
      # the race is over too.
      code="$(blob_call GET "${LOCK_CONTAINER}/joined" "")"
      if [[ "${code}" != 200 ]]; then
        log "waiting for the creator to record the cluster (${LOCK_CONTAINER}/joined: HTTP ${code})"
        return 1
      fi
      address="" ;;
    *) log "could not read ${LOCK_CONTAINER}/initialized (HTTP ${code})"; return 1 ;;
  esac
  if [[ -n "${address}" && "${address}" != "${NODE_IP}" ]] && api_answers "${address}"; then
    log "joining through the recorded creator's API server at ${address}"
    map_api_host "${address}"
  else
    log "joining through the internal load balancer"
    map_api_host "${API_INTERNAL_IP}"
  fi
}

# Masters join one at a time: kubeadm adds each as an etcd learner, and etcd
# admits one learner at a time (a concurrent join fails and churns membership).
join_control_plane() {
  lock_wait join.lock
  lock_keepalive_start join.lock
  join_with_retries 20 prepare_control_plane_join
  lock_keepalive_stop
  lock_release join.lock
  rm -rf "${STATE_DIR}/join-admin"
  echo join > "${KUBEADM_MARKER}"
  retry 10 10 record_joined
}

# With serverTLSBootstrap the kubelet serves exec and logs only once its serving
# certificate request is approved. kubelet-csr-approver approves such requests,
# but it comes with the system stage, after every master has booted, while the
# next master's join already execs into this node's etcd (remove_stale_etcd_member).
# So each master approves its own node's request, with its admin credentials.
approve_own_serving_certificate() {
  local me pending
  [[ -s "${KUBELET_SERVING_CERT}" ]] && return 0
  me="system:node:$(node_name)"
  pending="$(kubectl --kubeconfig "${ADMIN_KUBECONFIG}" get csr \
    -o jsonpath='{range .items[?(@.spec.signerName=="kubernetes.io/kubelet-serving")]}{.metadata.name} {.spec.username} {.status.conditions[*].type}{"\n"}{end}' \
    | awk -v me="${me}" '$2 == me && NF == 2 { print $1 }')"
  if [[ -z "${pending}" ]]; then
    log "no pending serving certificate request from ${me} yet"
    return 1
  fi
  # One request name per word.
  # shellcheck disable=SC2086
  kubectl --kubeconfig "${ADMIN_KUBECONFIG}" certificate approve ${pending}
}

# --- agent join tokens ---------------------------------------------------------

# Keeps a valid agent join token in the metadata store: a new one (TTL
# JOIN_TOKEN_TTL) once the published one has less than a day left. Agents
# fetch it at boot, so a node the autoscaler adds months later still joins,
# and no token lives in custom data or in Pulumi state.
publish_join_token() {
  local code current expires left token_file="${AURA_TMP}/join-token"
  code="$(blob_call GET "${JOIN_TOKEN_PATH}" "")"
  if [[ "${code}" == 200 ]] && current="$(read_join_token "${BLOB_OUT}/body")"; then
    expires="$(kubectl --kubeconfig "${ADMIN_KUBECONFIG}" -n kube-system get secret "bootstrap-token-${current%%.*}" \
      -o jsonpath='{.data.expiration}' 2>/dev/null | base64 -d 2>/dev/null || true)"
    if [[ -n "${expires}" ]]; then
      left=$(( $(date -d "${expires}" +%s) - $(date +%s) ))
      if (( left > 86400 )); then
        log "the published join token is valid until ${expires}"
        return 0
      fi
    fi
  elif [[ "${code}" != 200 && "${code}" != 404 ]]; then
    log "could not read ${JOIN_TOKEN_PATH} (HTTP ${code})"
    return 1
  fi
  install -m 0600 /dev/null "${token_file}"
  kubeadm token create --kubeconfig "${ADMIN_KUBECONFIG}" --ttl "${JOIN_TOKEN_TTL}" \
    --description "aura: agent join, published to ${JOIN_TOKEN_PATH}" > "${token_file}"
  read_join_token "${token_file}" >/dev/null
  code="$(blob_call PUT "${JOIN_TOKEN_PATH}" "${token_file}" 'x-ms-blob-type: BlockBlob' 'Content-Type: text/plain')"
  [[ "${code}" == 201 ]] || { log "could not publish the join token (HTTP ${code})"; return 1; }
  log "published a new agent join token, valid for ${JOIN_TOKEN_TTL}"
  delete_unbounded_join_tokens
}

# Bootstrap tokens without an expiry (the installer's first design made one)
# mint node credentials forever: delete them.
delete_unbounded_join_tokens() {
  local name expiration
  while read -r name expiration; do
    [[ -n "${name}" && -z "${expiration}" ]] || continue
    log "deleting the join token secret ${name}: it never expires"
    kubectl --kubeconfig "${ADMIN_KUBECONFIG}" -n kube-system delete secret "${name}"
  done < <(kubectl --kubeconfig "${ADMIN_KUBECONFIG}" -n kube-system get secrets \
    --field-selector type=bootstrap.kubernetes.io/token \
    -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.data.expiration}{"\n"}{end}')
}

enable_master_timers() {
  systemctl daemon-reload
  systemctl enable --now aura-renew-certs.timer aura-join-token.timer
}

# --- certificate renewal -------------------------------------------------------

# Prints the kubeadm-issued certificates (not the CAs) that expire within $1 seconds.
certificates_expiring_within() {
  local seconds=$1 f
  for f in "${K8S_PKI_DIR}"/*.crt "${K8S_PKI_DIR}"/etcd/*.crt; do
    [[ -f "${f}" ]] || continue
    case "${f##*/}" in ca.crt | front-proxy-ca.crt) continue ;; esac
    openssl x509 -checkend "${seconds}" -noout -in "${f}" >/dev/null || printf '%s\n' "${f#"${K8S_PKI_DIR}"/}"
  done
}

# component_healthy <static pod>: the component's local health endpoint answers ok.
component_healthy() {
  case "$1" in
    etcd) curl -sf --max-time 5 http://127.0.0.1:2381/health >/dev/null ;;
    kube-apiserver) curl -sfk --max-time 5 "https://127.0.0.1:${API_SERVER_PORT}/readyz" >/dev/null ;;
    kube-controller-manager) curl -sfk --max-time 5 https://127.0.0.1:10257/healthz >/dev/null ;;
    kube-scheduler) curl -sfk --max-time 5 https://127.0.0.1:10259/healthz >/dev/null ;;
  esac
}

# Restarts one static pod the way kubeadm documents it: the kubelet stops a pod
# whose manifest leaves the manifest directory and starts it when it returns.
restart_static_pod() {
  local name=$1 manifests="${K8S_DIR}/manifests" parked="${STATE_DIR}/parked-manifests" n
  install -d -m 0700 "${parked}"
  mv "${manifests}/${name}.yaml" "${parked}/${name}.yaml"
  # Stopped means crictl answered and lists no such container (a crictl that
  # cannot answer is no proof: the manifest would come back before the kubelet
  # stopped the pod, and the component would keep its old certificates).
  local running
  for n in $(seq 1 30); do
    if running="$(crictl --runtime-endpoint unix:///run/containerd/containerd.sock ps --name "^${name}\$" -q)" && [[ -z "${running}" ]]; then
      break
    fi
    sleep 2
  done
  mv "${parked}/${name}.yaml" "${manifests}/${name}.yaml"
  for n in $(seq 1 60); do
    if component_healthy "${name}"; then
      log "${name} restarted and healthy"
      return 0
    fi
    sleep 5
  done
  log "${name} did not become healthy after its restart"
  return 1
}

# Renews every kubeadm certificate once one of them has less than
# CERT_RENEW_BEFORE_DAYS left, then restarts the control-plane pods so they
# load them. One master at a time (the maintenance lock), one pod at a time.
renew_certificates() {
  local expiring pod
  expiring="$(certificates_expiring_within $(( CERT_RENEW_BEFORE_DAYS * 86400 )))"
  if [[ -z "${expiring}" ]]; then
    log "no certificate expires within ${CERT_RENEW_BEFORE_DAYS} days"
    return 0
  fi
  log "certificates expiring within ${CERT_RENEW_BEFORE_DAYS} days: ${expiring//$'\n'/ }"
  lock_wait maintenance.lock
  lock_keepalive_start maintenance.lock
  kubeadm certs renew all
  for pod in etcd kube-apiserver kube-controller-manager kube-scheduler; do
    restart_static_pod "${pod}"
  done
  lock_keepalive_stop
  lock_release maintenance.lock
  log "certificates renewed; kubeadm certs check-expiration shows the new dates"
}

# --- upgrades ------------------------------------------------------------------

# version_lt <a> <b>: a sorts before b as a version.
version_lt() {
  [[ "$1" != "$2" && "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" == "$1" ]]
}

# Refuses what kubeadm cannot do: a downgrade or a skipped minor version.
check_upgrade_path() {
  local from=$1 to=$2
  if version_lt "${to}" "${from}"; then
    log "refusing to downgrade Kubernetes from ${from} to ${to}"
    return 1
  fi
  local from_minor to_minor
  from_minor="$(cut -d. -f2 <<<"${from}")"
  to_minor="$(cut -d. -f2 <<<"${to}")"
  if (( to_minor > from_minor + 1 )); then
    log "refusing to upgrade Kubernetes from ${from} to ${to}: kubeadm upgrades one minor version at a time"
    return 1
  fi
}

wait_for_bootstrap() {
  local n
  for n in $(seq 1 360); do
    [[ -f "${DONE_MARKER}" ]] && return 0
    (( n % 30 == 1 )) && log "waiting for the node bootstrap to finish: $(tr '\n' ' ' < "${STATE_FILE}" 2>/dev/null || true)"
    sleep 10
  done
  log "the node bootstrap did not finish within an hour; see ${STATE_FILE#"${AURA_ROOT}"} and journalctl -u aura-bootstrap"
  return 1
}

installed_kubernetes_version() {
  kubelet --version | sed -E 's/^Kubernetes v//'
}

cluster_kubernetes_version() {
  kubectl --kubeconfig "${ADMIN_KUBECONFIG}" -n kube-system get configmap kubeadm-config \
    -o jsonpath='{.data.ClusterConfiguration}' | sed -n -E 's/^kubernetesVersion: v?//p'
}

# Upgrades this master to K8S_VERSION the kubeadm way: the first master to run
# applies the new control-plane version, every later one upgrades its node;
# then the kubelet and kubectl follow with the node drained.
upgrade_master() {
  local current cluster me
  me="$(node_name)"
  current="$(installed_kubernetes_version)"
  if [[ "${current}" == "${K8S_VERSION}" ]]; then
    log "${me} already runs Kubernetes ${K8S_VERSION}"
    return 0
  fi
  check_upgrade_path "${current}" "${K8S_VERSION}"
  lock_wait maintenance.lock
  lock_keepalive_start maintenance.lock
  use_kubernetes_repo "${K8S_VERSION}"
  retry 5 15 apt_get install -y --no-install-recommends --allow-change-held-packages "kubeadm=${K8S_VERSION}-*"
  apt-mark hold kubeadm
  cluster="$(cluster_kubernetes_version)"
  if [[ "${cluster}" != "${K8S_VERSION}" ]]; then
    log "upgrading the control plane from ${cluster} to ${K8S_VERSION} (kubeadm upgrade apply)"
    kubeadm upgrade apply "v${K8S_VERSION}" --yes
  else
    log "the control plane runs ${K8S_VERSION}; upgrading this node (kubeadm upgrade node)"
    kubeadm upgrade node
  fi
  kubectl --kubeconfig "${ADMIN_KUBECONFIG}" drain "${me}" --ignore-daemonsets --delete-emptydir-data --timeout=10m
  retry 5 15 apt_get install -y --no-install-recommends --allow-change-held-packages \
    "kubelet=${K8S_VERSION}-*" "kubectl=${K8S_VERSION}-*"
  apt-mark hold kubelet kubectl
  systemctl daemon-reload
  systemctl restart kubelet
  kubectl --kubeconfig "${ADMIN_KUBECONFIG}" uncordon "${me}"
  # The next master's upgrade starts when this one releases the lock: only once
  # this one is back (etcd keeps its quorum). Otherwise the Run Command fails and
  # the chain stops here.
  retry 60 10 control_plane_settled "${me}"
  lock_keepalive_stop
  lock_release maintenance.lock
  log "${me} upgraded from ${current} to ${K8S_VERSION}"
}

# This master's control-plane components answer their health checks.
control_plane_healthy() {
  local component
  for component in etcd kube-apiserver kube-controller-manager kube-scheduler; do
    component_healthy "${component}" || { log "${component} is not healthy yet"; return 1; }
  done
}

# This master's control-plane components answer their health checks and its
# node is Ready.
control_plane_settled() {
  local me=$1 ready
  control_plane_healthy || return 1
  ready="$(kubectl --kubeconfig "${ADMIN_KUBECONFIG}" get node "${me}" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" || return 1
  [[ "${ready}" == True ]] || { log "${me} is not Ready yet"; return 1; }
}

# A node is Ready only once a CNI runs (Cilium, from the system stage): true
# when its configuration is on this node.
cni_configured() {
  compgen -G "${AURA_ROOT}/etc/cni/net.d/*.conf*" >/dev/null
}

# The first steps of every master: node packages, the pod firewall, the etcd
# disk, the PKI from the metadata store, the audit log folder, the node address.
prepare_master() {
  step packages prepare_node
  step imds-block block_pod_imds
  step etcd-disk wait_for_etcd_disk
  step secrets fetch_cluster_secrets
  step kubeadm-config prepare_kubeadm_config
  install -d -m 0700 "${AURA_ROOT}/var/log/kubernetes/audit"
}
