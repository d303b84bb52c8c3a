#!/usr/bin/env bash
# Stops the local dev stack started by scripts/dev-up.sh, idempotently. Data
# stays in .dev/ (remove the directory to start from scratch).
# Usage: scripts/dev-down.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pidfile="$DEV/temporal.pid"
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  pid="$(cat "$pidfile")"
  say "stop Temporal dev server (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then say "still running after 30s: SIGKILL"; kill -KILL "$pid" || true; fi
fi
rm -f "$pidfile"

for cluster in source ardent; do
  [ -d "$DEV/$cluster/data" ] || continue
  if [ ! -x "$DEV/bin/devpg" ]; then
    (cd "$ROOT" && go build -o "$DEV/bin/devpg" ./scripts/devpg)
  fi
  say "stop cluster .dev/$cluster"
  "$DEV/bin/devpg" down -dir "$DEV/$cluster"
done
say "dev stack stopped"
