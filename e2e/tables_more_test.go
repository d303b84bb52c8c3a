package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// The rest of issue 16's "Done when": each test runs under a write load and
// ends with `ardent verify` equal. TestLiveTables (tables_test.go) covers a
// new table and a resync.

const partitionsSQL = `
CREATE TABLE shop.events (id bigint NOT NULL, at date NOT NULL, v int NOT NULL, note text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE shop.events_01 PARTITION OF shop.events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
INSERT INTO shop.events SELECT g, date '2026-01-01' + g % 31, g, 'seed' FROM generate_series(1, 5000) g;
CREATE SEQUENCE shop.events_id START 100000;
CREATE SCHEMA staging;
`

// TestLiveTablesPartitions: under writes to a partitioned table, a
// partition created after onboarding, a table of the schema filled and then
// attached, and a table filled in another schema and attached each arrive
// complete and stream; rows move between partitions all along.
func TestLiveTablesPartitions(t *testing.T) {
	s, app, dest := onboardLive(t, partitionsSQL)
	require.Equal(t, "streaming", s.tablesOf("shop")["shop.events_01"])

	stop := sqlLoad(t, app,
		// Into every month: a month without a partition yet is refused (23514).
		`INSERT INTO shop.events (id, at, v) VALUES (nextval('shop.events_id'), date '2026-01-01' + (($1::bigint * 7) % 120)::int, $1)`,
		`UPDATE shop.events SET v = v + 1, note = 'u' || $1 WHERE id = 1 + ($1::bigint * 31) % 5000`,
		// Rows moving to the next month's partition (a DELETE and an INSERT in the stream).
		`UPDATE shop.events SET at = at + 28 WHERE id = 100000 + ($1::bigint * 7919) % ($1::bigint + 1) AND at < '2026-04-01'`,
		`DELETE FROM shop.events WHERE id = 100000 + ($1::bigint * 104729) % ($1::bigint + 1) AND v % 4 = 0`,
		`INSERT INTO shop.events_03 (id, at, v) VALUES (nextval('shop.events_id'), date '2026-03-01' + $1::int % 31, $1)`,
		`INSERT INTO shop.orders (customer_id, amount) VALUES (1 + $1::int % 500, 1)`)

	// A new partition, filled at once.
	s.psql(app, "-c", `CREATE TABLE shop.events_02 PARTITION OF shop.events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01');
		INSERT INTO shop.events SELECT 200000 + g, date '2026-02-01' + g % 28, g, 'feb' FROM generate_series(1, 5000) g`)
	// A table of the schema, filled: first a table of its own, then attached.
	s.psql(app, "-c", `CREATE TABLE shop.events_03 (LIKE shop.events INCLUDING ALL);
		INSERT INTO shop.events_03 SELECT 300000 + g, date '2026-03-01' + g % 31, g, 'mar' FROM generate_series(1, 5000) g`)
	// A table filled in a schema the connector does not select, attached:
	// it becomes a leaf of shop.events. The operator lets role ardent read it.
	s.psql(app, "-c", `CREATE TABLE staging.events_04 (LIKE shop.events INCLUDING ALL);
		INSERT INTO staging.events_04 SELECT 400000 + g, date '2026-04-01' + g % 30, g, 'apr' FROM generate_series(1, 5000) g;
		GRANT USAGE ON SCHEMA staging TO ardent; GRANT SELECT ON staging.events_04 TO ardent`)
	s.waitStates("shop", map[string]string{"shop.events_02": "streaming", "shop.events_03": "streaming"}, 2*time.Minute)
	s.psql(app, "-c", `ALTER TABLE shop.events ATTACH PARTITION shop.events_03 FOR VALUES FROM ('2026-03-01') TO ('2026-04-01')`)
	s.psql(app, "-c", `ALTER TABLE shop.events ATTACH PARTITION staging.events_04 FOR VALUES FROM ('2026-04-01') TO ('2026-05-01')`)
	s.waitStates("shop", map[string]string{"shop.events_01": "streaming", "shop.events_02": "streaming",
		"shop.events_03": "streaming", "staging.events_04": "streaming"}, 2*time.Minute)
	time.Sleep(3 * time.Second) // the load goes on after the last handover
	require.Positive(t, stop())
	require.Positive(t, count(app, "staging.events_04 WHERE note IS NULL"), "the load never wrote to the attached table")

	leaves := []string{"shop.events_01", "shop.events_02", "shop.events_03", "staging.events_04", "shop.orders"}
	requireEqualTables(t, app, dest, leaves...)
	require.Subset(t, s.verifiedTables("shop"), leaves)
	st, _ := s.liveStatusOf("shop")
	require.Equal(t, "streaming", st.Stage, "%+v", st)
}

