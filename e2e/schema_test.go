package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Issue 17: the destination follows the source's schema changes mid-stream.
// Each test migrates tables while a write load runs on them and on another
// table, and ends with the tables equal.

const migrationsSQL = `
CREATE TABLE shop.items (id bigserial PRIMARY KEY, sku varchar(10) NOT NULL, price numeric(8,2) NOT NULL,
  stock int NOT NULL DEFAULT 0, made timestamp(0) NOT NULL DEFAULT localtimestamp(0), note text, legacy int NOT NULL DEFAULT 0);
INSERT INTO shop.items (sku, price, stock, note, legacy) SELECT 'sku' || g, g / 7.0, g, 'seed', g FROM generate_series(1, 3000) g;
CREATE SEQUENCE shop.customer_ids START 100000;
CREATE TABLE shop.quiet (id bigint PRIMARY KEY, v int NOT NULL, gone text NOT NULL);
INSERT INTO shop.quiet SELECT g, g, 'gone ' || g FROM generate_series(1, 1000) g;
`

// TestSchemaFollowsMigrations: under writes, the destination follows an
// added column (nullable, then with a constant default that rows already
// there get), a renamed column, widened types (varchar, numeric, integer,
// timestamp precision) and a dropped column (kept, nullable, NULL in new
// rows); a column added with a volatile default makes the table copied
// again by itself; a DROP COLUMN no write follows (drop policy for that
// table) is found by the catalog poll. Each change is in `ardent schema
// history` with its statement, and `ardent verify` finds every table equal.
func TestSchemaFollowsMigrations(t *testing.T) {
	s, app, dest := onboardLive(t, migrationsSQL, "--drop-columns-table", "shop.quiet=drop")
	orders := sqlLoad(t, app, `INSERT INTO shop.orders (customer_id, amount) VALUES (1 + $1::int % 500, 1)`)
	customers := sqlLoad(t, app,
		`UPDATE shop.customers SET email = 'e' || $1::int WHERE id = 1 + $1::int % 500`,
		`INSERT INTO shop.customers (id, name, email) VALUES (nextval('shop.customer_ids'), 'n' || $1::int, 'x')`)
	update := `UPDATE shop.items SET stock = stock + 1 WHERE id = 1 + ($1::bigint * 7919) % 3000`
	remove := `DELETE FROM shop.items WHERE id = 1 + ($1::bigint * 104729) % 3000 AND stock % 11 = 0`
	items := newRelay(t, app,
		`INSERT INTO shop.items (sku, price, stock, note, legacy) VALUES ('a' || $1::int, $1::int % 1000 / 3.0, $1, 'load', $1)`, update, remove)
	s.waitCount(dest, "shop.items WHERE sku LIKE 'a%'", 1, time.Minute, "the load's rows never arrived")
	const tbl = `ALTER TABLE "shop"."items" `

	// 1. A nullable column.
	s.psql(app, "-c", `ALTER TABLE shop.items ADD COLUMN color text`)
	h := s.waitHistory("shop.items", `column "color" text added`, "applied", time.Minute)
	require.Equal(t, tbl+`ADD COLUMN "color" text`, h.Statement)
	items.to(`INSERT INTO shop.items (sku, price, stock, note, legacy, color) VALUES ('b' || $1::int, $1::int % 1000 / 3.0, $1, 'load', $1, 'c' || $1::int)`,
		update, remove)
	s.waitCount(dest, "shop.items WHERE color LIKE 'c%'", 1, time.Minute, "rows with the added column never arrived")

	// 2. A column with a constant default: the rows already there have it
	// on the source (attmissingval), and get it in the destination.
	s.psql(app, "-c", `ALTER TABLE shop.items ADD COLUMN qty int NOT NULL DEFAULT 7`)
	h = s.waitHistory("shop.items", `column "qty" integer added`, "applied", time.Minute)
	require.Equal(t, tbl+`ADD COLUMN "qty" integer DEFAULT '7'`, h.Statement)
	require.Equal(t, "0", query(dest, "SELECT count(*) FROM shop.items WHERE qty IS DISTINCT FROM 7"),
		"rows in the destination before the column was added do not have its default")
	require.Greater(t, count(dest, "shop.items WHERE id <= 3000 AND qty = 7"), 2000)
	qty, ok := columnNamed(dest, "shop.items", "qty")
	require.True(t, ok)
	require.Equal(t, "7", qty.Default, "the destination column has not the source's default")
	// Next, no statement names note: it is renamed.
	items.to(`INSERT INTO shop.items (sku, price, stock, legacy, color, qty) VALUES ('c' || $1::int, $1::int % 1000 / 3.0, $1, $1, 'c', 100 + $1::int % 100)`,
		update, remove)
	s.waitCount(dest, "shop.items WHERE qty >= 100", 1, time.Minute, "rows with their own qty never arrived")

	// 3. A renamed column.
	s.psql(app, "-c", `ALTER TABLE shop.items RENAME COLUMN note TO remark`)
	h = s.waitHistory("shop.items", `column "note" renamed to "remark"`, "applied", time.Minute)
	require.Equal(t, tbl+`RENAME COLUMN "note" TO "remark"`, h.Statement)
	items.to(`INSERT INTO shop.items (sku, price, stock, legacy, color, qty, remark) VALUES ('d' || $1::int, $1::int % 1000 / 3.0, $1, $1, 'c', 1, 'r' || $1::int)`,
		update, remove)
	s.waitCount(dest, "shop.items WHERE remark LIKE 'r%'", 1, time.Minute, "rows with the renamed column never arrived")
	require.Greater(t, count(dest, "shop.items WHERE remark = 'seed'"), 2000, "the renamed column lost its values")

	// 4. Lossless widenings; then values only the wider types hold.
	s.psql(app, "-c", `ALTER TABLE shop.items ALTER COLUMN sku TYPE varchar(40), ALTER COLUMN price TYPE numeric(12,4),
		ALTER COLUMN stock TYPE bigint, ALTER COLUMN made TYPE timestamp(6)`)
	for col, change := range map[string]string{
		"sku":   "character varying(10) to character varying(40)",
		"price": "numeric(8,2) to numeric(12,4)",
		"stock": "integer to bigint",
		"made":  "timestamp(0) without time zone to timestamp(6) without time zone",
	} {
		h = s.waitHistory("shop.items", fmt.Sprintf("column %q changed type from %s", col, change), "applied", time.Minute)
		require.Equal(t, tbl+fmt.Sprintf("ALTER COLUMN %q TYPE %s", col, change[strings.LastIndex(change, " to ")+4:]), h.Statement)
	}
	// Next, no statement names legacy: it is dropped.
	items.to(`INSERT INTO shop.items (sku, price, stock, color, qty, remark, made)
		VALUES ('a-much-longer-sku-' || $1::int, 1000 + $1::int % 1000 / 7.0, 5000000000 + $1, 'c', 1, 'r', clock_timestamp())`,
		update, remove)
	s.waitCount(dest, "shop.items WHERE length(sku) > 10 AND stock > 5000000000 AND price <> round(price, 2)", 1, time.Minute,
		"rows only the widened types hold never arrived")

	// 5. A dropped column: kept in the destination (policy keep), nullable,
	// with the values it had; rows written since have NULL there.
	s.psql(app, "-c", `ALTER TABLE shop.items DROP COLUMN legacy`)
	before, err := strconv.Atoi(query(app, "SELECT max(id) FROM shop.items"))
	require.NoError(t, err)
	h = s.waitHistory("shop.items", `column "legacy" dropped`, "kept", time.Minute)
	require.Equal(t, tbl+`ALTER COLUMN "legacy" DROP NOT NULL`, h.Statement)
	after := fmt.Sprintf("shop.items WHERE id > %d", before)
	s.waitCount(dest, after, 1, time.Minute, "rows written after the DROP COLUMN never arrived")
	require.Equal(t, 0, count(dest, after+" AND legacy IS NOT NULL"), "rows written after the drop have a value in the kept column")
	legacy, ok := columnNamed(dest, "shop.items", "legacy")
	require.True(t, ok, "the dropped column is gone from the destination (policy keep)")
	require.False(t, legacy.NotNull, "the kept column is still NOT NULL")
	require.Greater(t, count(dest, "shop.items WHERE id <= 3000 AND legacy = id"), 2000, "the kept column lost its values")

	// 6. A column with a volatile default: the source rewrote its rows with
	// values the stream never carries, so the table is copied again by
	// itself, then streams.
	s.psql(app, "-c", `ALTER TABLE shop.customers ADD COLUMN seen_at timestamptz DEFAULT clock_timestamp()`)
	h = s.waitHistory("shop.customers", `column "seen_at" timestamp with time zone added`, "resync", time.Minute)
	require.Equal(t, `ALTER TABLE "shop"."customers" ADD COLUMN "seen_at" timestamp with time zone`, h.Statement)
	require.Contains(t, h.Detail, "copied again", "%+v", h)
	require.Eventually(t, func() bool {
		return hasTableLine(s.WorkerOutput(1000000), "backfill: handed over to the stream", "shop.customers")
	}, 2*time.Minute, time.Second, "shop.customers was not copied again:\n%v", lazy(s.workerLog))
	s.waitStates("shop", map[string]string{"shop.customers": "streaming"}, time.Minute)
	n := count(dest, "shop.customers")
	s.waitCount(dest, "shop.customers", n+1, time.Minute, "shop.customers does not stream after its copy")
	require.Equal(t, 0, count(dest, "shop.customers WHERE seen_at IS NULL"), "rows without the volatile default's value")

	// 7. A DROP COLUMN on a table nobody writes: the catalog poll finds it.
	start := time.Now()
	s.psql(app, "-c", `ALTER TABLE shop.quiet DROP COLUMN gone`)
	h = s.waitHistory("shop.quiet", `column "gone" dropped`, "applied", 30*time.Second)
	t.Logf("the quiet DROP COLUMN was followed after %s", time.Since(start).Round(100*time.Millisecond))
	require.Equal(t, `ALTER TABLE "shop"."quiet" DROP COLUMN "gone"`, h.Statement)
	_, ok = columnNamed(dest, "shop.quiet", "gone")
	require.False(t, ok, "policy drop for shop.quiet: the destination kept the column")

	time.Sleep(2 * time.Second) // the load goes on after the last change
	require.Positive(t, items.end())
	require.Positive(t, customers())
	require.Positive(t, orders())
	requireEqualTables(t, app, dest, "shop.customers", "shop.orders", "shop.quiet")
	requireEqualOnSourceColumns(t, app, dest, "shop.items")
	require.Subset(t, s.verifiedTables("shop"), []string{"shop.items", "shop.customers", "shop.orders", "shop.quiet"})
	require.Equal(t, map[string]string{
		"id": "bigint", "sku": "character varying(40)", "price": "numeric(12,4)", "stock": "bigint",
		"made": "timestamp(6) without time zone", "remark": "text", "legacy": "integer", "color": "text", "qty": "integer",
	}, typesOf(dest, "shop.items"))

	// The history, newest first: every change with what the destination ran.
	changes, err := s.schemaHistory("shop", "")
	require.NoError(t, err)
	want := map[historyMatch]string{
		{"shop.items", `column "color" text added`, "applied"}:                          tbl + `ADD COLUMN "color" text`,
		{"shop.items", `column "qty" integer added`, "applied"}:                         tbl + `ADD COLUMN "qty" integer DEFAULT '7'`,
		{"shop.items", `column "note" renamed to "remark"`, "applied"}:                  tbl + `RENAME COLUMN "note" TO "remark"`,
		{"shop.items", `column "sku" changed type`, "applied"}:                          tbl + `ALTER COLUMN "sku" TYPE character varying(40)`,
		{"shop.items", `column "price" changed type`, "applied"}:                        tbl + `ALTER COLUMN "price" TYPE numeric(12,4)`,
		{"shop.items", `column "stock" changed type`, "applied"}:                        tbl + `ALTER COLUMN "stock" TYPE bigint`,
		{"shop.items", `column "made" changed type`, "applied"}:                         tbl + `ALTER COLUMN "made" TYPE timestamp(6) without time zone`,
		{"shop.items", `column "legacy" dropped`, "kept"}:                               tbl + `ALTER COLUMN "legacy" DROP NOT NULL`,
		{"shop.customers", `column "seen_at" timestamp with time zone added`, "resync"}: `ALTER TABLE "shop"."customers" ADD COLUMN "seen_at" timestamp with time zone`,
		{"shop.quiet", `column "gone" dropped`, "applied"}:                              `ALTER TABLE "shop"."quiet" DROP COLUMN "gone"`,
	}
	for m, stmt := range want {
		c, ok := m.in(changes)
		require.True(t, ok, "no %+v in the history: %+v", m, changes)
		require.Equal(t, stmt, c.Statement, "%+v", c)
	}
	for i, c := range changes {
		require.NotEqual(t, "quarantined", c.Outcome, "%+v", c)
		if i > 0 {
			require.False(t, c.At.After(changes[i-1].At), "not newest first: %+v after %+v", c, changes[i-1])
		}
	}
	_, code := s.tablesReport("shop")
	require.Equal(t, 0, code, "a table needs attention")
}

