#!/usr/bin/env bash
# Aura node bootstrap: functions for control-plane nodes only (etcd data
# disk, cluster secrets from the Azure Blob metadata store, /etc/hosts).
# Rendered after lib.sh; relies on the settings API_SERVER_HOST,
# BLOB_ENDPOINT, BLOB_CONTAINER, IDENTITY_CLIENT_ID, METADATA_PKI_BLOBS,
# METADATA_TOKEN_BLOB and ETCD_MOUNT.

readonly PKI_STAGING_DIR=/var/lib/aura/pki
readonly K8S_PKI_DIR=/etc/kubernetes/pki

# Adds "127.0.0.1 <api host>" to /etc/hosts unless already present. Azure load
# balancers do not hairpin traffic back to the VM that sent it, so a control
# plane node must reach its own API server locally.
map_api_host_to_loopback() {
  if awk -v host="${API_SERVER_HOST}" '$1 == "127.0.0.1" { for (i = 2; i <= NF; i++) if ($i == host) found = 1 } END { exit !found }' /etc/hosts; then
    log "/etc/hosts already maps ${API_SERVER_HOST} to 127.0.0.1"
    return 0
  fi
  log "mapping ${API_SERVER_HOST} to 127.0.0.1 in /etc/hosts"
  printf '127.0.0.1 %s\n' "${API_SERVER_HOST}" >> /etc/hosts
}

wait_for_etcd_disk() {
  local n
  for n in $(seq 1 30); do
    if mountpoint -q "${ETCD_MOUNT}"; then
      log "etcd data disk is mounted on ${ETCD_MOUNT}"
      install -d -m 0700 "${ETCD_MOUNT}/etcd"
      return 0
    fi
    log "waiting for ${ETCD_MOUNT} to be mounted (${n}/30)"
    mount "${ETCD_MOUNT}" 2>/dev/null || true
    sleep 5
  done
  die "${ETCD_MOUNT} is not a mount point; the etcd data disk (LUN 0) is missing"
}

# Prints an Azure Storage access token for the VM's user-assigned identity.
imds_storage_token() {
  local response
  response="$(curl -sSf --max-time 30 -H Metadata:true \
    "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fstorage.azure.com%2F&client_id=${IDENTITY_CLIENT_ID}")" || return 1
  python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])' <<<"${response}"
}

# fetch_blob_once <blob name> <destination file>
fetch_blob_once() {
  local blob=$1 dest=$2 token headers rc=0
  token="$(imds_storage_token)" || { log "managed identity token not available yet"; return 1; }
  # The bearer token goes through a private header file so it never shows
  # up in a process listing or a trace.
  headers="$(mktemp)"
  printf 'Authorization: Bearer %s\nx-ms-version: 2021-08-06\n' "${token}" > "${headers}"
  curl -sSf --max-time 60 -H @"${headers}" -o "${dest}.tmp" "${BLOB_ENDPOINT}${BLOB_CONTAINER}/${blob}" || rc=$?
  rm -f "${headers}"
  if (( rc != 0 )); then
    rm -f "${dest}.tmp"
    log "could not download ${blob} (curl exit ${rc}); the role assignment may still be propagating"
    return 1
  fi
  mv -f "${dest}.tmp" "${dest}"
}

# fetch_blob <blob name> <destination file>: bounded retries, result mode 0600.
fetch_blob() {
  local blob=$1 dest=$2
  log "fetching ${blob} from the metadata store"
  install -d -m 0700 "$(dirname "${dest}")"
  retry 60 10 fetch_blob_once "${blob}" "${dest}"
  chmod 0600 "${dest}"
}

# Downloads the cluster CAs, service-account keys and the join token from the
# metadata store into a staging directory. `kubeadm reset` wipes
# /etc/kubernetes/pki, so the staged copy is reinstalled before each attempt.
fetch_cluster_secrets() {
  local blob
  install -d -m 0700 "${STATE_DIR}" "${PKI_STAGING_DIR}"
  for blob in "${METADATA_PKI_BLOBS[@]}"; do
    fetch_blob "${blob}" "${PKI_STAGING_DIR}/${blob#pki/}"
  done
  fetch_blob "${METADATA_TOKEN_BLOB}" "${STATE_DIR}/bootstrap-token"
  read_bootstrap_token >/dev/null
  openssl x509 -noout -in "${PKI_STAGING_DIR}/ca.crt" || die "downloaded ca.crt is not a certificate"
}

# Prints the join token from the fetched blob after checking its format.
read_bootstrap_token() {
  local token
  token="$(tr -d '[:space:]' < "${STATE_DIR}/bootstrap-token")"
  [[ "${token}" =~ ^[a-z0-9]{6}\.[a-z0-9]{16}$ ]] || die "bootstrap token blob is malformed"
  printf '%s' "${token}"
}

install_pki() {
  local f rel
  install -d -m 0755 "${K8S_PKI_DIR}" "${K8S_PKI_DIR}/etcd"
  while IFS= read -r -d '' f; do
    rel="${f#"${PKI_STAGING_DIR}"/}"
    case "${rel}" in
      *.key) install -m 0600 -o root -g root "${f}" "${K8S_PKI_DIR}/${rel}" ;;
      *) install -m 0644 -o root -g root "${f}" "${K8S_PKI_DIR}/${rel}" ;;
    esac
  done < <(find "${PKI_STAGING_DIR}" -type f -print0)
}

# SHA-256 of the cluster CA's public key (SubjectPublicKeyInfo), as kubeadm expects.
ca_cert_hash() {
  local hex
  hex="$(openssl x509 -pubkey -noout -in "${PKI_STAGING_DIR}/ca.crt" | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1)"
  [[ "${hex}" =~ ^[0-9a-f]{64}$ ]] || die "could not compute the CA certificate hash"
  printf 'sha256:%s' "${hex}"
}

# The first steps of every master: node packages, the etcd disk, the PKI from the metadata store and
# the audit log folder.
prepare_master() {
  prepare_node
  wait_for_etcd_disk
  fetch_cluster_secrets
  install -d -m 0700 /var/log/kubernetes/audit
}