// TestLiveTablesRename: a table created, filled, streaming and renamed
// under writes streams on under its new name (the old one dropped, its
// cause naming the rename, its destination rows kept); a table renamed
// while it waits for its backfill arrives under its new name and leaves
// nothing to act on.
func TestLiveTablesRename(t *testing.T) {
	s, app, dest := onboardLive(t, "", "--snapshot-max-rate", "2MB")
	stop := sqlLoad(t, app,
		`INSERT INTO shop.tmp (v, note) VALUES ($1, 'load')`,
		`INSERT INTO shop.tmp2 (v, note) VALUES ($1, 'load')`,
		`UPDATE shop.tmp SET v = -v WHERE id = 1 + ($1::bigint * 7919) % 100000`,
		`UPDATE shop.tmp2 SET v = -v WHERE id = 1 + ($1::bigint * 7919) % 100000`,
		`DELETE FROM shop.tmp2 WHERE id = 1 + ($1::bigint * 104729) % 100000 AND v % 5 = 0`,
		`INSERT INTO shop.zz (v) VALUES ($1)`,
		`INSERT INTO shop.zz2 (v) VALUES ($1)`,
		`INSERT INTO shop.orders (customer_id, amount) VALUES (1 + $1::int % 500, 1)`)

	// shop.tmp is backfilled for a few seconds (throttled); shop.zz, created
	// meanwhile, waits for it in the queue and is renamed there.
	s.psql(app, "-c", `CREATE TABLE shop.tmp (id bigserial PRIMARY KEY, v int NOT NULL, note text);
		INSERT INTO shop.tmp (v, note) SELECT g, repeat('x', 40) FROM generate_series(1, 100000) g`)
	s.waitStates("shop", map[string]string{"shop.tmp": "backfilling"}, time.Minute)
	s.psql(app, "-c", `CREATE TABLE shop.zz (id bigserial PRIMARY KEY, v int NOT NULL);
		INSERT INTO shop.zz (v) SELECT g FROM generate_series(1, 1000) g`)
	got := s.waitStates("shop", map[string]string{"shop.zz": "queued"}, time.Minute)
	require.Equal(t, "backfilling", got["shop.tmp"].State, "shop.zz was not queued behind shop.tmp's backfill")
	s.psql(app, "-c", `ALTER TABLE shop.zz RENAME TO zz2`)

	s.waitStates("shop", map[string]string{"shop.tmp": "streaming", "shop.zz2": "streaming"}, 2*time.Minute)
	time.Sleep(2 * time.Second) // writes to shop.tmp while it streams
	s.psql(app, "-c", `ALTER TABLE shop.tmp RENAME TO tmp2`)
	got = s.waitStates("shop", map[string]string{"shop.tmp": "dropped", "shop.tmp2": "streaming"}, 2*time.Minute)
	require.Contains(t, got["shop.tmp"].Cause, "renamed to shop.tmp2", "%+v", got["shop.tmp"])
	if zz, ok := got["shop.zz"]; ok {
		require.Equal(t, "dropped", zz.State, "%+v", zz)
	}
	require.Contains(t, s.WorkerOutput(1000000), "the table is no longer on the source",
		"shop.zz's backfill did not start after its rename: the case was not exercised")
	out, code := s.ardent("tables", "shop")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "renamed to shop.tmp2")
	// Nothing is left for the operator: the renamed queued table is not a
	// failed backfill.
	require.Eventually(t, func() bool { st, ok := s.liveStatusOf("shop"); return ok && st.Stage == "streaming" },
		30*time.Second, time.Second, "the connector does not stream cleanly after the renames: %+v", lazy(func() string { st, _ := s.liveStatusOf("shop"); return fmt.Sprintf("%+v", st) }))

	time.Sleep(2 * time.Second) // writes to shop.tmp2 while it streams
	require.Positive(t, stop())
	requireEqualTables(t, app, dest, "shop.tmp2", "shop.zz2", "shop.orders")
	require.Positive(t, count(dest, "shop.tmp"), "the old name's destination table lost its rows")
	verified := s.verifiedTables("shop")
	require.Subset(t, verified, []string{"shop.tmp2", "shop.zz2", "shop.orders"})
	require.NotContains(t, verified, "shop.tmp")
	require.NotContains(t, verified, "shop.zz")
}

