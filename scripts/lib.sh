# Shared helpers for the scripts in this directory; sourced, not run.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEV="$ROOT/.dev"
TEMPORAL_CLI_VERSION=v1.5.1
TEMPORAL_CLI_MODULE=github.com/temporalio/cli/cmd/temporal

say() { printf '%s: %s\n' "$(basename "$0")" "$*"; }
die() { printf '%s: error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }

# pg_bindir prints the bin directory of the newest PostgreSQL >= 14 server
# (pg_config --bindir first, then /usr/lib/postgresql/<v>/bin), the same
# search internal/pgtest does; nothing when there is none.
pg_bindir() {
  local dirs=() d v
  if command -v pg_config >/dev/null 2>&1; then dirs+=("$(pg_config --bindir)"); fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5nr); do dirs+=("$d"); done
  for d in "${dirs[@]}"; do
    [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/pg_basebackup" ] || continue
    v="$(pg_major "$d")"
    [ -n "$v" ] && [ "$v" -ge 14 ] && { echo "$d"; return 0; }
  done
  return 0
}

pg_major() { "$1/postgres" --version | sed -n 's/.*(PostgreSQL) \([0-9]*\).*/\1/p'; }

pg_pkglibdir() {
  if [ -x "$1/pg_config" ]; then "$1/pg_config" --pkglibdir; else echo "$(dirname "$1")/lib"; fi
}

# temporal_cli_ok succeeds when bin/temporal is the pinned CLI version
# (go install leaves the version string at 0.0.0-DEV, so read the build info).
temporal_cli_ok() {
  [ -x "$ROOT/bin/temporal" ] || return 1
  go version -m "$ROOT/bin/temporal" 2>/dev/null | grep -Eq "^[[:space:]]+mod[[:space:]]+github.com/temporalio/cli[[:space:]]+$TEMPORAL_CLI_VERSION([[:space:]]|$)"
}
