package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// Issue 17, the harder cases: a column dropped and added again under its
// name, a table replaced under its name, DDL inside a large transaction, a
// worker killed right after a destination DDL. Under writes, as in
// schema_test.go.

const trickySQL = `
CREATE TABLE shop.things (id bigserial PRIMARY KEY, flag text NOT NULL DEFAULT 'f', v int NOT NULL);
INSERT INTO shop.things (flag, v) SELECT 'seed' || g, g FROM generate_series(1, 2000) g;
CREATE TABLE shop.ledger (id bigserial PRIMARY KEY, amount int NOT NULL, memo text);
INSERT INTO shop.ledger (amount, memo) SELECT g, 'old' FROM generate_series(1, 2000) g;
CREATE TABLE shop.bulk (id bigserial PRIMARY KEY, v int NOT NULL);
INSERT INTO shop.bulk (v) SELECT g FROM generate_series(1, 1000) g;
`

// TestSchemaTrickyMigrations: under writes, a column dropped and added
// again under its name with another type in one transaction (policy keep:
// the kept column moves aside as flag_dropped); a table renamed away and a new
// one like it created under its name in one transaction (the renamed one
// copied under its new name, the new one copied again; TestSchemaReplacedTable
// has new tables unlike the old); an ADD COLUMN in the
// middle of a 60,000-row transaction the stream cuts into several
// destination batches. All end equal.
func TestSchemaTrickyMigrations(t *testing.T) {
	s, app, dest := onboardLive(t, trickySQL)
	orders := sqlLoad(t, app, `INSERT INTO shop.orders (customer_id, amount) VALUES (1 + $1::int % 500, 1)`)
	things := newRelay(t, app,
		`INSERT INTO shop.things (v) VALUES ($1)`,
		`UPDATE shop.things SET v = v + 1 WHERE id = 1 + ($1::bigint * 7919) % 2000`)
	ledger := sqlLoad(t, app,
		`INSERT INTO shop.ledger (amount) VALUES ($1)`,
		`UPDATE shop.ledger SET amount = amount + 1 WHERE id = 1 + ($1::bigint * 7919) % 2000`,
		`INSERT INTO shop.ledger_old (amount, memo) VALUES ($1, 'renamed')`)
	bulk := newRelay(t, app, `INSERT INTO shop.bulk (v) VALUES ($1)`)
	s.waitCount(dest, "shop.things WHERE id > 2000", 1, time.Minute, "the load's rows never arrived")

	// Dropped and added again, another type, in one transaction; policy
	// keep: the old column is renamed aside with its values.
	s.psql(app, "-c", `BEGIN; ALTER TABLE shop.things DROP COLUMN flag; ALTER TABLE shop.things ADD COLUMN flag int;
		INSERT INTO shop.things (v, flag) VALUES (-1, -1); COMMIT`)
	things.to(`INSERT INTO shop.things (v, flag) VALUES ($1, $1)`,
		`UPDATE shop.things SET v = v + 1, flag = $1 WHERE id = 1 + ($1::bigint * 7919) % 2000`)
	s.waitHistory("shop.things", `column "flag" integer added`, "applied", time.Minute)
	s.waitCount(dest, "shop.things WHERE flag > 0", 1, time.Minute, "rows with the new flag never arrived")
	require.Equal(t, map[string]string{"id": "bigint", "flag_dropped": "text", "v": "integer", "flag": "integer"}, typesOf(dest, "shop.things"))
	require.Greater(t, count(dest, "shop.things WHERE flag_dropped = 'seed' || id"), 1500, "the kept column lost its values")

	// Renamed away, and a new table like it under the old name (the
	// migration that swaps a table; its ids from the same sequence).
	s.psql(app, "-c", `BEGIN; ALTER TABLE shop.ledger RENAME TO ledger_old;
		CREATE TABLE shop.ledger (LIKE shop.ledger_old INCLUDING ALL);
		INSERT INTO shop.ledger (amount, memo) SELECT g, 'new' FROM generate_series(1, 500) g; COMMIT`)
	s.waitStates("shop", map[string]string{"shop.ledger_old": "streaming", "shop.ledger": "streaming"}, 2*time.Minute)
	require.Eventually(t, func() bool {
		out := s.WorkerOutput(1000000)
		return hasTableLine(out, "backfill: handed over to the stream", "shop.ledger_old") &&
			hasTableLine(out, "backfill: handed over to the stream", "shop.ledger")
	}, time.Minute, time.Second, "shop.ledger and shop.ledger_old were not both copied:\n%v", lazy(s.workerLog))
	s.waitCount(dest, "shop.ledger_old WHERE memo = 'renamed'", 1, time.Minute, "shop.ledger_old does not stream")
	require.Eventually(t, func() bool { return count(dest, "shop.ledger WHERE memo = 'old'") == 0 }, time.Minute, time.Second,
		"the new shop.ledger holds the old one's rows: %v", lazy(func() string { return query(dest, "SELECT count(*) FROM shop.ledger") }))
	require.GreaterOrEqual(t, count(dest, "shop.ledger WHERE memo = 'new'"), 500)

	// An ADD COLUMN inside a large transaction, with rows on both sides of
	// it: the stream cuts it into pieces (5,000 changes each).
	s.psql(app, "-c", `BEGIN; INSERT INTO shop.bulk (v) SELECT g FROM generate_series(1, 30000) g;
		ALTER TABLE shop.bulk ADD COLUMN extra text;
		INSERT INTO shop.bulk (v, extra) SELECT g, 'x' || g FROM generate_series(1, 30000) g; COMMIT`)
	bulk.to(`INSERT INTO shop.bulk (v, extra) VALUES ($1, 'load')`)
	h := s.waitHistory("shop.bulk", `column "extra" text added`, "applied", time.Minute)
	require.Equal(t, `ALTER TABLE "shop"."bulk" ADD COLUMN "extra" text`, h.Statement)
	s.waitCount(dest, "shop.bulk WHERE extra = 'load'", 1, time.Minute, "rows written after the large transaction never arrived")
	require.Equal(t, 30000, count(dest, "shop.bulk WHERE extra LIKE 'x%'"))

	time.Sleep(2 * time.Second) // the load goes on after the last change
	require.Positive(t, things.end())
	require.Positive(t, bulk.end())
	require.Positive(t, ledger())
	require.Positive(t, orders())
	requireEqualTables(t, app, dest, "shop.ledger", "shop.ledger_old", "shop.bulk", "shop.orders")
	requireEqualOnSourceColumns(t, app, dest, "shop.things")
	require.Subset(t, s.verifiedTables("shop"), []string{"shop.things", "shop.ledger", "shop.ledger_old", "shop.bulk", "shop.orders"})
	_, code := s.tablesReport("shop")
	require.Equal(t, 0, code, "a table needs attention")
}