const addRemoveSQL = `
CREATE TABLE shop.x (id bigserial PRIMARY KEY, v int NOT NULL);
INSERT INTO shop.x (v) SELECT g FROM generate_series(1, 1000) g;
CREATE SCHEMA other;
CREATE TABLE other.t (id bigserial PRIMARY KEY, v int NOT NULL, note text);
INSERT INTO other.t (v, note) SELECT g, 'seed' FROM generate_series(1, 20000) g;
CREATE TABLE other.nokey (v int);
`

// TestLiveTablesAddRemove: `tables add` of a table in a schema the
// connector does not select arrives complete and streams; `tables remove`
// stops a table (removed, later writes do not arrive, its destination rows
// kept) and `tables add` brings it back; bad input is refused with the
// fix, the right exit code and nothing changed.
func TestLiveTablesAddRemove(t *testing.T) {
	s, app, dest := onboardLive(t, addRemoveSQL)
	stop := sqlLoad(t, app,
		`INSERT INTO other.t (v) VALUES ($1)`,
		`UPDATE other.t SET v = -v WHERE id = 1 + ($1::bigint * 7919) % 20000`,
		`DELETE FROM other.t WHERE id = 1 + ($1::bigint * 104729) % 20000 AND v % 3 = 0`,
		`INSERT INTO shop.x (v) VALUES ($1)`,
		`UPDATE shop.x SET v = v + 1 WHERE id = 1 + $1::int % 1000`,
		`INSERT INTO shop.orders (customer_id, amount) VALUES (1 + $1::int % 500, 1)`)
	before := s.tablesOf("shop")
	require.Equal(t, map[string]string{"shop.customers": "streaming", "shop.orders": "streaming", "shop.x": "streaming"}, before)
	unchanged := func(what string) {
		t.Helper()
		require.Equal(t, before, s.tablesOf("shop"), "%s changed the tables", what)
	}

	// Bad input: refused, with the fix; nothing sent.
	for _, c := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"tables", "add", "shop", "other.missing"}, 1, []string{"other.missing", "not found", "nothing was sent"}},
		{[]string{"tables", "add", "shop", "other.t"}, 1, []string{"no USAGE on schema other", `GRANT USAGE ON SCHEMA other TO "ardent"`, "nothing was sent"}},
		{[]string{"tables", "add", "shop", "shop.orders"}, 1, []string{"already streaming", "nothing was sent"}},
		{[]string{"tables", "add", "shop", "a.b.c"}, 2, []string{"want schema.table"}},
		{[]string{"tables", "remove", "shop", "shop.customers", "shop.orders", "shop.x"}, 1, []string{"last tables", "ardent drop shop", "nothing was sent"}},
		{[]string{"tables", "remove", "shop", "other.t"}, 1, []string{"has no table other.t", "nothing was sent"}},
		{[]string{"resync", "shop", "--table", "shop.nope"}, 1, []string{"has no table shop.nope", "nothing was sent"}},
		{[]string{"resync", "nosuch", "--table", "shop.orders"}, 1, []string{"nosuch"}},
	} {
		out, code := s.ardent(c.args...)
		require.Equal(t, c.code, code, "%v: %s", c.args, out)
		for _, w := range c.want {
			require.Contains(t, out, w, "%v", c.args)
		}
	}
	// The operator grants what `tables add` asked for; a table without
	// identity is still refused.
	s.psql(app, "-c", `GRANT USAGE ON SCHEMA other TO ardent; GRANT SELECT ON ALL TABLES IN SCHEMA other TO ardent`)
	out, code := s.ardent("tables", "add", "shop", "other.nokey")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "no usable replica identity")
	require.Contains(t, out, `ALTER TABLE "other"."nokey" REPLICA IDENTITY FULL`)
	// Signals with garbage JSON, sent around the CLI, change nothing (and
	// start no backfill: none is a resync of every table).
	backfills := func() int { return strings.Count(s.WorkerOutput(1000000), "backfill: temporary slot created") }
	n := backfills()
	for _, sig := range []struct{ name, input string }{{"tables-add", `"garbage"`}, {"tables-remove", `{"tables": 5}`}, {"resync", `[1, 2]`}} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		raw, err := s.temporal.CLI(ctx, "workflow", "signal", "--workflow-id", contract.ReplicationID("shop"), "--name", sig.name, "--input", sig.input)
		cancel()
		require.NoError(t, err, raw)
	}
	time.Sleep(5 * time.Second) // two discoveries
	unchanged("bad input")
	require.Equal(t, n, backfills(), "bad input started a backfill")
	st, _ := s.liveStatusOf("shop")
	require.Equal(t, "streaming", st.Stage, "%+v", st)

	// Add a table of another schema: copied, then streamed.
	out, code = s.ardent("tables", "add", "shop", "other.t")
	require.Equal(t, 0, code, out)
	s.waitStates("shop", map[string]string{"other.t": "streaming"}, 2*time.Minute)

	// Remove shop.x: its later writes do not arrive, its rows stay.
	out, code = s.ardent("tables", "remove", "shop", "shop.x")
	require.Equal(t, 0, code, out)
	s.waitStates("shop", map[string]string{"shop.x": "removed"}, time.Minute)
	kept := count(dest, "shop.x")
	require.Positive(t, kept)
	time.Sleep(3 * time.Second) // writes to shop.x go on
	require.Equal(t, kept, count(dest, "shop.x"), "a removed table's changes were applied")
	require.Greater(t, count(app, "shop.x"), kept, "the load did not write to shop.x")
	out, code = s.ardent("tables", "remove", "shop", "shop.x")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "already removed")

	stopped := stop()
	require.Positive(t, stopped)
	requireEqualTables(t, app, dest, "other.t", "shop.orders", "shop.customers")
	verified := s.verifiedTables("shop")
	require.Contains(t, verified, "other.t")
	require.NotContains(t, verified, "shop.x")

	// Added back: a new copy, equal again.
	out, code = s.ardent("tables", "add", "shop", "shop.x")
	require.Equal(t, 0, code, out)
	s.waitStates("shop", map[string]string{"shop.x": "streaming"}, time.Minute)
	requireEqualTables(t, app, dest, "shop.x")
	require.Contains(t, s.verifiedTables("shop"), "shop.x")
}

