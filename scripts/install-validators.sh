#!/usr/bin/env bash
# Installs the independent validators and tools the tests use, from Debian:
#   - cloud-init  (provides `cloud-init schema` to validate #cloud-config documents)
#   - shellcheck  (lints the embedded bootstrap shell scripts)
#   - openssl     (throwaway CAs for the API gate and boot-script tests)
#   - python3     (the boot tests' stand-in for the metadata endpoint and Blob storage)
#   - git         (aura diff --ref tests)
#   - nftables    (`nft -c` checks the nodes' firewall rules; needs root or a user namespace)
#   - curl        (reads the logging job's credentials as the job's curl does)
# Debian/Ubuntu only. Needs root (or sudo) when something is missing.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

install_validators() {
  ${SUDO} apt-get update
  ${SUDO} env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends cloud-init shellcheck openssl python3 git nftables curl
}

missing=0
for tool in cloud-init shellcheck openssl python3 git curl; do
  command -v "$tool" >/dev/null 2>&1 || missing=1
done
[ -x /usr/sbin/nft ] || missing=1
if [ "$missing" -eq 0 ]; then
  echo "cloud-init, shellcheck, openssl, python3, git, nftables and curl already installed"
else
  install_validators
fi

cloud-init --version
shellcheck --version | head -n 2