const dropReaddSQL = `
CREATE TABLE shop.first_insert (id bigserial PRIMARY KEY, flag text NOT NULL DEFAULT 'f', v int NOT NULL);
INSERT INTO shop.first_insert (flag, v) SELECT 'seed' || g, g FROM generate_series(1, 2000) g;
CREATE TABLE shop.first_update (id bigserial PRIMARY KEY, flag text NOT NULL DEFAULT 'f', v int NOT NULL);
INSERT INTO shop.first_update (flag, v) SELECT 'seed' || g, g FROM generate_series(1, 2000) g;
`

// TestSchemaDropReaddDropPolicy: with --drop-columns drop, a column
// dropped and added again under its name with another type in one
// transaction leaves the destination with only the new column, whether the
// transaction's next change is an INSERT (which shows every column, so
// the drop is seen at once) or an UPDATE (which shows the new column
// first; the drop is seen at the next INSERT).
func TestSchemaDropReaddDropPolicy(t *testing.T) {
	s, app, dest := onboardLive(t, dropReaddSQL, "--drop-columns", "drop")
	orders := sqlLoad(t, app, `INSERT INTO shop.orders (customer_id, amount) VALUES (1 + $1::int % 500, 1)`)
	tables := []string{"shop.first_insert", "shop.first_update"}
	var before, after []string
	for _, table := range tables {
		update := fmt.Sprintf(`UPDATE %s SET v = v + 1 WHERE id = 1 + ($1::bigint * 7919) %% 2000`, table)
		before = append(before, fmt.Sprintf(`INSERT INTO %s (v) VALUES ($1)`, table), update)
		after = append(after, fmt.Sprintf(`INSERT INTO %s (v, flag) VALUES ($1, $1)`, table), update)
	}
	rows := newRelay(t, app, before...)
	s.waitCount(dest, "shop.first_update WHERE id > 2000", 1, time.Minute, "the load's rows never arrived")

	s.psql(app, "-c", `BEGIN; ALTER TABLE shop.first_insert DROP COLUMN flag; ALTER TABLE shop.first_insert ADD COLUMN flag int;
		INSERT INTO shop.first_insert (v, flag) VALUES (-1, -1); COMMIT`)
	s.psql(app, "-c", `BEGIN; ALTER TABLE shop.first_update DROP COLUMN flag; ALTER TABLE shop.first_update ADD COLUMN flag int;
		UPDATE shop.first_update SET v = v + 1 WHERE id = 1; COMMIT`)
	rows.to(after...)
	for _, table := range tables {
		s.waitCount(dest, table+" WHERE flag > 0", 1, time.Minute, "rows with the new column never arrived")
		require.Equal(t, map[string]string{"id": "bigint", "v": "integer", "flag": "integer"}, typesOf(dest, table), table)
	}
	s.waitStates("shop", map[string]string{"shop.first_insert": "streaming", "shop.first_update": "streaming"}, 10*time.Second)

	time.Sleep(2 * time.Second) // the load goes on after the change
	require.Positive(t, rows.end())
	require.Positive(t, orders())
	requireEqualTables(t, app, dest, append(tables, "shop.orders")...)
	require.Subset(t, s.verifiedTables("shop"), append(tables, "shop.orders"))
}