// TestLiveTablesQuarantine: a destination table that lost a column is
// quarantined when a change needs it (tables exit 1, status attention
// naming it) while the other tables keep arriving; fixed and resynced it
// is equal and streams, and the connector streams again.
func TestLiveTablesQuarantine(t *testing.T) {
	s, app, dest := onboardLive(t, "")
	stop := sqlLoad(t, app,
		`UPDATE shop.customers SET email = 'e' || $1 WHERE id = 1 + $1::int % 500`,
		`INSERT INTO shop.customers VALUES (1000 + $1, 'n' || $1, 'x')`,
		`INSERT INTO shop.orders (customer_id, amount) VALUES (1 + $1::int % 500, 1)`)

	s.psql(dest, "-c", `ALTER TABLE shop.customers DROP COLUMN email`)
	got := s.waitStates("shop", map[string]string{"shop.customers": "quarantined", "shop.orders": "streaming"}, time.Minute)
	q := got["shop.customers"]
	require.Contains(t, q.Cause, `"email"`, "%+v", q)
	require.Contains(t, q.Remedy, "ADD COLUMN", "%+v", q)
	require.Contains(t, q.Remedy, "ardent resync shop --table shop.customers", "%+v", q)
	_, code := s.tablesReport("shop")
	require.Equal(t, 1, code, "ardent tables exits 1 while a table is quarantined")
	var st liveStatus
	require.Eventually(t, func() bool { st, _ = s.liveStatusOf("shop"); return st.Stage == "attention" }, 30*time.Second, time.Second,
		"status never showed attention: %+v", lazy(func() string { return fmt.Sprintf("%+v", st) }))
	require.Contains(t, st.Error, "shop.customers")
	require.Contains(t, st.Remedy, "ardent resync shop --table shop.customers")

	// The others keep arriving.
	n := count(dest, "shop.orders")
	require.Eventually(t, func() bool { return count(dest, "shop.orders") > n }, 30*time.Second, time.Second,
		"shop.orders stopped with shop.customers quarantined")

	// Fixed and resynced.
	s.psql(dest, "-c", `ALTER TABLE shop.customers ADD COLUMN email text`)
	out, code := s.ardent("resync", "shop", "--table", "shop.customers")
	require.Equal(t, 0, code, out)
	s.waitStates("shop", map[string]string{"shop.customers": "streaming"}, time.Minute)
	require.Eventually(t, func() bool { st, _ = s.liveStatusOf("shop"); return st.Stage == "streaming" }, 30*time.Second, time.Second,
		"status stayed %+v after the resync", lazy(func() string { return fmt.Sprintf("%+v", st) }))
	time.Sleep(2 * time.Second) // writes to the resynced table
	require.Positive(t, stop())
	requireEqualTables(t, app, dest, "shop.customers", "shop.orders")
	require.Subset(t, s.verifiedTables("shop"), []string{"shop.customers", "shop.orders"})
	_, code = s.tablesReport("shop")
	require.Equal(t, 0, code)
}

