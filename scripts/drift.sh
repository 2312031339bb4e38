#!/usr/bin/env bash
# Drift check of one stack: `pulumi preview --refresh --expect-no-changes`. Refresh reads what runs in
# Azure; any difference from the program means a hand change (lost on the next `pulumi up`, so found
# here first). Fails listing each drifted resource, also as annotations and in the job summary.
# Needs the Pulumi CLI, a backend login and the stack's credentials in the environment. In GitHub
# Actions it first asks (gh, GH_TOKEN) whether the deploy workflow's job for this stack is running or
# about to: then it skips, since the preview would report the deployment's own changes as drift. A
# job that waits for a reviewer (prod) is not running, and the check goes on.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

stack="${1:?usage: scripts/drift.sh <stack>}"

# Prints how many unfinished deploy runs have this stack's job queued or in progress; fails when
# GitHub cannot be asked.
deploying() {
  local ids id status n=0
  ids="$(gh run list --workflow deploy.yml --limit 50 --json databaseId,status --jq '.[] | select(.status != "completed") | .databaseId')" || return 1
  for id in ${ids}; do
    # The deploy workflow's jobs are named after their stacks (deploy.yml).
    status="$(STACK="${stack}" gh api "repos/{owner}/{repo}/actions/runs/${id}/jobs" --jq '.jobs[] | select(.name == env.STACK) | .status')" || return 1
    case "${status}" in
      queued | in_progress) n=$((n + 1)) ;;
    esac
  done
  echo "${n}"
}

if [ -n "${GITHUB_ACTIONS:-}" ]; then
  if ! busy="$(deploying)"; then
    echo "${stack}: cannot list the deploy workflow's runs and jobs (gh; the job needs actions: read)" >&2
    exit 2
  fi
  if [ "${busy}" != "0" ]; then
    echo "${stack}: skipped, a deployment of ${stack} is running or about to; the next night checks again"
    echo "### ${stack}: skipped, a deployment of ${stack} is running or about to" >> "${GITHUB_STEP_SUMMARY:-/dev/null}"
    echo "::notice title=drift in ${stack}::skipped, a deployment of ${stack} is running or about to"
    exit 0
  fi
fi

out="$(mktemp)"
err="$(mktemp)"
trap 'rm -f "${out}" "${err}"' EXIT

if pulumi preview --stack "${stack}" --refresh --expect-no-changes --json >"${out}" 2>"${err}"; then
  echo "${stack}: no drift"
  echo "### ${stack}: no drift" >> "${GITHUB_STEP_SUMMARY:-/dev/null}"
  exit 0
fi

# Every step that changes something, with the properties that differ, once: not "same", not "read"
# (a StackReference or a read resource is read on every run), and not "refresh" (--refresh lists
# every resource it reads as a refresh step; one whose refresh found a difference is listed as an
# update or delete instead). A JavaScript template, not shell.
# shellcheck disable=SC2016
drifted="$(node -e '
  const preview = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const lines = new Set();
  for (const step of preview.steps ?? []) {
    if (step.op === "same" || step.op === "read" || step.op === "refresh") continue;
    const reasons = step.diffReasons?.length ? `  (${step.diffReasons.join(", ")})` : "";
    lines.add(`${step.op} ${step.urn}${reasons}`);
  }
  for (const line of lines) console.log(line);' "${out}" 2>/dev/null)"
if [ -z "${drifted}" ]; then
  # No step list: the preview itself failed (credentials, backend, program); show why.
  echo "${stack}: pulumi preview failed:" >&2
  cat "${err}" >&2
  exit 2
fi

echo "${stack}: drift — these resources differ from the program (pulumi up -s ${stack} would change them):"
echo "${drifted}"
{
  echo "### ${stack}: drift"
  echo
  echo '```text'
  echo "${drifted}"
  echo '```'
} >> "${GITHUB_STEP_SUMMARY:-/dev/null}"
while IFS= read -r line; do
  echo "::error title=drift in ${stack}::${line}"
done <<< "${drifted}"
exit 1
