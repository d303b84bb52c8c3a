#!/usr/bin/env bash
# Starts the local dev stack, idempotently (running pieces are left alone):
#   - source PostgreSQL on 127.0.0.1:54331: wal_level=logical, ssl=on with a
#     self-signed certificate, scram-sha-256 for every role but postgres,
#     database "app";
#   - Ardent's PostgreSQL on 127.0.0.1:54332: the catalog database
#     "ardent_catalog" and the destination database "destination";
#   - the Temporal dev server on 127.0.0.1:7233, Web UI on 8233, SQLite in
#     .dev/temporal.db, Ardent's search attributes registered, the UI decoding
#     payloads through the worker's codec endpoint
#     (http://ARDENT_HTTP_ADDRESS/codec/TOKEN: the dev UI sends neither a
#     header nor a cookie, so the token is in its path, which every user of
#     that UI sees: ARDENT_CODEC_PATH_TOKEN=true, fit for one laptop only);
#   - .dev/master.key and .dev/codec.token (generated once) and .dev/env
#     (mode 0600) with the ARDENT_* settings.
# Usage: scripts/dev-up.sh     then: . .dev/env
# Ports can be overridden with DEV_SOURCE_PORT, DEV_ARDENT_PORT,
# DEV_TEMPORAL_PORT, DEV_TEMPORAL_UI_PORT and ARDENT_HTTP_ADDRESS.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SOURCE_PORT="${DEV_SOURCE_PORT:-54331}"
ARDENT_PORT="${DEV_ARDENT_PORT:-54332}"
TEMPORAL_PORT="${DEV_TEMPORAL_PORT:-7233}"
UI_PORT="${DEV_TEMPORAL_UI_PORT:-8233}"
HTTP_ADDRESS="${ARDENT_HTTP_ADDRESS:-127.0.0.1:9090}"
TEMPORAL="$ROOT/bin/temporal"

mkdir -p "$DEV/bin"
chmod 0755 "$DEV"
[ -x "$TEMPORAL" ] || die "bin/temporal missing: run scripts/install-deps.sh"
[ -n "$(pg_bindir)" ] || die "PostgreSQL server binaries missing: run scripts/install-deps.sh"

say "building .dev/bin/devpg"
(cd "$ROOT" && go build -o "$DEV/bin/devpg" ./scripts/devpg)

say "source cluster on 127.0.0.1:$SOURCE_PORT (.dev/source)"
"$DEV/bin/devpg" up -dir "$DEV/source" -port "$SOURCE_PORT" -ssl -password-auth -wal-level logical
say "catalog and destination cluster on 127.0.0.1:$ARDENT_PORT (.dev/ardent)"
"$DEV/bin/devpg" up -dir "$DEV/ardent" -port "$ARDENT_PORT" -wal-level logical

psql_on() { # port db sql...
  local port="$1" db="$2"; shift 2
  PGCONNECT_TIMEOUT=10 psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@" </dev/null
}
ensure_db() { # port name
  if [ "$(psql_on "$1" postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$2'")" != 1 ]; then
    say "create database $2 on port $1"
    psql_on "$1" postgres -c "CREATE DATABASE \"$2\""
  fi
}
ensure_db "$SOURCE_PORT" app
ensure_db "$ARDENT_PORT" ardent_catalog
ensure_db "$ARDENT_PORT" destination

if [ ! -s "$DEV/master.key" ]; then
  say "generate .dev/master.key"
  (umask 077 && head -c 32 /dev/urandom | base64 > "$DEV/master.key")
fi
chmod 0600 "$DEV/master.key"
if [ ! -s "$DEV/codec.token" ]; then
  say "generate .dev/codec.token"
  (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$DEV/codec.token")
fi
CODEC_TOKEN="$(cat "$DEV/codec.token")"

temporal_ready() {
  "$TEMPORAL" operator search-attribute list --address "127.0.0.1:$TEMPORAL_PORT" --namespace default 2>/dev/null \
    | grep -q ArdentSource
}
pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

if pid_alive "$DEV/temporal.pid"; then
  say "Temporal dev server already running (pid $(cat "$DEV/temporal.pid"))"
elif temporal_ready; then
  die "something else already serves Temporal on 127.0.0.1:$TEMPORAL_PORT (not started by dev-up); stop it or set DEV_TEMPORAL_PORT"
else
  say "start Temporal dev server on 127.0.0.1:$TEMPORAL_PORT (log .dev/temporal.log)"
  # setsid detaches it from make's process group so ^C in a later make
  # target does not take the server down.
  nohup setsid "$TEMPORAL" server start-dev \
    --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$UI_PORT" \
    --db-filename "$DEV/temporal.db" --namespace default \
    --search-attribute ArdentStage=Keyword --search-attribute ArdentSource=Keyword \
    --ui-codec-endpoint "http://$HTTP_ADDRESS/codec/$CODEC_TOKEN" \
    --log-level warn >>"$DEV/temporal.log" 2>&1 </dev/null &
  echo $! >"$DEV/temporal.pid"
fi
for _ in $(seq 1 120); do
  temporal_ready && break
  pid_alive "$DEV/temporal.pid" || die "Temporal dev server exited; see .dev/temporal.log: $(tail -n 5 "$DEV/temporal.log")"
  sleep 0.5
done
temporal_ready || die "Temporal dev server not ready after 60s; see .dev/temporal.log"

(umask 077 && : >"$DEV/env.tmp")
cat >"$DEV/env.tmp" <<ENV
# Written by scripts/dev-up.sh; load with: . .dev/env
export ARDENT_TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT
export ARDENT_TEMPORAL_NAMESPACE=default
export ARDENT_CATALOG_URL='postgres://postgres@127.0.0.1:$ARDENT_PORT/ardent_catalog?sslmode=disable'
export ARDENT_MASTER_KEY_FILE='$DEV/master.key'
export ARDENT_HTTP_ADDRESS=$HTTP_ADDRESS
export ARDENT_CODEC_TOKEN=$CODEC_TOKEN
# The dev UI's codec endpoint has the token in its path: a laptop only.
export ARDENT_CODEC_PATH_TOKEN=true
export ARDENT_TEMPORAL_BIN='$TEMPORAL'
# Convenience for demos (superuser URLs of the dev clusters; no passwords).
export DEV_SOURCE_URL='postgres://postgres@127.0.0.1:$SOURCE_PORT/app?sslmode=require'
export DEV_DESTINATION_URL='postgres://postgres@127.0.0.1:$ARDENT_PORT/destination?sslmode=disable'
export DEV_TEMPORAL_UI='http://127.0.0.1:$UI_PORT'
ENV
mv "$DEV/env.tmp" "$DEV/env"

cat <<MSG
Dev stack is up.
  Temporal Web UI:   http://127.0.0.1:$UI_PORT   (decodes payloads via the worker: http://$HTTP_ADDRESS/codec/<.dev/codec.token>)
  Temporal frontend: 127.0.0.1:$TEMPORAL_PORT  namespace default
  Source:            postgres://postgres@127.0.0.1:$SOURCE_PORT/app?sslmode=require
                     (ssl on, wal_level=logical; roles other than postgres need a password over SSL)
  Destination:       postgres://postgres@127.0.0.1:$ARDENT_PORT/destination?sslmode=disable
  Catalog:           postgres://postgres@127.0.0.1:$ARDENT_PORT/ardent_catalog?sslmode=disable
  Master key:        $DEV/master.key
  Settings:          . .dev/env
  Logs:              .dev/temporal.log .dev/source/server.log .dev/ardent/server.log
MSG