// TestLiveTablesIdentityDrift: a new table without a replica identity and
// a table that lost its primary key are reported at once (tables
// quarantined, status attention naming them and the fixing statement),
// never silently skipped; once fixed on the source (and the one whose
// changes were skipped resynced) both are equal and stream.
func TestLiveTablesIdentityDrift(t *testing.T) {
	s, app, dest := onboardLive(t, `CREATE TABLE shop.kv (id int PRIMARY KEY, v int NOT NULL);
		INSERT INTO shop.kv SELECT g, g FROM generate_series(1, 1000) g;`)
	stop := sqlLoad(t, app,
		`INSERT INTO shop.nokey (a, b) VALUES ($1, 'load')`,
		`UPDATE shop.nokey SET b = 'u' || $1 WHERE a = ($1::bigint * 7919) % ($1::bigint + 1)`,
		`DELETE FROM shop.nokey WHERE a = ($1::bigint * 104729) % ($1::bigint + 1) AND a % 3 = 0`,
		`UPDATE shop.kv SET v = v + 1 WHERE id = 1 + ($1::bigint * 31) % 1000`,
		`INSERT INTO shop.orders (customer_id, amount) VALUES (1 + $1::int % 500, 1)`)

	s.psql(app, "-c", `CREATE TABLE shop.nokey (a int, b text); INSERT INTO shop.nokey SELECT g, 'seed' FROM generate_series(1, 5000) g`)
	s.psql(app, "-c", `ALTER TABLE shop.kv DROP CONSTRAINT kv_pkey`)
	got := s.waitStates("shop", map[string]string{"shop.nokey": "quarantined", "shop.kv": "quarantined"}, time.Minute)
	require.Contains(t, got["shop.nokey"].Cause, "no usable replica identity")
	require.Contains(t, got["shop.nokey"].Remedy, `ALTER TABLE "shop"."nokey" REPLICA IDENTITY FULL`)
	require.Contains(t, got["shop.kv"].Cause, "lost its replica identity")
	require.Contains(t, got["shop.kv"].Remedy, "ardent resync shop --table shop.kv")
	_, code := s.tablesReport("shop")
	require.Equal(t, 1, code)
	var st liveStatus
	require.Eventually(t, func() bool {
		st, _ = s.liveStatusOf("shop")
		return st.Stage == "attention" && strings.Contains(st.Error, "shop.nokey") && strings.Contains(st.Error, "shop.kv")
	}, 30*time.Second, time.Second, "status never named both tables: %+v", lazy(func() string { return fmt.Sprintf("%+v", st) }))
	require.Contains(t, st.Remedy, `ALTER TABLE "shop"."nokey" REPLICA IDENTITY FULL`)

	// Fixed on the source: the new table is copied by itself; the one whose
	// changes wal2json skipped needs a resync.
	s.psql(app, "-c", `ALTER TABLE shop.nokey REPLICA IDENTITY FULL`)
	s.psql(app, "-c", `ALTER TABLE shop.kv ADD PRIMARY KEY (id)`)
	s.waitStates("shop", map[string]string{"shop.nokey": "streaming"}, time.Minute)
	require.Equal(t, "quarantined", s.tablesOf("shop")["shop.kv"], "a table that lost its identity came back without a resync")
	out, code := s.ardent("resync", "shop", "--table", "shop.kv")
	require.Equal(t, 0, code, out)
	s.waitStates("shop", map[string]string{"shop.kv": "streaming"}, time.Minute)
	require.Eventually(t, func() bool { st, _ = s.liveStatusOf("shop"); return st.Stage == "streaming" }, 30*time.Second, time.Second,
		"status stayed %+v after the fixes", lazy(func() string { return fmt.Sprintf("%+v", st) }))
	time.Sleep(2 * time.Second) // writes to both while they stream
	require.Positive(t, stop())
	requireEqualTables(t, app, dest, "shop.nokey", "shop.kv", "shop.orders")
	require.Subset(t, s.verifiedTables("shop"), []string{"shop.nokey", "shop.kv", "shop.orders"})
}

