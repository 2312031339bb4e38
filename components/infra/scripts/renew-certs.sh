#!/usr/bin/env bash
# Aura master maintenance: renews the kubeadm certificates before they expire
# (they last one year) and restarts the control-plane pods to load them. Run
# daily by aura-renew-certs.timer; does nothing until a certificate has less
# than CERT_RENEW_BEFORE_DAYS left.

if [[ ! -f "${DONE_MARKER}" ]]; then
  log "the node is not bootstrapped yet; nothing to renew"
  exit 0
fi
renew_certificates
