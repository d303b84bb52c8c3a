#!/usr/bin/env bash
# Installs what the tests and the dev stack need, idempotently:
#   - PostgreSQL >= 14 server binaries with the wal2json plugin (apt, when
#     root on Debian/Ubuntu; otherwise prints what to install and exits 1);
#   - the pinned Temporal CLI into bin/temporal (go install).
# Usage: scripts/install-deps.sh
set -euo pipefail
. "$(dirname "$0")/lib.sh"

apt_install() {
  say "apt-get install -y $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update </dev/null
  apt-get install -y --no-install-recommends "$@" </dev/null
}

can_apt() { [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; }

bindir="$(pg_bindir)"
if [ -z "$bindir" ]; then
  if can_apt; then
    apt_install postgresql-15 postgresql-15-wal2json
    bindir="$(pg_bindir)"
    [ -n "$bindir" ] || die "PostgreSQL server binaries still missing after apt-get install"
  else
    die "PostgreSQL >= 14 server binaries not found. Install them, e.g. on Debian/Ubuntu as root: apt-get install -y postgresql-15 postgresql-15-wal2json"
  fi
fi
major="$(pg_major "$bindir")"
libdir="$(pg_pkglibdir "$bindir")"
if [ ! -f "$libdir/wal2json.so" ]; then
  if can_apt; then
    apt_install "postgresql-$major-wal2json"
  fi
  [ -f "$libdir/wal2json.so" ] || die "wal2json.so not in $libdir. Install it, e.g. on Debian/Ubuntu as root: apt-get install -y postgresql-$major-wal2json"
fi
say "PostgreSQL $major in $bindir, wal2json in $libdir"
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  die "running as root needs the OS user 'postgres' (created by the postgresql-common package) to run test servers"
fi

if temporal_cli_ok; then
  say "Temporal CLI $TEMPORAL_CLI_VERSION in bin/temporal"
else
  command -v go >/dev/null || die "go not found: needed to install the Temporal CLI"
  say "GOBIN=$ROOT/bin go install $TEMPORAL_CLI_MODULE@$TEMPORAL_CLI_VERSION"
  GOBIN="$ROOT/bin" go install "$TEMPORAL_CLI_MODULE@$TEMPORAL_CLI_VERSION"
  temporal_cli_ok || die "bin/temporal is not $TEMPORAL_CLI_VERSION after go install"
  say "installed Temporal CLI $TEMPORAL_CLI_VERSION into bin/temporal"
fi
