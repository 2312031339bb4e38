#!/usr/bin/env bash
# Installs the independent validators used by tests/cloudinit.test.ts:
#   - cloud-init  (provides `cloud-init schema` to validate #cloud-config documents)
#   - shellcheck  (lints the embedded bootstrap shell scripts)
# Debian/Ubuntu only. Needs root (or sudo) when something is missing.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

install_validators() {
  ${SUDO} apt-get update
  ${SUDO} env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends cloud-init shellcheck
}

if command -v cloud-init >/dev/null 2>&1 && command -v shellcheck >/dev/null 2>&1; then
  echo "cloud-init and shellcheck already installed"
else
  install_validators
fi

cloud-init --version
shellcheck --version | head -n 2
