#!/usr/bin/env bash
# Stops the local dev stack started by scripts/dev-up.sh, idempotently. Data
# stays in .dev/ (as root with the checkout where the postgres OS user cannot
# enter, the clusters' data lives in /var/tmp/ardent-0/, linked from
# .dev/source and .dev/ardent; see scripts/devpg).
# Usage: scripts/dev-down.sh            stop
#        scripts/dev-down.sh --purge    stop and delete all the data (.dev/ and
#                                       the clusters wherever they live): make reset
set -euo pipefail
. "$(dirname "$0")/lib.sh"

purge=
case "${1:-}" in
  --purge) purge=1 ;;
  "") ;;
  *) die "unknown argument $1 (want --purge or nothing)" ;;
esac

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
  [ -e "$DEV/$cluster" ] || [ -L "$DEV/$cluster" ] || continue
  if [ ! -x "$DEV/bin/devpg" ]; then
    (cd "$ROOT" && go build -o "$DEV/bin/devpg" ./scripts/devpg)
  fi
  if [ -n "$purge" ]; then
    say "stop cluster .dev/$cluster and delete its data"
    "$DEV/bin/devpg" purge -dir "$DEV/$cluster"
  elif [ -d "$DEV/$cluster/data" ]; then
    say "stop cluster .dev/$cluster"
    "$DEV/bin/devpg" down -dir "$DEV/$cluster"
  fi
done
if [ -n "$purge" ]; then
  rm -rf "$DEV"
  say "dev stack stopped and its data deleted"
else
  say "dev stack stopped"
fi