// TestSchemaKillAfterDDL: the worker is SIGKILLed as soon as the
// destination has committed a column the source added (with its history
// entry, in the stream's transaction) and before the source heard of it;
// a new worker takes the stream over from the destination's checkpoint:
// the change is recorded once, no statement runs twice (no duplicate
// column), the rows written meanwhile arrive, the next change is followed
// and the tables end equal.
func TestSchemaKillAfterDDL(t *testing.T) {
	s, app, dest := onboardLive(t, "CREATE SEQUENCE shop.customer_ids START 100000;")
	orders := sqlLoad(t, app, `INSERT INTO shop.orders (customer_id, amount) VALUES (1 + $1::int % 500, 1)`)
	customers := newRelay(t, app,
		`UPDATE shop.customers SET email = 'e' || $1::int WHERE id = 1 + $1::int % 500`,
		`INSERT INTO shop.customers (id, name, email) VALUES (nextval('shop.customer_ids'), 'n' || $1::int, 'x')`)
	s.waitCount(dest, "shop.customers WHERE id >= 100000", 1, time.Minute, "the load's rows never arrived")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dest)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	const added = `column "tier" integer added`
	recorded := func() int {
		n := -1
		_ = conn.QueryRow(ctx, `SELECT count(*) FROM _ardent.schema_history WHERE connector = 'shop' AND table_name = 'customers' AND change = $1`,
			added).Scan(&n)
		return n
	}
	victims := s.LiveWorkers()
	require.Len(t, victims, 1)
	s.psql(app, "-c", `ALTER TABLE shop.customers ADD COLUMN tier int NOT NULL DEFAULT 1`)
	require.Eventually(t, func() bool { return recorded() > 0 }, time.Minute, 2*time.Millisecond,
		"the destination never followed the ADD COLUMN:\n%v", lazy(s.workerLog))
	victims[0].Kill()
	// Usually the source has not been told yet (a standby status update
	// every few seconds): the new stream receives the change again.
	t.Logf("killed; the slot confirmed the ADD COLUMN's transaction already: %s", query(app, fmt.Sprintf(
		"SELECT confirmed_flush_lsn >= '%s' FROM pg_replication_slots WHERE slot_name = 'ardent_shop'",
		query(dest, `SELECT max(lsn) FROM _ardent.schema_history WHERE change = '`+added+`'`))))
	tier, ok := columnNamed(dest, "shop.customers", "tier")
	require.True(t, ok, "the history entry committed without its column")
	require.Equal(t, "integer", tier.Type)
	t.Logf("worker killed with %s rows of shop.customers in the destination", query(dest, "SELECT count(*) FROM shop.customers"))

	// While no worker runs, the source goes on with the new column.
	customers.to(`UPDATE shop.customers SET tier = tier + 1 WHERE id = 1 + $1::int % 500`,
		`INSERT INTO shop.customers (id, name, tier) VALUES (nextval('shop.customer_ids'), 'n' || $1::int, 10 + $1::int % 5)`)
	s.waitCount(app, "shop.customers WHERE tier >= 10", 1, 30*time.Second, "the load never wrote the new column")
	start := time.Now()
	s.startWorker()
	s.waitCount(dest, "shop.customers WHERE tier >= 10", 1, 2*time.Minute, "rows written after the kill never arrived")
	t.Logf("the stream caught up %s after the restart", time.Since(start).Round(time.Second))

	// The new worker follows the next change.
	s.psql(app, "-c", `ALTER TABLE shop.customers RENAME COLUMN email TO mail`)
	h := s.waitHistory("shop.customers", `column "email" renamed to "mail"`, "applied", time.Minute)
	require.Equal(t, `ALTER TABLE "shop"."customers" RENAME COLUMN "email" TO "mail"`, h.Statement)

	time.Sleep(2 * time.Second) // the load goes on after the last change
	require.Positive(t, customers.end())
	require.Positive(t, orders())
	requireEqualTables(t, app, dest, "shop.customers", "shop.orders")
	require.Equal(t, 1, recorded(), "the ADD COLUMN was recorded more than once")
	require.Equal(t, map[string]string{"id": "bigint", "name": "text", "mail": "text", "tier": "integer"}, typesOf(dest, "shop.customers"))
	for i, w := range s.Workers() {
		for _, bad := range []string{"already exists", "SQLSTATE 42701", "table quarantined"} {
			require.NotContains(t, w.Output(), bad, "worker %d", i)
		}
	}
	got, _ := s.tablesReport("shop")
	require.Equal(t, "streaming", got["shop.customers"].State, "%+v", got["shop.customers"])
	// The stream lost its worker: it is retrying until it has run for its
	// probation (2 minutes), then streaming; `ardent verify` waits for that
	// (TestLiveTablesBackfillKill does), the digests above compare the same
	// whole rows.
	st, _ := s.liveStatusOf("shop")
	require.Contains(t, []string{"retrying", "streaming"}, st.Stage, "%+v", st)
}

