#!/usr/bin/env bash
# Aura master maintenance: keeps a valid agent join token in the metadata
# store (see publish_join_token). Run hourly by aura-join-token.timer.

if [[ ! -f "${DONE_MARKER}" ]]; then
  log "the node is not bootstrapped yet"
  exit 0
fi
publish_join_token
