#!/usr/bin/env bash
# Installs what the tests and the dev stack need, idempotently:
#   - PostgreSQL >= 14 server binaries with the wal2json plugin (apt, when
#     root on Debian/Ubuntu; otherwise prints what to install and exits 1);
#   - the pinned Temporal CLI into bin/temporal (go install);
#   - promtool (make test-alerts) into bin/promtool, unpacked from Debian's
#     prometheus package (apt-get download), unless one is on PATH;
#   - Debian's chromium (apt), for the headless Web UI test (e2e/ui_test.go).
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

# promtool checks and unit-tests the alert rules (make test-alerts). Only the
# binary is taken from Debian's prometheus package: installing the package
# would add a prometheus service that some systems start at once, listening
# on :9090 (the worker's default metrics address).
promtool_ok() { "$ROOT/bin/promtool" --version >/dev/null 2>&1 || command -v promtool >/dev/null 2>&1; }
install_promtool() {
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
    die "promtool not found and no apt-get/dpkg-deb to fetch it: install Debian's prometheus package or put promtool on PATH"
  local tmp
  tmp="$(mktemp -d)"
  if can_apt; then
    DEBIAN_FRONTEND=noninteractive apt-get update </dev/null
    # apt's download sandbox user must be able to write the folder.
    if id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi
  fi
  say "apt-get download prometheus (to unpack promtool only)"
  if ! (cd "$tmp" && apt-get download prometheus </dev/null); then
    rm -rf "$tmp"
    die "could not download Debian's prometheus package for promtool: as root run scripts/install-deps.sh again (it runs apt-get update), or put promtool on PATH"
  fi
  dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/pkg"
  mkdir -p "$ROOT/bin"
  install -m 0755 "$tmp/pkg/usr/bin/promtool" "$ROOT/bin/promtool"
  rm -rf "$tmp"
  "$ROOT/bin/promtool" --version >/dev/null 2>&1 || die "bin/promtool does not run after unpacking it"
  say "installed $("$ROOT/bin/promtool" --version 2>&1 | head -1) into bin/promtool"
}
if promtool_ok; then
  say "promtool: $( ("$ROOT/bin/promtool" --version 2>&1 || promtool --version 2>&1) | head -1)"
else
  install_promtool
fi

# Chromium runs the Web UI browser test (e2e/ui_test.go) headless: Debian's
# package, without its recommends.
if command -v chromium >/dev/null 2>&1; then
  say "chromium: $(chromium --version 2>/dev/null | head -1)"
elif can_apt; then
  apt_install chromium
  command -v chromium >/dev/null 2>&1 || die "chromium still missing after apt-get install"
else
  die "chromium not found (the Web UI browser test needs it). Install it, e.g. on Debian as root: apt-get install -y --no-install-recommends chromium"
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
