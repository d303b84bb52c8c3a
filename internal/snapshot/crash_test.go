package snapshot

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
	"github.com/ardent-cdc/ardent/internal/source"
)

// hookCopier runs hook once, just before the at-th CopyFrom, then
// delegates to the real sink: it places a fault mid-copy deterministically.
type hookCopier struct {
	sink.Copier
	calls atomic.Int64
	at    int64
	hook  func()
}

func (h *hookCopier) CopyFrom(ctx context.Context, t schema.Table, r io.Reader, binary bool) (int64, error) {
	if h.calls.Add(1) == h.at {
		h.hook()
	}
	return h.Copier.CopyFrom(ctx, t, r, binary)
}

// requireExact checks every table of the destination equals the source.
func requireExact(t *testing.T, e *env, tables []schema.Table) int64 {
	t.Helper()
	ctx := testCtx(t)
	src, dst := e.c.Connect(t, "src"), e.c.Connect(t, "dst")
	var total int64
	for _, tb := range tables {
		want := checksum(t, ctx, src, tb.Ident())
		require.Equal(t, want, checksum(t, ctx, dst, tb.Ident()), "table %s", tb.FullName())
		total += want.Rows
	}
	return total
}

func destRows(t *testing.T, e *env, tables []schema.Table) int64 {
	t.Helper()
	ctx := testCtx(t)
	dst := e.c.Connect(t, "dst")
	var total int64
	for _, tb := range tables {
		total += checksum(t, ctx, dst, tb.Ident()).Rows
	}
	return total
}

