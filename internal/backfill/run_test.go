package backfill

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/replication"
	"github.com/ardent-cdc/ardent/internal/rowsum"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
	"github.com/ardent-cdc/ardent/internal/sink/postgres"
)

const setup = `
CREATE TABLE streaming (id bigint PRIMARY KEY, v bigint NOT NULL);
CREATE TABLE fresh (id bigint PRIMARY KEY, v bigint NOT NULL, pad text);
CREATE SEQUENCE fresh_ids START 100000;
CREATE TABLE keyless (a bigint, b text);
ALTER TABLE keyless REPLICA IDENTITY FULL;
INSERT INTO streaming SELECT g, 0 FROM generate_series(1, 1000) g;
INSERT INTO fresh SELECT g, 0, repeat('x', 100) FROM generate_series(1, 50000) g;
INSERT INTO keyless SELECT g % 100, 'k' FROM generate_series(1, 5000) g;
`

// writers keep every table busy: updates, inserts and deletes, each in its
// own transaction, until stopped; stop returns the transactions committed.
func writers(t *testing.T, c *pgtest.Cluster) (stop func() int64) {
	t.Helper()
	var stopping atomic.Bool
	var n atomic.Int64
	var wg sync.WaitGroup
	stmts := []string{
		`UPDATE fresh SET v = v + 1 WHERE id = 1 + (random() * 49999)::int`,
		`INSERT INTO fresh VALUES (nextval('fresh_ids'), 0, 'new')`,
		`DELETE FROM fresh WHERE id = (SELECT min(id) FROM fresh)`,
		`UPDATE streaming SET v = v + 1 WHERE id = 1 + (random() * 999)::int`,
		`UPDATE keyless SET b = b || 'u' WHERE ctid = (SELECT ctid FROM keyless WHERE a = (random() * 99)::int LIMIT 1)`,
		`INSERT INTO keyless VALUES ((random() * 99)::int, 'i')`,
	}
	for i := range 2 {
		conn := c.Connect(t, "src")
		wg.Go(func() {
			for k := i; !stopping.Load(); k++ {
				if _, err := conn.Exec(context.Background(), stmts[k%len(stmts)]); err != nil {
					t.Errorf("writer: %v", err)
					return
				}
				n.Add(1)
			}
		})
	}
	return func() int64 { stopping.Store(true); wg.Wait(); return n.Load() }
}

func sum(t *testing.T, conn *pgx.Conn, table string) string {
	t.Helper()
	s, err := rowsum.Of(context.Background(), conn, table)
	require.NoError(t, err)
	return s
}