// TestLiveTablesBackfillKill: the worker running a new table's backfill
// (throttled) is SIGKILLed mid-copy and a new worker is started: the
// backfill starts over, the table ends equal, and no temporary slot is left
// on the source.
func TestLiveTablesBackfillKill(t *testing.T) {
	s, app, dest := onboardLive(t, "", "--snapshot-max-rate", "2MB", "--snapshot-parallelism", "1")
	// A second worker: the backfill may run on either, the stream stays on
	// the first unless that one is killed.
	s.startWorker()
	stop := sqlLoad(t, app,
		`INSERT INTO shop.big (v, note) VALUES ($1, 'load')`,
		`UPDATE shop.big SET v = -v WHERE id = 1 + ($1::bigint * 7919) % 500000`,
		`DELETE FROM shop.big WHERE id = 1 + ($1::bigint * 104729) % 500000 AND v % 7 = 0`,
		`INSERT INTO shop.orders (customer_id, amount) VALUES (1 + $1::int % 500, 1)`)
	s.psql(app, "-c", `CREATE TABLE shop.big (id bigserial PRIMARY KEY, v int NOT NULL, note text);
		INSERT INTO shop.big (v, note) SELECT g, 'row ' || g FROM generate_series(1, 500000) g`)
	slots := func() string {
		return query(app, "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'ardent_backfill_%'")
	}
	// The copy of ~18 MB at 2 MB/s lasts ~9 s: kill its worker once rows
	// are flowing into the destination (the next attempt must start over
	// from an empty table) and before the copy ends. The destination here
	// is PostgreSQL 15, so the table is one COPY that commits at its end:
	// pg_stat_progress_copy shows it under way.
	var victim *temporaltest.Process
	require.Eventually(t, func() bool {
		for _, w := range s.LiveWorkers() {
			if hasLine(w.Output(), "snapshot copy starting", "table=shop.big") {
				victim = w
				return true
			}
		}
		return false
	}, time.Minute, 100*time.Millisecond, "shop.big's backfill never started:\n%v", lazy(s.workerOutput))
	copying := func() bool {
		n, err := strconv.ParseInt(strings.TrimSpace(query(dest, `SELECT coalesce(sum(tuples_processed), 0) FROM pg_stat_progress_copy
			WHERE relid = to_regclass('shop.big') AND command = 'COPY FROM'`)), 10, 64)
		return err == nil && n > 0
	}
	require.Eventually(t, copying, time.Minute, 100*time.Millisecond, "no row of shop.big reached the destination's COPY")
	require.Equal(t, "1", slots())
	streamToo := strings.Contains(victim.Output(), "activity=Replicate")
	victim.Kill()
	// (The victim may also be the worker that took the initial snapshot,
	// whose own "snapshot copy done" line does not name shop.big.)
	require.False(t, hasLine(victim.Output(), "snapshot copy done", "table=shop.big"), "the copy finished before the kill")
	t.Logf("worker killed with %d rows of shop.big in the destination (the stream ran on it too: %v)", count(dest, "shop.big"), streamToo)
	s.startWorker()

	start := time.Now()
	s.waitStates("shop", map[string]string{"shop.big": "streaming"}, 3*time.Minute)
	t.Logf("shop.big streams %s after the kill", time.Since(start).Round(time.Second))
	handedOver := 0
	for _, w := range s.Workers() {
		handedOver += strings.Count(w.Output(), "backfill: handed over")
	}
	require.Equal(t, 1, handedOver, "one backfill attempt handed over")
	time.Sleep(2 * time.Second) // writes to shop.big while it streams
	require.Positive(t, stop())
	requireEqualTables(t, app, dest, "shop.big", "shop.orders")
	require.Eventually(t, func() bool { return slots() == "0" }, time.Minute, time.Second, "a temporary slot was left: %v",
		lazy(func() string {
			return query(app, "SELECT string_agg(slot_name || ' active=' || active, ', ') FROM pg_replication_slots")
		}))
	// A stream attempt after a failure is retrying for a probation period
	// (2 min) before it is called streaming again; verify waits for that.
	s.waitStage("shop", "streaming", 4*time.Minute)
	require.Subset(t, s.verifiedTables("shop"), []string{"shop.big", "shop.orders"})
}

// hasLine reports whether a line of out contains every part.
func hasLine(out string, parts ...string) bool {
	for _, l := range strings.Split(out, "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(l, p)
		}
		if all {
			return true
		}
	}
	return false
}
