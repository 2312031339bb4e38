#!/usr/bin/env bash
# Aura master gate: after a change that restarted this master's VM (a size
# change), waits until its control plane answers its health checks and its node
# is Ready. Delivered by a Run Command per master that runs again whenever the
# VM's size changes; the next master's VM waits for it, so a change reaches one
# master only when the one before it is back and etcd keeps its quorum. A master
# still in its first boot has nothing to wait for: masters boot side by side.

me="$(node_name)"
if [[ ! -f "${DONE_MARKER}" ]]; then
  log "${me} (${VM_SIZE}) is in its first boot: nothing to wait for"
  exit 0
fi
retry 90 10 control_plane_settled "${me}"
log "${me} (${VM_SIZE}) is back: control plane healthy, node Ready"