const quarantineSQL = `
CREATE TABLE shop.labels (id bigserial PRIMARY KEY, code varchar(40) NOT NULL, v int NOT NULL);
INSERT INTO shop.labels (code, v) SELECT 'c' || g, g FROM generate_series(1, 2000) g;
CREATE TABLE shop.pairs (a int NOT NULL, b int NOT NULL, v int NOT NULL, PRIMARY KEY (a));
INSERT INTO shop.pairs SELECT g, g % 7, g FROM generate_series(1, 2000) g;
CREATE SEQUENCE shop.pair_ids START 100000;
`

// TestSchemaQuarantineAndApprove: a narrowed column and a changed primary
// key are not followed by themselves: each table is quarantined with the
// change as its cause and the approve command as its remedy, while the
// other tables keep arriving; `ardent schema approve` changes each
// destination table to the source's shape and copies it again, and both
// stream and verify equal.
func TestSchemaQuarantineAndApprove(t *testing.T) {
	s, app, dest := onboardLive(t, quarantineSQL)
	stop := sqlLoad(t, app,
		`INSERT INTO shop.labels (code, v) VALUES ('n' || $1::int % 1000, $1)`,
		`UPDATE shop.labels SET v = v + 1 WHERE id = 1 + ($1::bigint * 7919) % 2000`,
		`INSERT INTO shop.pairs (a, b, v) VALUES (nextval('shop.pair_ids'), $1::int % 7, $1)`,
		`UPDATE shop.pairs SET v = v + 1 WHERE a = 1 + ($1::bigint * 7919) % 2000`,
		`DELETE FROM shop.pairs WHERE a = 1 + ($1::bigint * 104729) % 2000 AND v % 5 = 0`,
		`INSERT INTO shop.orders (customer_id, amount) VALUES (1 + $1::int % 500, 1)`)
	s.waitCount(dest, "shop.labels WHERE code LIKE 'n%'", 1, time.Minute, "the load's rows never arrived")

	s.psql(app, "-c", `ALTER TABLE shop.labels ALTER COLUMN code TYPE varchar(10)`)
	s.psql(app, "-c", `ALTER TABLE shop.pairs DROP CONSTRAINT pairs_pkey, ADD PRIMARY KEY (a, b)`)
	got := s.waitStates("shop", map[string]string{"shop.labels": "quarantined", "shop.pairs": "quarantined", "shop.orders": "streaming"}, time.Minute)
	require.Contains(t, got["shop.labels"].Cause, `column "code" changed type from character varying(40) to character varying(10)`, "%+v", got["shop.labels"])
	require.Contains(t, got["shop.pairs"].Cause, "primary key changed from (a) to (a, b)", "%+v", got["shop.pairs"])
	for _, table := range []string{"shop.labels", "shop.pairs"} {
		require.Contains(t, got[table].Remedy, "ardent schema approve shop --table "+table, "%+v", got[table])
		require.Contains(t, got[table].Remedy, "ardent tables remove shop "+table, "%+v", got[table])
	}
	_, code := s.tablesReport("shop")
	require.Equal(t, 1, code, "ardent tables exits 1 while a table is quarantined")
	s.waitHistory("shop.labels", `column "code" changed type from character varying(40) to character varying(10)`, "quarantined", 30*time.Second)
	s.waitHistory("shop.pairs", "primary key changed from (a) to (a, b)", "quarantined", 30*time.Second)
	out, code := s.ardent("schema", "history", "shop", "--table", "shop.labels")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "ardent schema approve shop --table shop.labels")

	// The others keep arriving; the quarantined ones do not move.
	labels, orders := count(dest, "shop.labels"), count(dest, "shop.orders")
	s.waitCount(dest, "shop.orders", orders+50, 30*time.Second, "shop.orders stopped while other tables are quarantined")
	require.Equal(t, labels, count(dest, "shop.labels"), "a quarantined table's changes were applied")
	require.Greater(t, count(app, "shop.labels"), labels, "the load did not write to shop.labels")
	// The destination keeps its shape until approved.
	require.Equal(t, "character varying(40)", typesOf(dest, "shop.labels")["code"])

	out, code = s.ardent("schema", "approve", "shop", "--table", "shop.labels", "--table", "shop.pairs")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "approved: shop.labels")
	require.Contains(t, out, "approved: shop.pairs")
	s.waitStates("shop", map[string]string{"shop.labels": "streaming", "shop.pairs": "streaming"}, 2*time.Minute)
	require.Equal(t, "character varying(10)", typesOf(dest, "shop.labels")["code"], "the approved table keeps its old shape")
	require.Equal(t, "a,b", query(dest, `SELECT string_agg(a.attname, ',' ORDER BY k.i) FROM pg_constraint c,
		unnest(c.conkey) WITH ORDINALITY k(n, i), pg_attribute a
		WHERE c.conrelid = 'shop.pairs'::regclass AND c.contype = 'p' AND a.attrelid = c.conrelid AND a.attnum = k.n`),
		"the approved table keeps its old primary key")
	var st liveStatus
	require.Eventually(t, func() bool { st, _ = s.liveStatusOf("shop"); return st.Stage == "streaming" }, 30*time.Second, time.Second,
		"status stayed %+v after the approval", lazy(func() string { return fmt.Sprintf("%+v", st) }))
	labels = count(dest, "shop.labels")
	s.waitCount(dest, "shop.labels", labels+1, 30*time.Second, "shop.labels does not stream after its approval")

	time.Sleep(2 * time.Second) // writes to both while they stream
	require.Positive(t, stop())
	requireEqualTables(t, app, dest, "shop.labels", "shop.pairs", "shop.orders")
	require.Subset(t, s.verifiedTables("shop"), []string{"shop.labels", "shop.pairs", "shop.orders"})
	_, code = s.tablesReport("shop")
	require.Equal(t, 0, code)
}
