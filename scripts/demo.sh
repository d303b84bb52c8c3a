#!/usr/bin/env bash
# The whole story on a demo database, as an operator lives it:
#   1. a demo schema with data in the dev source (.dev/source, database app);
#   2. `ardent onboard` for a role that does not exist yet: preflight fails;
#   3. `ardent sql` generates the script, applied with psql as the DBA would;
#   4. `ardent signal sql-applied`: preflight passes, the connector is
#      created, the snapshot runs with a progress bar, streaming starts;
#   5. rows written on the source arrive in the destination.
# Run by `make demo` after `make dev`. Safe to run again: an existing demo
# connector is shown and fed more writes instead of being onboarded twice.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ -s "$DEV/env" ] || die ".dev/env missing: run make dev first"
. "$DEV/env"
export PATH="$ROOT/bin:$PATH"
ROWS="${DEMO_ROWS:-200000}"
NAME=demo

src_psql() { psql -X -q -v ON_ERROR_STOP=1 "$DEV_SOURCE_URL" "$@" </dev/null; }
src_script() { psql -X -q -v ON_ERROR_STOP=1 "$DEV_SOURCE_URL" -f -; } # SQL on stdin
dst_psql() { psql -X -q -v ON_ERROR_STOP=1 "$DEV_DESTINATION_URL" "$@" </dev/null; }
headline() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

headline "worker"
if [ -s "$DEV/worker.pid" ] && kill -0 "$(cat "$DEV/worker.pid")" 2>/dev/null; then
  say "ardent-worker already running (pid $(cat "$DEV/worker.pid"), log .dev/worker.log)"
else
  nohup setsid "$ROOT/bin/ardent-worker" >>"$DEV/worker.log" 2>&1 </dev/null &
  echo $! >"$DEV/worker.pid"
  for _ in $(seq 1 60); do
    curl -fsS "http://$ARDENT_HTTP_ADDRESS/healthz" >/dev/null 2>&1 && break
    kill -0 "$(cat "$DEV/worker.pid")" 2>/dev/null || die "ardent-worker exited: $(tail -n 5 "$DEV/worker.log")"
    sleep 0.5
  done
  say "ardent-worker started (pid $(cat "$DEV/worker.pid"), log .dev/worker.log, metrics http://$ARDENT_HTTP_ADDRESS/metrics)"
fi

# Is there a demo connector already? (A query needs a live worker: retry a little.)
existing=""
for _ in $(seq 1 30); do
  # `status` exits 1 for a connector in failed or attention, still with its JSON.
  if out="$(ardent status "$NAME" --format json 2>&1)" || grep -q '"stage"' <<<"$out"; then existing="$out"; break; fi
  case "$out" in *"no connector named"*) break ;; esac
  sleep 1
done
if grep -q '"workflow": "ReplicationWorkflow"' <<<"$existing"; then
  headline "the demo connector already exists (make reset to start over)"
  ardent status "$NAME"
else
  headline "1. a demo schema on the source ($ROWS orders)"
  src_script <<SQL
CREATE SCHEMA IF NOT EXISTS shop;
CREATE TABLE IF NOT EXISTS shop.customers (id bigint PRIMARY KEY, name text NOT NULL, email text);
CREATE TABLE IF NOT EXISTS shop.orders (
  id bigserial PRIMARY KEY, customer_id bigint NOT NULL, amount numeric(12,2) NOT NULL,
  status text NOT NULL DEFAULT 'new', created_at timestamptz NOT NULL DEFAULT now(), note text);
-- A table keyed only by a unique index: preflight asks for REPLICA IDENTITY USING INDEX.
CREATE TABLE IF NOT EXISTS shop."Audit Log" (event_id uuid NOT NULL, at timestamptz NOT NULL DEFAULT now(), payload jsonb);
CREATE UNIQUE INDEX IF NOT EXISTS audit_log_event_id ON shop."Audit Log" (event_id);
INSERT INTO shop.customers SELECT g, 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING;
INSERT INTO shop.orders (customer_id, amount, note)
  SELECT 1 + g % 1000, (g % 10000) / 100.0, 'seed order ' || g FROM generate_series(1, $ROWS - (SELECT count(*) FROM shop.orders)) g;
