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

# A stack's section for a step that failed: the heading, then the step's error output as text.
failed() {
  echo "### Stack \`${stack}\`: $1"
  echo
  echo '```text'
  sed 's/```/'"'''"'/g' "${err}"
  echo '```'
  echo
  status=1
}

for stack in $(bash scripts/stacks.sh --lines); do
  # Read as aura reads it: a stack file that is not valid YAML is reported in the comment, and the
  # other stacks still get their diff. (The single quotes keep the JavaScript's ${} from bash.)
  # shellcheck disable=SC2016
  if ! profile="$(node -e '
    require("./cli/transpile").register();
    try {
      process.stdout.write(require("./cli/main").stackConfig(process.argv[1], process.cwd())["aura:profile"] || "");
    } catch (e) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }' "${stack}" 2>"${err}")"; then
    failed "Pulumi.${stack}.yaml cannot be read"
    continue
  fi
  if [ -z "${profile}" ]; then
    echo "### Stack \`${stack}\`: Pulumi.${stack}.yaml names no \`aura:profile\`"
    status=1
    continue
  fi
  if ! node bin/aura.js diff --ref "${base}" "${profile}" --stack "${stack}" --markdown 2>"${err}"; then
    failed "\`aura diff\` failed"
  fi
done
exit "${status}"
