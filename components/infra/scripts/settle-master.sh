#!/usr/bin/env bash
# Aura master gate: after a change that restarted this master's VM (a size
# change), waits until it is back: its control-plane components healthy and,
# once the cluster has its CNI, its node Ready. Delivered by a Run Command per
# master, which runs again whenever its script changes (a resize, a new
# Kubernetes version, new boot scripts); the next master's VM waits for it, so
# a restart reaches one master only when the one before it is back and etcd
# keeps its quorum. A master in its first boot has nothing to wait for.

me="$(node_name)"
if [[ ! -f "${DONE_MARKER}" ]]; then
  log "${me} (${VM_SIZE}) is in its first boot: nothing to wait for"
  exit 0
fi
if cni_configured; then
  retry 90 10 control_plane_settled "${me}"
  log "${me} (${VM_SIZE}) is back: control plane healthy, node Ready"
else
  # Before the system stage first ran (no CNI yet), no node is Ready: the
  # components' health is what the next master's etcd needs.
  retry 90 10 control_plane_healthy
  log "${me} (${VM_SIZE}) is back: control plane healthy (no CNI yet, so no node is Ready)"
fi