const replacedSQL = `
CREATE TABLE shop.ledger (id bigserial PRIMARY KEY, amount int NOT NULL, memo text);
INSERT INTO shop.ledger (amount, memo) SELECT g, 'old' FROM generate_series(1, 2000) g;
CREATE TABLE shop.journal (id bigserial PRIMARY KEY, amount int NOT NULL, memo text);
INSERT INTO shop.journal (amount, memo) SELECT g, 'old' FROM generate_series(1, 2000) g;
`

// TestSchemaReplacedTable: tables renamed away and new ones created under
// their names in one transaction, all written: the stream sees the new
// tables' rows under the old names before the catalog poll sees their new
// OIDs. shop.ledger's new table has another shape (its columns at the old
// attnums differ in name and type); shop.journal's has the same shape and
// its own ids, from 1 (the old rows in the destination have them too).
// The renamed ones are copied under their new names, the new ones are
// copied again, without a stream failure or an operator's approval: every
// table streams and verifies equal.
func TestSchemaReplacedTable(t *testing.T) {
	s, app, dest := onboardLive(t, replacedSQL)
	stop := sqlLoad(t, app,
		`INSERT INTO shop.ledger (amount) VALUES ($1)`,
		`UPDATE shop.ledger SET amount = amount + 1 WHERE id = 1 + ($1::bigint * 7919) % 2000`,
		`INSERT INTO shop.ledger_old (amount, memo) VALUES ($1, 'renamed')`,
		`INSERT INTO shop.journal (amount) VALUES ($1)`,
		`UPDATE shop.journal SET amount = amount + 1 WHERE id = 1 + ($1::bigint * 7919) % 2000`,
		`INSERT INTO shop.journal_old (amount, memo) VALUES ($1, 'renamed')`,
		`INSERT INTO shop.orders (customer_id, amount) VALUES (1 + $1::int % 500, 1)`)
	s.waitCount(dest, "shop.journal WHERE id > 2000", 1, time.Minute, "the load's rows never arrived")

	s.psql(app, "-c", `BEGIN; ALTER TABLE shop.ledger RENAME TO ledger_old;
		CREATE TABLE shop.ledger (id bigserial PRIMARY KEY, entry text NOT NULL DEFAULT 'e', amount numeric(14,2) NOT NULL);
		INSERT INTO shop.ledger (entry, amount) SELECT 'new', g FROM generate_series(1, 500) g; COMMIT`)
	s.psql(app, "-c", `BEGIN; ALTER TABLE shop.journal RENAME TO journal_old;
		CREATE TABLE shop.journal (id bigserial PRIMARY KEY, amount int NOT NULL, memo text);
		INSERT INTO shop.journal (amount, memo) SELECT g, 'new' FROM generate_series(1, 500) g; COMMIT`)
	tables := []string{"shop.ledger", "shop.ledger_old", "shop.journal", "shop.journal_old"}
	want := map[string]string{}
	for _, table := range tables {
		want[table] = "streaming"
	}
	s.waitStates("shop", want, time.Minute)
	require.Eventually(t, func() bool {
		out := s.WorkerOutput(1000000)
		for _, table := range tables {
			if !hasTableLine(out, "backfill: handed over to the stream", table) {
				return false
			}
		}
		return true
	}, time.Minute, time.Second, "not every table was copied:\n%v", lazy(s.workerLog))
	s.waitCount(dest, "shop.ledger_old WHERE memo = 'renamed'", 1, time.Minute, "shop.ledger_old does not stream")
	s.waitCount(dest, "shop.journal_old WHERE memo = 'renamed'", 1, time.Minute, "shop.journal_old does not stream")

	time.Sleep(2 * time.Second) // the load goes on after the handovers
	require.Positive(t, stop())
	requireEqualTables(t, app, dest, "shop.ledger_old", "shop.journal", "shop.journal_old", "shop.orders")
	requireEqualOnSourceColumns(t, app, dest, "shop.ledger")
	st, _ := s.liveStatusOf("shop")
	require.Equal(t, "streaming", st.Stage, "%+v", st)
	require.Subset(t, s.verifiedTables("shop"), append(tables, "shop.orders"))
	_, code := s.tablesReport("shop")
	require.Equal(t, 0, code, "a table needs attention")
}