INSERT INTO shop."Audit Log" (event_id, payload) SELECT gen_random_uuid(), jsonb_build_object('n', g) FROM generate_series(1, 100) g
  WHERE (SELECT count(*) FROM shop."Audit Log") = 0;
SQL
  src_psql -Atc "SELECT 'shop.orders: ' || count(*) || ' rows' FROM shop.orders"

  if [ ! -s "$DEV/demo.password" ]; then
    (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$DEV/demo.password")
  fi
  PW="$(cat "$DEV/demo.password")"
  HOSTPORT="${DEV_SOURCE_URL#postgres://postgres@}"; HOSTPORT="${HOSTPORT%%/*}"
  ARDENT_SOURCE="postgres://ardent:$PW@$HOSTPORT/app?sslmode=require"

  headline "2. onboard as role ardent (it does not exist yet, so preflight fails)"
  # </dev/null: the dev destination needs no password, so no prompt for one.
  ardent onboard --name "$NAME" --source "$ARDENT_SOURCE" --destination "$DEV_DESTINATION_URL" \
    --schema shop --backoff-initial 15s </dev/null || true
  for _ in $(seq 1 60); do
    ardent status "$NAME" --format json 2>/dev/null | grep -Eq '"stage": "(waiting_for_sql|creating_connector|snapshot|streaming)"' && break
    sleep 1
  done
  ardent status "$NAME" || true

  headline "3. generate the SQL and apply it as the DBA would"
  # The password goes in a file (mode 600); the script gets only its SCRAM verifier, so the
  # clear password never reaches the server or its log.
  ardent sql --source "$DEV_SOURCE_URL" --schema shop --role ardent --egress-ip 127.0.0.1 \
    --password-file "$DEV/demo.password" >"$DEV/demo.sql" </dev/null
  say "wrote .dev/demo.sql ($(wc -l <"$DEV/demo.sql") lines); its first lines:"
  sed -n '1,25p' "$DEV/demo.sql"
  say "psql -v ON_ERROR_STOP=1 -f .dev/demo.sql   (role ardent's password: its SCRAM verifier only)"
  psql -X -q -v ON_ERROR_STOP=1 -f "$DEV/demo.sql" "$DEV_SOURCE_URL" </dev/null

  headline "4. tell Ardent the SQL is applied, and follow it to streaming"
  ardent signal sql-applied "$NAME"
  ardent onboard --name "$NAME" --source "$ARDENT_SOURCE" --destination "$DEV_DESTINATION_URL" --schema shop --wait </dev/null
fi

headline "5. writes on the source arrive in the destination"
before="$(dst_psql -Atc "SELECT count(*) FROM shop.orders")"
src_psql -c "INSERT INTO shop.orders (customer_id, amount, note) SELECT 1 + g % 1000, 9.99, 'live order ' || g FROM generate_series(1, 1000) g"
src_psql -c "UPDATE shop.customers SET email = 'vip' || id || '@example.com' WHERE id <= 10"
want="$(src_psql -Atc "SELECT count(*) FROM shop.orders")"
for _ in $(seq 1 60); do
  got="$(dst_psql -Atc "SELECT count(*) FROM shop.orders")"
  [ "$got" = "$want" ] && break
  sleep 1
done
say "destination shop.orders: $before rows before, $got after (source has $want)"
[ "$got" = "$want" ] || die "the destination did not catch up within 60 s: see .dev/worker.log and \`ardent status $NAME\`"
dst_psql -Atc "SELECT 'customer ' || id || ': ' || email FROM shop.customers WHERE id <= 3 ORDER BY id"
# The position in `status` comes from the stream's heartbeat, a few seconds behind.
for _ in $(seq 1 20); do
  ardent status "$NAME" --format json 2>/dev/null | grep -Eq '"rows_applied": [1-9]' && break
  sleep 1
done
ardent status "$NAME"

cat <<MSG

Demo done. The connector keeps streaming while the worker runs.
  Temporal Web UI:  $DEV_TEMPORAL_UI  (workflows onboarding-$NAME and replication-$NAME; payloads decode via the worker)
  Status:           . .dev/env && bin/ardent status $NAME
  Stop everything:  make down  (the worker too; make reset deletes the data to start over)
MSG
