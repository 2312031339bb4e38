#!/usr/bin/env bash
# The logging setup job (components/system/logging.ts), run by bash in the Elasticsearch image with
# ES_URL, KIBANA_URL, ES_PASSWORD, PREFIX, RETENTION_DAYS and POLICY in the environment and the
# HTTP CAs of Elasticsearch and Kibana in /es-ca and /kibana-ca. It waits for both (a first
# deployment starts them at the same time), then:
# - an ILM policy that deletes an index RETENTION_DAYS after it was created, and an index template
#   that gives it to every new daily index (priority 50: below Elasticsearch's built-in `logs-*-*`
#   data-stream templates, which the daily names do not match);
# - the same policy on the daily indices made before (or under another retention);
# - the Kibana data view over them, once (an operator may change it afterwards).
# Every step is idempotent: the job may run again.
set -euo pipefail
deadline=$((SECONDS + 1500))

# The password reaches curl as a config file on its standard input (printf is a bash builtin), never
# on a command line, where /proc would show it to the node until curl wipes it. In curl's config
# syntax a quoted value escapes its backslashes and quotes.
credentials() {
  local password=${ES_PASSWORD//\\/\\\\}
  password=${password//\"/\\\"}
  printf 'user = "elastic:%s"\n' "${password}"
}

es() {
  credentials | curl --config - --silent --show-error --fail-with-body --max-time 30 --cacert /es-ca/ca.crt \
    --header 'Content-Type: application/json' "$@"
}

kibana() {
  credentials | curl --config - --silent --show-error --fail-with-body --max-time 30 --cacert /kibana-ca/ca.crt \
    --header 'Content-Type: application/json' --header 'kbn-xsrf: aura' "$@"
}

wait_for() {
  local what=$1
  shift
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "${what} did not become available within 25 minutes" >&2
      return 1
    fi
    sleep 10
  done
}

wait_for Elasticsearch es "${ES_URL}/_cluster/health?wait_for_status=yellow&timeout=10s"
es --request PUT "${ES_URL}/_ilm/policy/${POLICY}" \
  --data "$(printf '{"policy":{"phases":{"delete":{"min_age":"%sd","actions":{"delete":{}}}}}}' "${RETENTION_DAYS}")"
echo
es --request PUT "${ES_URL}/_index_template/${POLICY}" \
  --data "$(printf '{"index_patterns":["%s-*"],"priority":50,"template":{"settings":{"index.lifecycle.name":"%s"}}}' "${PREFIX}" "${POLICY}")"
echo
es --request PUT "${ES_URL}/${PREFIX}-*/_settings?allow_no_indices=true" \
  --data "$(printf '{"index.lifecycle.name":"%s"}' "${POLICY}")"
echo

wait_for Kibana kibana "${KIBANA_URL}/api/status"
if ! kibana "${KIBANA_URL}/api/data_views/data_view/${POLICY}" >/dev/null 2>&1; then
  kibana --request POST "${KIBANA_URL}/api/data_views/data_view" \
    --data "$(printf '{"data_view":{"id":"%s","title":"%s-*","name":"Aura logs","timeFieldName":"@timestamp"}}' "${POLICY}" "${PREFIX}")"
  echo
fi
echo "Logs kept ${RETENTION_DAYS} days; Kibana data view ${PREFIX}-*"
