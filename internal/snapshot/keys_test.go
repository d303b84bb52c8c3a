package snapshot

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink/postgres"
)

// keyWatcher is the real sink, seen from the copy: it counts chunks that
// went into a table that had its primary key, and can fail the key build
// once as a crash between the copy and the build would.
type keyWatcher struct {
	*postgres.Sink
	keyedCopies atomic.Int64
	copies      atomic.Int64
	failBuild   bool
	builds      atomic.Int64
	hasKey      func(table string) bool
}

func (k *keyWatcher) CopyFrom(ctx context.Context, t schema.Table, r io.Reader, binary bool) (int64, error) {
	k.copies.Add(1)
	if k.hasKey(t.Ident()) {
		k.keyedCopies.Add(1)
	}
	return k.Sink.CopyFrom(ctx, t, r, binary)
}

func (k *keyWatcher) BuildKeys(ctx context.Context, connector string, tables []schema.Table, parallelism int) error {
	k.builds.Add(1)
	if k.failBuild {
		return errors.New("worker killed before the key build")
	}
	return k.Sink.BuildKeys(ctx, connector, tables, parallelism)
}

// primaryKeys maps each table to its primary key's columns ("" none).
func primaryKeys(t *testing.T, ctx context.Context, conn *pgx.Conn, tables []schema.Table) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tb := range tables {
		var cols string
		require.NoError(t, conn.QueryRow(ctx, `SELECT coalesce((SELECT string_agg(a.attname, ',' ORDER BY array_position(i.indkey::int2[], a.attnum))
			FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE i.indrelid = $1::regclass AND i.indisprimary AND i.indisvalid), '')`, tb.Ident()).Scan(&cols))
		out[tb.FullName()] = cols
	}
	return out
}

func wantKeys(tables []schema.Table) map[string]string {
	out := map[string]string{}
	for _, tb := range tables {
		cols := ""
		for i, k := range tb.KeyColumns {
			if i > 0 {
				cols += ","
			}
			cols += k
		}
		out[tb.FullName()] = cols
	}
	return out
}

// TestRunCopiesWithoutKeysThenBuildsThem: the copy goes into tables
// without their primary keys, and Run returns only once every table has
// its key again; an attempt that ends before the build leaves keyless
// partial tables, which the next attempt copies and keys exactly.
func TestRunCopiesWithoutKeysThenBuildsThem(t *testing.T) {
	e := newEnv(t)
	e.c.Exec(t, "src", fixtureSQL())
	tables := e.discover(t, "public", "MixedCase")
	ctx := testCtx(t)
	dst := e.c.Connect(t, "dst")
	probe := e.c.Connect(t, "dst")
	want := wantKeys(tables)
	require.Equal(t, want, primaryKeys(t, ctx, dst, tables), "Prepare creates the keys")
	require.NotEmpty(t, want["public.busy"])

	// Called from the copy's goroutines: one probe connection at a time,
	// and a failed probe counts as a keyed copy (the test then fails).
	probeMu := make(chan struct{}, 1)
	hasKey := func(ident string) bool {
		probeMu <- struct{}{}
		defer func() { <-probeMu }()
		var has bool
		err := probe.QueryRow(context.Background(),
			`SELECT EXISTS (SELECT FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p')`, ident).Scan(&has)
		return err != nil || has
	}
	w := &keyWatcher{Sink: e.sink, hasKey: hasKey, failBuild: true}
	run := func() (RunResult, error) {
		return Run(ctx, RunOptions{Source: e.srcCfg, Connector: "test", Slot: "ardent_keys", Tables: tables,
			Copier: w, Parallelism: 3, ChunkPages: 16})
	}

	// The first attempt dies between the copy and the key build.
	_, err := run()
	require.ErrorContains(t, err, "worker killed before the key build")
	assert.Positive(t, w.copies.Load())
	assert.Zero(t, w.keyedCopies.Load(), "every chunk went into a table without its primary key")
	for table, cols := range primaryKeys(t, ctx, dst, tables) {
		assert.Empty(t, cols, "table %s keeps no key after the failed attempt", table)
	}
	assert.Zero(t, slotCount(t, ctx, dst, "ardent_keys"), "the failed attempt dropped its slot")

	// The retry starts clean, copies exactly and keys every table.
	w.failBuild = false
	w.copies.Store(0)
	res, err := run()
	require.NoError(t, err)
	assert.Zero(t, w.keyedCopies.Load())
	assert.Positive(t, res.Copy.KeyBuild)
	assert.Equal(t, want, primaryKeys(t, ctx, dst, tables), "every table has its primary key when Run returns")
	assert.Equal(t, res.Copy.Rows, requireExact(t, e, tables))

	// IndexDuringCopy keeps the keys through the copy (the old behaviour,
	// for comparison) and ends equal.
	w.keyedCopies.Store(0)
	w.copies.Store(0)
	res, err = Run(ctx, RunOptions{Source: e.srcCfg, Connector: "test", Slot: "ardent_keys", Tables: tables,
		Copier: w, Parallelism: 3, ChunkPages: 16, IndexDuringCopy: true})
	require.NoError(t, err)
	assert.Equal(t, w.copies.Load(), w.keyedCopies.Load(), "every chunk went into a keyed table")
	assert.Zero(t, res.Copy.KeyBuild)
	assert.Equal(t, want, primaryKeys(t, ctx, dst, tables))
	assert.Equal(t, res.Copy.Rows, requireExact(t, e, tables))
}
