#!/usr/bin/env bash
# Stops the local dev stack started by scripts/dev-up.sh, idempotently. Data
# stays in .dev/ (remove the directory to start from scratch).
# Usage: scripts/dev-down.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# stop_pid NAME PIDFILE: SIGTERM, wait up to 30 s, then SIGKILL.
stop_pid() {
  local name="$1" pidfile="$2" pid
  if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    pid="$(cat "$pidfile")"
    say "stop $name (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then say "$name still running after 30s: SIGKILL"; kill -KILL "$pid" || true; fi
  fi
  rm -f "$pidfile"
}

# The worker first (scripts/demo.sh starts it), while its server is still up.
stop_pid ardent-worker "$DEV/worker.pid"
stop_pid "Temporal dev server" "$DEV/temporal.pid"

for cluster in source ardent; do
  [ -d "$DEV/$cluster/data" ] || continue
  if [ ! -x "$DEV/bin/devpg" ]; then
    (cd "$ROOT" && go build -o "$DEV/bin/devpg" ./scripts/devpg)
  fi
  say "stop cluster .dev/$cluster"
  "$DEV/bin/devpg" down -dir "$DEV/$cluster"
done
say "dev stack stopped"