// TestBackfillWhileStreaming: tables join a running connector one at a
// time, keyed and keyless, under concurrent writes to them and to the
// table that streams; each ends equal to the source, and so does the
// streaming table, whose stream never stopped.
func TestBackfillWhileStreaming(t *testing.T) {
	ctx := context.Background()
	c := pgtest.Start(t, pgtest.Options{})
	c.CreateDatabase(t, "src")
	c.CreateDatabase(t, "dst")
	c.Exec(t, "src", setup)
	srcConn, dstConn := c.Connect(t, "src"), c.Connect(t, "dst")
	all, err := schema.Discover(ctx, srcConn, schema.Selection{Schemas: []string{"public"}})
	require.NoError(t, err)
	byName := map[string]schema.Table{}
	for _, tb := range all {
		byName[tb.Name] = tb
	}
	srcCfg, err := pgx.ParseConfig(c.URL("src"))
	require.NoError(t, err)
	s, err := postgres.Open(ctx, c.URL("dst"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(ctx) })

	// The connector streams table "streaming" only (as if onboarded before
	// the others existed), its filter the whole schema.
	var lsn string
	require.NoError(t, srcConn.QueryRow(ctx, "SELECT lsn::text FROM pg_create_logical_replication_slot('ardent_main', 'wal2json')").Scan(&lsn))
	consistent, err := pglogrepl.ParseLSN(lsn)
	require.NoError(t, err)
	require.NoError(t, s.Prepare(ctx, "main", []schema.Table{byName["streaming"]}))
	_, err = dstConn.Exec(ctx, "INSERT INTO public.streaming SELECT g, 0 FROM generate_series(1, 1000) g")
	require.NoError(t, err)
	require.NoError(t, s.ResetCheckpoint(ctx, "main", consistent))
	require.NoError(t, s.SetTableStates(ctx, "main", []sink.TableState{{Schema: "public", Name: "streaming", State: sink.TableStreaming}}, false))
	st, err := replication.New(replication.Options{Source: srcCfg, Slot: "ardent_main", Connector: "main", Schemas: []string{"public"},
		Sink: s, StatusInterval: 200 * time.Millisecond, HeartbeatInterval: time.Second, Log: testLog(t)})
	require.NoError(t, err)
	var cancel context.CancelFunc
	done := make(chan error, 1)
	startStream := func() {
		var sctx context.Context
		sctx, cancel = context.WithCancel(ctx)
		go func() { done <- st.Run(sctx) }()
	}
	stopStream := func() { cancel(); <-done }
	startStream()
	t.Cleanup(func() { stopStream() })

	stop := writers(t, c)
	require.Eventually(t, func() bool { return len(s.SkippedTables("main")) > 0 }, 10*time.Second, 50*time.Millisecond,
		"the stream sees changes of tables it has no state for")
	for _, name := range []string{"fresh", "keyless"} {
		if name == "keyless" {
			// The stream is behind the backfill at its handover: when it
			// comes back it must leave the changes the backfill applied.
			stopStream()
		}
		var phases []string
		res, err := Run(ctx, Options{Source: srcCfg, Connector: "main", Table: byName[name], Sink: s, Parallelism: 2,
			Progress: func(p Progress) {
				if len(phases) == 0 || phases[len(phases)-1] != p.Phase {
					phases = append(phases, p.Phase)
				}
			}})
		require.NoError(t, err, name)
		assert.Positive(t, res.Rows, name)
		assert.GreaterOrEqual(t, res.HandedOver, res.Consistent, name)
		assert.Equal(t, []string{PhaseCopy, PhaseCatchUp, PhaseHandover}, phases, name)
	}
	startStream()
	time.Sleep(time.Second) // the writers go on after the handovers
	committed := stop()
	assert.Greater(t, committed, int64(100), "the writers must have been busy")

	// Caught up: the destination has everything written so far.
	var end string
	require.NoError(t, srcConn.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&end))
	want, err := pglogrepl.ParseLSN(end)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return st.Stats().DurableLSN >= want }, time.Minute, 50*time.Millisecond,
		"stream at %+v, want %s", st.Stats(), want)
	for _, name := range []string{"streaming", "fresh", "keyless"} {
		assert.Equal(t, sum(t, srcConn, "public."+name), sum(t, dstConn, "public."+name), name)
	}
	// The copy loaded "fresh" without its key; the key was built before
	// the catch-up, and autovacuum is back on.
	var keyed bool
	var opts string
	require.NoError(t, dstConn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_index WHERE indrelid = 'public.fresh'::regclass AND indisprimary),
		coalesce((SELECT reloptions::text FROM pg_class WHERE oid = 'public.fresh'::regclass), '')`).Scan(&keyed, &opts))
	assert.True(t, keyed, "the backfilled table has its primary key")
	assert.Empty(t, opts, "autovacuum is back on")
	states, err := s.TableStates(ctx, "main")
	require.NoError(t, err)
	for _, ts := range states {
		assert.Equal(t, sink.TableStreaming, ts.State, ts.FullName())
	}
	var left int
	require.NoError(t, srcConn.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'ardent_backfill_%'").Scan(&left))
	assert.Zero(t, left, "no temporary slot left")
	require.NoError(t, dstConn.QueryRow(ctx, "SELECT count(*) FROM _ardent.applied_lsn WHERE connector = $1", CheckpointName("main")).Scan(&left))
	assert.Zero(t, left, "the backfill's checkpoint is removed")
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
