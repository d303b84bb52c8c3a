package postgres

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
)

// A worker cut off from Temporal but not from the databases can keep
// applying while its replacement applies the same changes. Two sinks on one
// connector write the same transactions in every interleaving: each change
// lands once and the checkpoint never moves backwards.
func TestTwoWritersApplyEachTransactionOnce(t *testing.T) {
	ctx := context.Background()
	s1, c := newSink(t)
	tbl := schema.Table{Schema: "public", Name: "counter", KeyColumns: []string{"id"},
		Columns: []schema.Column{{Name: "id", Type: "integer", NotNull: true, Key: true}, {Name: "n", Type: "integer"}}}
	log := schema.Table{Schema: "public", Name: "events", Identity: schema.IdentityFull,
		Columns: []schema.Column{{Name: "step", Type: "integer"}}}
	require.NoError(t, s1.Prepare(ctx, "c", []schema.Table{tbl, log}))
	require.NoError(t, s1.ResetCheckpoint(ctx, "c", 100))
	s2, err := Open(ctx, c.URL("postgres"), nil)
	require.NoError(t, err)
	defer s2.Close(ctx)
	conn := c.Connect(t, "postgres")
	_, err = conn.Exec(ctx, "INSERT INTO counter VALUES (1, 0)")
	require.NoError(t, err)

	// Transaction i sets the counter to i and logs step i: applied twice,
	// the log would show it.
	tx := func(i int) sink.Batch {
		v := strconv.Itoa(i)
		return sink.Batch{Txs: []sink.Tx{{CommitLSN: pglogrepl.LSN(100 + i), Changes: []sink.Change{
			{Op: sink.OpUpdate, Schema: "public", Table: "counter", Columns: []sink.Value{val("id", "1"), val("n", v)}},
			{Op: sink.OpInsert, Schema: "public", Table: "events", Columns: []sink.Value{val("step", v)}},
		}}}}
	}
	const n = 60
	var wg sync.WaitGroup
	for _, s := range []*Sink{s1, s2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= n; i++ {
				if _, err := s.Write(ctx, "c", tx(i)); err != nil {
					t.Errorf("write %d: %v", i, err)
					return
				}
			}
		}()
	}
	// Meanwhile the checkpoint only moves forward.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	last := pglogrepl.LSN(0)
	for watching := true; watching; {
		select {
		case <-done:
			watching = false
		case <-time.After(time.Millisecond):
		}
		l, err := s1.DurableLSN(ctx, "c")
		require.NoError(t, err)
		require.GreaterOrEqual(t, l, last, "the checkpoint moved backwards")
		last = l
	}
	var steps, distinct, counter int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*), count(DISTINCT step) FROM events").Scan(&steps, &distinct))
	require.NoError(t, conn.QueryRow(ctx, "SELECT n FROM counter").Scan(&counter))
	assert.Equal(t, n, steps, "every transaction applied exactly once")
	assert.Equal(t, n, distinct)
	assert.Equal(t, n, counter)
	assert.EqualValues(t, 100+n, last)

	// A writer behind the checkpoint cannot move it back.
	s3, err := Open(ctx, c.URL("postgres"), nil)
	require.NoError(t, err)
	defer s3.Close(ctx)
	s3.applierFor("c").durable, s3.applierFor("c").loaded = 100, true // stale cache
	_, err = s3.Write(ctx, "c", tx(5))
	require.NoError(t, err)
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&steps))
	assert.Equal(t, n, steps, "the stale writer skipped what was committed")
}

// The destination database's default may be synchronous_commit=off; a
// commit it could lose must never be acknowledged to the source.
func TestSinkCommitsSynchronously(t *testing.T) {
	ctx := context.Background()
	_, c := newSink(t)
	c.Exec(t, "postgres", "ALTER DATABASE postgres SET synchronous_commit = off")
	s, err := Open(ctx, c.URL("postgres"), nil)
	require.NoError(t, err)
	defer s.Close(ctx)
	var v string
	require.NoError(t, s.pool.QueryRow(ctx, "SHOW synchronous_commit").Scan(&v))
	assert.Equal(t, "on", v)
}

// A keyless table (REPLICA IDENTITY FULL without a key) gets an index, so
// matching an old row does not scan the table; a FULL table with a key
// keeps its key.
func TestPrepareGivesKeylessTablesAnAccessPath(t *testing.T) {
	ctx := context.Background()
	s, c := newSink(t)
	tables := []schema.Table{
		{Schema: "public", Name: "fixed", Identity: schema.IdentityFull,
			Columns: []schema.Column{{Name: "payload", Type: "text"}, {Name: "a", Type: "bigint"}, {Name: "at", Type: "timestamptz"}}},
		{Schema: "public", Name: "varlen", Identity: schema.IdentityFull,
			Columns: []schema.Column{{Name: "j", Type: "json"}, {Name: "t", Type: "text"}}},
		{Schema: "public", Name: "keyed", Identity: schema.IdentityFull, KeyColumns: []string{"id"},
			Columns: []schema.Column{{Name: "id", Type: "integer", NotNull: true}, {Name: "v", Type: "text"}}},
	}
	require.NoError(t, s.Prepare(ctx, "c", tables))
	require.NoError(t, s.Prepare(ctx, "c", tables), "Prepare stays idempotent")
	conn := c.Connect(t, "postgres")
	idx := func(table string) string {
		var def string
		require.NoError(t, conn.QueryRow(ctx, `SELECT coalesce(string_agg(regexp_replace(indexdef, '^.* USING ', ''), '; '), '')
			FROM pg_indexes WHERE tablename = $1`, table).Scan(&def))
		return def
	}
	assert.Equal(t, "btree (a, at)", idx("fixed"))
	assert.Equal(t, "hash (t)", idx("varlen"))
	assert.Equal(t, "btree (id)", idx("keyed"))

	// Updates and deletes match one of two identical rows, through the index.
	_, err := conn.Exec(ctx, "INSERT INTO fixed SELECT 'p', g, '2024-01-01' FROM generate_series(1, 20000) g; INSERT INTO fixed VALUES ('dup', 7, '2024-01-01'); ANALYZE fixed")
	require.NoError(t, err)
	old := []sink.Value{val("payload", "dup"), val("a", "7"), val("at", "2024-01-01 00:00:00+00")}
	_, err = s.Write(ctx, "c", sink.Batch{Txs: []sink.Tx{{CommitLSN: 10, Changes: []sink.Change{
		{Op: sink.OpUpdate, Schema: "public", Table: "fixed", Columns: []sink.Value{val("payload", "changed"), val("a", "7"), null("at")}, Identity: old},
		{Op: sink.OpDelete, Schema: "public", Table: "fixed", Identity: []sink.Value{val("payload", "p"), val("a", "7"), val("at", "2024-01-01 00:00:00+00")}},
	}}}})
	require.NoError(t, err)
	var rows string
	require.NoError(t, conn.QueryRow(ctx, "SELECT string_agg(payload || ':' || coalesce(at::text, 'null'), ',' ORDER BY payload) FROM fixed WHERE a = 7").Scan(&rows))
	assert.Equal(t, "changed:null", rows)
	var plan string
	require.NoError(t, conn.QueryRow(ctx, `EXPLAIN (COSTS OFF) SELECT ctid FROM fixed WHERE payload = 'x' AND a = 7 AND at = '2024-01-01'`).Scan(&plan))
	assert.Contains(t, plan, "Index", "the old-row match uses the access index")
}
