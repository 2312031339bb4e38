#!/usr/bin/env bash
# Prints the project's stacks (one Pulumi.<stack>.yaml each) as a JSON list, for a workflow matrix
# (with --lines: one per line).
# Adding Pulumi.qa.yaml adds qa to every per-stack job: no workflow lists stacks by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

stacks=()
for config in Pulumi.*.yaml; do
  [ -e "${config}" ] || continue
  stack="${config#Pulumi.}"
  stacks+=("${stack%.yaml}")
done
if [ "${#stacks[@]}" -eq 0 ]; then
  echo "no Pulumi.<stack>.yaml in $(pwd)" >&2
  exit 1
fi
if [ "${1:-}" = "--lines" ]; then
  printf '%s\n' "${stacks[@]}"
else
  printf '%s\n' "${stacks[@]}" | node -e 'process.stdout.write(JSON.stringify(require("fs").readFileSync(0, "utf8").trim().split("\n")) + "\n")'
fi
