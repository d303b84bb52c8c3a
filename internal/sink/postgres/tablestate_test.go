package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pglogrepl"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
)

func keyed(name string) schema.Table {
	return schema.Table{Schema: "public", Name: name, Identity: schema.IdentityPrimaryKey, KeyColumns: []string{"id"},
		Columns: []schema.Column{{Name: "id", Type: "bigint", NotNull: true, Key: true}}}
}

func insert(table, id string) sink.Change {
	return sink.Change{Op: sink.OpInsert, Schema: "public", Table: table, Columns: []sink.Value{val("id", id)}}
}

func tx(commit pglogrepl.LSN, changes ...sink.Change) sink.Batch {
	return sink.Batch{Txs: []sink.Tx{{XID: uint32(commit), CommitLSN: commit, Changes: changes}}}
}

// TestTableStatesGateTheStream: with per-table states, the stream applies
// only its streaming tables' changes after each one's ApplyAfter, skips a
// backfilling table's and remembers tables it has no state for; a handover
// is refused while the stream's checkpoint is beyond the backfill's point
// and, once accepted, the table's changes after that point apply.
func TestTableStatesGateTheStream(t *testing.T) {
	ctx := context.Background()
	s, c := newSink(t)
	conn := c.Connect(t, "postgres")
	tables := []schema.Table{keyed("a"), keyed("b"), keyed("c")}
	require.NoError(t, s.Prepare(ctx, "k", tables))
	rows := func(table string) int { return count(t, conn, "public."+table) }

	// No states: everything applies (a connector from before the registry).
	_, err := s.Write(ctx, "k", tx(100, insert("a", "1"), insert("b", "1"), insert("c", "1")))
	require.NoError(t, err)
	assert.Equal(t, []int{1, 1, 1}, []int{rows("a"), rows("b"), rows("c")})

	require.NoError(t, s.SetTableStates(ctx, "k", []sink.TableState{
		{Schema: "public", Name: "a", State: sink.TableStreaming},
		{Schema: "public", Name: "b", State: sink.TableBackfilling},
	}, false))
	_, err = s.Write(ctx, "k", tx(200, insert("a", "2"), insert("b", "2"), insert("c", "2")))
	require.NoError(t, err)
	assert.Equal(t, []int{2, 1, 1}, []int{rows("a"), rows("b"), rows("c")}, "b backfills, c has no state")
	assert.Equal(t, []string{"public.c"}, s.SkippedTables("k"))
	assert.Empty(t, s.SkippedTables("k"), "reported once")

	ok, at, err := s.Handover(ctx, "k", "public", "b", 150)
	require.NoError(t, err)
	assert.False(t, ok, "the stream is already at 200")
	assert.EqualValues(t, 200, at)
	ok, _, err = s.Handover(ctx, "k", "public", "b", 300)
	require.NoError(t, err)
	require.True(t, ok)
	_, err = s.Write(ctx, "k", tx(250, insert("b", "3"))) // the backfill applied it (<= 300)
	require.NoError(t, err)
	_, err = s.Write(ctx, "k", tx(350, insert("b", "4"), insert("a", "4")))
	require.NoError(t, err)
	assert.Equal(t, []int{3, 2}, []int{rows("a"), rows("b")})
	var ids string
	require.NoError(t, conn.QueryRow(ctx, "SELECT string_agg(id::text, ',' ORDER BY id) FROM public.b").Scan(&ids))
	assert.Equal(t, "1,4", ids)

	// onlyNew keeps a table's state; a state change lists back.
	require.NoError(t, s.SetTableStates(ctx, "k", []sink.TableState{{Schema: "public", Name: "b", State: sink.TableBackfilling}}, true))
	require.NoError(t, s.SetTableStates(ctx, "k", []sink.TableState{{Schema: "public", Name: "c", State: sink.TableQuarantined,
		Since: 400, Cause: "column x does not exist", Remedy: "ardent resync k --table public.c"}}, false))
	states, err := s.TableStates(ctx, "k")
	require.NoError(t, err)
	require.Len(t, states, 3)
	assert.Equal(t, sink.TableStreaming, states[1].State)
	assert.EqualValues(t, 300, states[1].ApplyAfter)
	assert.Equal(t, sink.TableQuarantined, states[2].State)
	assert.Equal(t, "column x does not exist", states[2].Cause)
	_, err = s.Write(ctx, "k", tx(450, insert("c", "5")))
	require.NoError(t, err)
	assert.Equal(t, 1, rows("c"), "quarantined")

	// A new snapshot starts the history again: only its tables remain.
	require.NoError(t, s.ReplaceTableStates(ctx, "k", []sink.TableState{{Schema: "public", Name: "a", State: sink.TableStreaming}}))
	states, err = s.TableStates(ctx, "k")
	require.NoError(t, err)
	require.Len(t, states, 1)
	assert.Equal(t, "public.a", states[0].FullName())
}
