#!/bin/sh
# One-shot: waits for the Temporal frontend, then registers the custom search
# attributes Ardent's workflows set. Safe to run again: an attribute that
# already exists with the right type is left alone.
# Env: TEMPORAL_ADDRESS (host:port), NAMESPACE (default "default").
set -eu
ns="${NAMESPACE:-default}"
addr="${TEMPORAL_ADDRESS:-temporal:7233}"

i=0
until temporal operator namespace describe --namespace "$ns" --address "$addr" >/dev/null 2>&1; do
  i=$((i + 1))
  [ "$i" -le 90 ] || { echo "namespace $ns on $addr not available after 180s" >&2; exit 1; }
  sleep 2
done

for attr in ArdentStage ArdentSource; do
  if temporal operator search-attribute list --namespace "$ns" --address "$addr" | grep -Eq "^[[:space:]]*$attr[[:space:]]+Keyword"; then
    echo "search attribute $attr already registered"
    continue
  fi
  temporal operator search-attribute create --namespace "$ns" --address "$addr" --name "$attr" --type Keyword
  echo "registered search attribute $attr (Keyword)"
done
temporal operator search-attribute list --namespace "$ns" --address "$addr"