// TestRunRetriesExactAfterFaults fails an attempt mid-copy in each way the
// activity can see (a worker's backend terminated, the activity cancelled,
// the replication connection terminated), checks the failed attempt left
// no slot and a partial destination, and that the retry ends exact.
func TestRunRetriesExactAfterFaults(t *testing.T) {
	e := newEnv(t)
	e.c.Exec(t, "src", fixtureSQL())
	tables := e.discover(t, "public", "MixedCase")
	admin := e.c.Connect(t, "postgres")
	const slotName = "ardent_crash"

	// A fault runs as the copier's hook, on one of Run's goroutines: it
	// returns its error for the test goroutine to check instead of failing
	// t there.
	terminate := func(where string) func() error {
		return func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for {
				var n int
				if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM (
					SELECT pid FROM pg_stat_activity WHERE datname = 'src' AND `+where+` LIMIT 1) p`).Scan(&n); err != nil {
					return fmt.Errorf("terminate a backend with %s: %w", where, err)
				}
				if n == 1 {
					return nil
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("no backend with %s to terminate: %w", where, ctx.Err())
				case <-time.After(5 * time.Millisecond):
				}
			}
		}
	}
	cases := []struct {
		name  string
		fault func(cancel context.CancelFunc) func() error
	}{
		{"worker backend terminated", func(context.CancelFunc) func() error {
			return terminate("application_name = '" + source.SnapshotApplicationName(slotName) + "' AND backend_type = 'client backend'")
		}},
		{"context cancelled", func(cancel context.CancelFunc) func() error { return func() error { cancel(); return nil } }},
		{"replication connection terminated", func(context.CancelFunc) func() error {
			return terminate("backend_type = 'walsender'")
		}},
	}
	var total int64
	srcConn := e.c.Connect(t, "src")
	for _, tb := range tables {
		total += checksum(t, testCtx(t), srcConn, tb.Ident()).Rows
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(testCtx(t))
			defer cancel()
			fault, faultErr := tc.fault(cancel), make(chan error, 1)
			copier := &hookCopier{Copier: e.sink, at: 10, hook: func() { faultErr <- fault() }}
			_, err := Run(ctx, RunOptions{
				Source: e.srcCfg, Connector: "test", Slot: slotName, Tables: tables, Copier: copier,
				Parallelism: 3, ChunkPages: 8,
			})
			select {
			case ferr := <-faultErr:
				require.NoError(t, ferr, "placing the fault")
			case <-time.After(time.Minute):
				t.Fatal("the copier never reached the chunk that places the fault")
			}
			require.Error(t, err)
			t.Logf("failed attempt: %v", err)
			assert.Equal(t, 0, slotCount(t, testCtx(t), admin, slotName), "a failed attempt leaves no slot")
			copied := destRows(t, e, tables)
			assert.Positive(t, copied, "the fault hit mid-copy")
			assert.Less(t, copied, total, "the fault hit mid-copy")

			res, err := Run(testCtx(t), RunOptions{
				Source: e.srcCfg, Connector: "test", Slot: slotName, Tables: tables, Copier: e.sink,
				Parallelism: 3, ChunkPages: 8,
			})
			require.NoError(t, err)
			assert.Equal(t, total, requireExact(t, e, tables))
			assert.Equal(t, total, res.Copy.Rows)
			assert.Equal(t, 1, slotCount(t, testCtx(t), admin, slotName))
			assert.NotZero(t, res.Slot.ConsistentLSN)
		})
	}
}

// TestRunDropsLeftoverActiveSlot: a crashed attempt's slot, still held by
// a live walsender, is taken over by the next attempt.
func TestRunDropsLeftoverActiveSlot(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	e.c.Exec(t, "src", `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT i, 'x' FROM generate_series(1, 100) i;`)
	tables := e.discover(t, "public")
	const slotName = "ardent_leftover"

	holder := e.replConn(t)
	old, err := CreateSlotWithSnapshot(ctx, holder, slotName)
	require.NoError(t, err)
	require.NoError(t, pglogrepl.StartReplication(ctx, holder, slotName, pglogrepl.LSN(old.ConsistentLSN),
		pglogrepl.StartReplicationOptions{PluginArgs: []string{`"format-version" '2'`}}))
	admin := e.c.Connect(t, "postgres")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var active bool
		require.NoError(c, admin.QueryRow(ctx, "SELECT active FROM pg_replication_slots WHERE slot_name = $1", slotName).Scan(&active))
		assert.True(c, active, "slot %s is not active yet", slotName)
	}, 10*time.Second, 10*time.Millisecond)

	res, err := Run(ctx, RunOptions{Source: e.srcCfg, Connector: "test", Slot: slotName, Tables: tables, Copier: e.sink})
	require.NoError(t, err)
	assert.Equal(t, int64(100), res.Copy.Rows)
	assert.GreaterOrEqual(t, res.Slot.ConsistentLSN, old.ConsistentLSN)
	assert.NotEqual(t, old.SnapshotName, res.Slot.SnapshotName)
	requireExact(t, e, tables)
}

// TestCopyFailsWithoutExporter: once the exporting connection is closed
// before the workers import the snapshot, Copy must refuse to run.
func TestCopyFailsWithoutExporter(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	e.c.Exec(t, "src", `CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);`)
	tables := e.discover(t, "public")
	repl := e.replConn(t)
	slot, err := CreateSlotWithSnapshot(ctx, repl, "ardent_gone")
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = source.DropSlot(context.Background(), e.c.Connect(t, "src"), slot.Name, source.TerminateAny)
	})
	require.NoError(t, repl.Close(ctx))
	// The snapshot lives until the walsender process has exited.
	admin := e.c.Connect(t, "postgres")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var n int
		require.NoError(c, admin.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'").Scan(&n))
		assert.Zero(c, n, "walsenders still running")
	}, 10*time.Second, 10*time.Millisecond)

	_, err = Copy(ctx, Options{Source: e.srcCfg, Tables: tables, Copier: e.sink, SnapshotName: slot.SnapshotName})
	require.ErrorContains(t, err, "import snapshot")
	assert.Equal(t, int64(0), destRows(t, e, tables))
}

// TestRunEndsEarlierAttempt: an attempt whose activity was given up but
// whose process still runs (stuck mid-copy) is ended by the next attempt;
// it neither corrupts the new copy nor drops the new slot when it fails.
func TestRunEndsEarlierAttempt(t *testing.T) {
	e := newEnv(t)
	e.c.Exec(t, "src", fixtureSQL())
	tables := e.discover(t, "public", "MixedCase")
	const slotName = "ardent_zombie"

	stuck, release := make(chan struct{}), make(chan struct{})
	zombie := &hookCopier{Copier: e.sink, at: 5, hook: func() { close(stuck); <-release }}
	zombieErr := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), RunOptions{Source: e.srcCfg, Connector: "test", Slot: slotName, Tables: tables,
			Copier: zombie, Parallelism: 2, ChunkPages: 8})
		zombieErr <- err
	}()
	select {
	case <-stuck:
	case <-time.After(time.Minute):
		t.Fatal("the first attempt never reached its fifth chunk")
	}

	res, err := Run(testCtx(t), RunOptions{Source: e.srcCfg, Connector: "test", Slot: slotName, Tables: tables,
		Copier: e.sink, Parallelism: 2, ChunkPages: 8})
	require.NoError(t, err)
	close(release)
	select {
	case err := <-zombieErr:
		require.Error(t, err, "the ended attempt must fail")
		t.Logf("ended attempt: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the ended attempt did not return")
	}
	requireExact(t, e, tables)
	var lsn string
	admin := e.c.Connect(t, "src")
	require.NoError(t, admin.QueryRow(testCtx(t), "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", slotName).Scan(&lsn))
	assert.Equal(t, res.Slot.ConsistentLSN.String(), lsn, "the new attempt's slot survives the old one's failure")
}

// TestChunkUsesTidRangeScan: a chunk's query must read only its pages
// (PostgreSQL >= 14), or chunking would rescan the table once per chunk.
func TestChunkUsesTidRangeScan(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	e.c.Exec(t, "src", `CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT i, 'x' FROM generate_series(1, 10000) i; ANALYZE t;`)
	tb := schema.Table{Schema: "public", Name: "t", Kind: "r", Columns: cols("id", "v")}
	sql := copySQL(chunk{job: &tableJob{table: tb, binary: true}, lo: 8, hi: 16})
	query := sql[len("COPY (") : len(sql)-len(") TO STDOUT (FORMAT binary)")]
	var plan string
	require.NoError(t, e.c.Connect(t, "src").QueryRow(ctx, "EXPLAIN "+query).Scan(&plan))
	assert.Contains(t, plan, "Tid Range Scan")
}
