package snapshot

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sharedSink is the real sink with SharedTableLoads answered by the test,
// standing in for a PostgreSQL 16 destination.
type sharedSink struct {
	*keyWatcher
	shared bool
}

func (s sharedSink) SharedTableLoads(context.Context) (bool, error) { return s.shared, nil }

// TestCopySplitsTablesOnlyWhereTheDestinationLoadsThemInParallel: with
// the default chunk size, a table several chunks large is split over
// sessions only when the destination says concurrent loads of one table
// scale; the test cluster (PostgreSQL 15) says they do not, and then each
// table is one COPY (the whole-table form) on a session of its own. Both
// end exact.
func TestCopySplitsTablesOnlyWhereTheDestinationLoadsThemInParallel(t *testing.T) {
	e := newEnv(t)
	// Two tables of about 2,500 heap pages each: three chunks each at the
	// default size and two workers.
	for _, n := range []string{"wide_a", "wide_b"} {
		e.c.Exec(t, "src", fmt.Sprintf(`CREATE TABLE %s (id bigint PRIMARY KEY, s text, ts timestamptz);
			INSERT INTO %[1]s SELECT i, md5(i::text) || md5((-i)::text), '2024-01-01'::timestamptz + i * interval '1 s'
			FROM generate_series(1, 160000) i`, n))
	}
	tables := e.discover(t, "public")
	require.Len(t, tables, 2)
	ctx := testCtx(t)
	split, err := e.sink.SharedTableLoads(ctx)
	require.NoError(t, err)
	require.False(t, split, "PostgreSQL 15 extends a table one page at a time under its extension lock")

	w := &keyWatcher{Sink: e.sink, hasKey: func(string) bool { return false }}

	for _, tt := range []struct {
		name       string
		shared     bool
		wantChunks func(t *testing.T, chunks int)
	}{
		{"destination before PostgreSQL 16", false, func(t *testing.T, chunks int) { assert.Equal(t, 1, chunks) }},
		{"destination that loads a table on several sessions", true, func(t *testing.T, chunks int) { assert.Greater(t, chunks, 1) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w.copies.Store(0)
			res, err := Run(ctx, RunOptions{Source: e.srcCfg, Connector: "test", Slot: "ardent_split", Tables: tables,
				Copier: sharedSink{keyWatcher: w, shared: tt.shared}, Parallelism: 2})
			require.NoError(t, err)
			t.Cleanup(func() { e.c.Exec(t, "src", "SELECT pg_drop_replication_slot('ardent_split')") })
			assert.Equal(t, 2, res.Copy.Parallelism)
			for _, tr := range res.Copy.Tables {
				tt.wantChunks(t, tr.Chunks)
			}
			assert.Equal(t, int64(res.Copy.Chunks), w.copies.Load(), "one destination COPY per chunk")
			assert.Equal(t, res.Copy.Rows, requireExact(t, e, tables))
		})
	}
}
