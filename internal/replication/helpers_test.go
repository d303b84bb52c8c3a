package replication

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/rowsum"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink/postgres"
)

// env is a source database and a destination database on one cluster (two
// clusters would only cost CPU; the stream cannot tell the difference).
type env struct {
	c      *pgtest.Cluster
	src    *pgx.Conn
	dst    *pgx.Conn
	sink   *postgres.Sink
	tables []schema.Table
	slot   string
	srcCfg *pgx.ConnConfig // the source, parsed once
}

func newEnv(t testing.TB, setupSQL string) *env {
	t.Helper()
	return newEnvWith(t, pgtest.Options{}, setupSQL)
}

func newEnvWith(t testing.TB, opts pgtest.Options, setupSQL string) *env {
	t.Helper()
	c := pgtest.Start(t, opts)
	c.CreateDatabase(t, "src")
	c.CreateDatabase(t, "dst")
	if setupSQL != "" {
		c.Exec(t, "src", setupSQL)
	}
	e := &env{c: c, src: c.Connect(t, "src"), dst: c.Connect(t, "dst"), slot: "ardent_test", srcCfg: connConfig(t, c.URL("src"))}
	e.exec(t, "SELECT pg_create_logical_replication_slot('ardent_test', 'wal2json')")
	e.tables = discover(t, e.src)
	ctx := context.Background()
	s, err := postgres.Open(ctx, c.URL("dst"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	require.NoError(t, s.Prepare(ctx, "test", e.tables))
	// As a completed snapshot does: the destination starts at the slot's
	// consistent point.
	var consistent string
	require.NoError(t, e.src.QueryRow(ctx, "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", e.slot).Scan(&consistent))
	lsn, err := pglogrepl.ParseLSN(consistent)
	require.NoError(t, err)
	require.NoError(t, s.ResetCheckpoint(ctx, "test", lsn))
	e.sink = s
	return e
}

func (e *env) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	_, err := e.src.Exec(context.Background(), sql, args...)
	require.NoError(t, err, sql)
}

func (e *env) options() Options {
	return Options{
		Source: e.srcCfg, Slot: e.slot, Connector: "test", Tables: e.tables, Sink: e.sink,
		StatusInterval: 200 * time.Millisecond, MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second,
	}
}

// start runs a Streamer until the test ends; it returns the streamer and a
// stop function that cancels it and returns Run's error.
func (e *env) start(t testing.TB, o Options) (*Streamer, func() error) {
	t.Helper()
	s, err := New(o)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var stopped bool
	var result error
	stop := func() error {
		if !stopped {
			cancel()
			result = <-done
			stopped = true
		}
		return result
	}
	t.Cleanup(func() { _ = stop() })
	return s, stop
}

// waitCaughtUp waits until the destination has applied everything the
// source has written so far.
func (e *env) waitCaughtUp(t testing.TB, s *Streamer, timeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	// A synchronous commit makes the WAL so far visible to the walsender.
	e.exec(t, "SET synchronous_commit = on")
	e.exec(t, "CREATE TEMP TABLE IF NOT EXISTS flush_marker(x int); INSERT INTO flush_marker VALUES (1)")
	var target string
	require.NoError(t, e.src.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&target))
	want, err := pglogrepl.ParseLSN(target)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		return s.Stats().DurableLSN >= want
	}, timeout, 20*time.Millisecond, "durable LSN did not reach %s: %+v", want, s.Stats())
}

// checksum is the table's whole-row digest (see internal/rowsum).
func checksum(t testing.TB, conn *pgx.Conn, tbl schema.Table) string {
	t.Helper()
	sum, err := rowsum.Of(context.Background(), conn, tbl.Ident())
	require.NoError(t, err)
	return sum
}

func (e *env) requireSame(t testing.TB) {
	t.Helper()
	for _, tbl := range e.tables {
		require.Equal(t, checksum(t, e.src, tbl), checksum(t, e.dst, tbl), "table %s differs", tbl.Ident())
	}
}

// discover is a test-only stand-in for the schema discovery package: just
// enough to build destination tables and the add-tables filter.
func discover(t testing.TB, conn *pgx.Conn) []schema.Table {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT c.oid, n.nspname, c.relname, c.relreplident::text FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema', '_ardent') AND n.nspname NOT LIKE 'pg_%'
		ORDER BY 2, 3`)
	require.NoError(t, err)
	type rel struct {
		oid                 uint32
		schema, name, ident string
	}
	var rels []rel
	for rows.Next() {
		var r rel
		require.NoError(t, rows.Scan(&r.oid, &r.schema, &r.name, &r.ident))
		rels = append(rels, r)
	}
	require.NoError(t, rows.Err())
	var out []schema.Table
	for _, r := range rels {
		tbl := schema.Table{Schema: r.schema, Name: r.name, OID: r.oid, Kind: "r", Identity: schema.IdentityPrimaryKey}
		rows, err := conn.Query(ctx, `SELECT a.attnum, a.atttypid, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attgenerated <> '',
			CASE WHEN ty.typtype = 'e' THEN 'text' WHEN ty.typtype = 'd' THEN format_type(ty.typbasetype, ty.typtypmod) ELSE '' END
			FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
			WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, r.oid)
		require.NoError(t, err)
		for rows.Next() {
			var col schema.Column
			require.NoError(t, rows.Scan(&col.Pos, &col.TypeOID, &col.Name, &col.Type, &col.NotNull, &col.Generated, &col.BaseType))
			tbl.Columns = append(tbl.Columns, col)
		}
		require.NoError(t, rows.Err())
		// Key: the replica identity index (USING INDEX) or the primary key.
		indexCond := "i.indisprimary"
		if r.ident == "i" {
			indexCond = "i.indisreplident"
			tbl.Identity = schema.IdentityIndex
		}
		if r.ident == "f" {
			tbl.Identity = schema.IdentityFull
		}
		rows, err = conn.Query(ctx, `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE i.indrelid = $1 AND `+indexCond+` ORDER BY array_position(i.indkey::int2[], a.attnum)`, r.oid)
		require.NoError(t, err)
		for rows.Next() {
			var k string
			require.NoError(t, rows.Scan(&k))
			tbl.KeyColumns = append(tbl.KeyColumns, k)
		}
		require.NoError(t, rows.Err())
		out = append(out, tbl)
	}
	return out
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// connConfig parses a test cluster's URL, as the activity boundary does.
func connConfig(t testing.TB, url string) *pgx.ConnConfig {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	return cfg
}
