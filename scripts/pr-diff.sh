#!/usr/bin/env bash
# Writes one Markdown pull request comment to stdout: `aura diff --ref <base>` of every stack's
# profile (the aura:profile its Pulumi.<stack>.yaml names). Needs no cloud credentials.
# Exit 1 when a stack's diff fails (its error is in the comment), after all stacks are written.
set -euo pipefail
cd "$(dirname "$0")/.."

base="${1:?usage: scripts/pr-diff.sh <git-ref of the base, e.g. origin/main>}"
status=0
err="$(mktemp)"
trap 'rm -f "${err}"' EXIT

# The marker lets the commenting workflow find and update its own comment.
echo "<!-- aura-diff -->"
echo "## aura diff against \`${base}\`"
echo
echo "Offline plans (Pulumi mocks) of each stack's profile, before and after this pull request,"
echo "both with this pull request's program. \`pulumi preview\` below shows the cloud's view."
echo
for stack in $(bash scripts/stacks.sh --lines); do
  profile="$(node -e 'const y=require("js-yaml");const c=y.load(require("fs").readFileSync(process.argv[1],"utf8"))||{};process.stdout.write(String((c.config||{})["aura:profile"]||""))' "Pulumi.${stack}.yaml")"
  if [ -z "${profile}" ]; then
    echo "### Stack \`${stack}\`: Pulumi.${stack}.yaml names no \`aura:profile\`"
    status=1
    continue
  fi
  if ! node bin/aura.js diff --ref "${base}" "${profile}" --stack "${stack}" --markdown 2>"${err}"; then
    echo "### Stack \`${stack}\`: \`aura diff\` failed"
    echo
    echo '```text'
    sed 's/```/'"'''"'/g' "${err}"
    echo '```'
    echo
    status=1
  fi
done
exit "${status}"
