package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
)

func orders(sch string) schema.Table {
	return schema.Table{Schema: sch, Name: "orders", Identity: schema.IdentityPrimaryKey, KeyColumns: []string{"id"},
		Columns: []schema.Column{{Name: "id", Type: "bigint", NotNull: true, Key: true}, {Name: "v", Type: "text"}}}
}

func count(t *testing.T, conn *pgx.Conn, table string) int {
	t.Helper()
	var n int
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n))
	return n
}

func stateOf(t *testing.T, s *Sink, me sink.Owner, tables ...schema.Table) []sink.TargetState {
	t.Helper()
	states, err := s.Targets(context.Background(), me, tables)
	require.NoError(t, err)
	out := make([]sink.TargetState, len(states))
	for i, st := range states {
		out[i] = st.State
	}
	return out
}

// TestOwnershipKeepsConnectorsApart is the day-2 accident: a second
// connector onboarded into the same destination database with a table of
// the same name must neither empty nor take the first one's table, and a
// table holding rows Ardent did not write is taken only when the operator
// says so.
func TestOwnershipKeepsConnectorsApart(t *testing.T) {
	ctx := context.Background()
	s, c := newSink(t)
	conn := c.Connect(t, "postgres")
	a := sink.Owner{Connector: "a", Source: "1/app"}
	b := sink.Owner{Connector: "b", Source: "2/app"}
	tbl := orders("public")

	assert.Equal(t, []sink.TargetState{sink.TargetMissing}, stateOf(t, s, a, tbl))
	require.NoError(t, s.Claim(ctx, a, []schema.Table{tbl}, nil))
	require.NoError(t, s.Prepare(ctx, "a", []schema.Table{tbl}))
	_, err := conn.Exec(ctx, "INSERT INTO public.orders SELECT g, 'a' FROM generate_series(1, 100) g")
	require.NoError(t, err)
	assert.Equal(t, []sink.TargetState{sink.TargetOwned}, stateOf(t, s, a, tbl))

	// Connector b: refused by the judge, by Claim, by Prepare and by Truncate.
	states, err := s.Targets(ctx, b, []schema.Table{tbl})
	require.NoError(t, err)
	require.Len(t, states, 1)
	assert.Equal(t, sink.TargetClaimed, states[0].State)
	assert.Equal(t, "a", states[0].Owner)
	assert.True(t, states[0].HasRows)
	alive := func(string) bool { return true }
	problems, takeover := sink.Judge(states, b, alive, true)
	require.Len(t, problems, 1, "--replace-existing never takes a live connector's table")
	assert.Contains(t, problems[0].Message, `written by connector "a"`)
	assert.Contains(t, problems[0].Remedy, "--target-schema")
	assert.Empty(t, takeover)
	require.ErrorIs(t, s.Claim(ctx, b, []schema.Table{tbl}, nil), sink.ErrNotOwned)
	require.ErrorIs(t, s.Prepare(ctx, "b", []schema.Table{tbl}), sink.ErrNotOwned)
	require.ErrorIs(t, s.Truncate(ctx, "b", []schema.Table{tbl}), sink.ErrNotOwned)
	assert.Equal(t, 100, count(t, conn, "public.orders"), "connector a's rows are intact")

	// Once a is dropped (not live), its table holds rows b did not write:
	// taken only with --replace-existing.
	dropped := func(string) bool { return false }
	problems, _ = sink.Judge(states, b, dropped, false)
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0].Remedy, "--replace-existing")
	problems, takeover = sink.Judge(states, b, dropped, true)
	assert.Empty(t, problems)
	assert.Equal(t, []string{"public.orders"}, takeover)
	require.NoError(t, s.Claim(ctx, b, []schema.Table{tbl}, takeover))
	require.NoError(t, s.Truncate(ctx, "b", []schema.Table{tbl}))
	assert.Zero(t, count(t, conn, "public.orders"))
	require.ErrorIs(t, s.Truncate(ctx, "a", []schema.Table{tbl}), sink.ErrNotOwned, "a no longer owns it")
}

func TestOwnershipOfForeignTables(t *testing.T) {
	ctx := context.Background()
	s, c := newSink(t)
	conn := c.Connect(t, "postgres")
	me := sink.Owner{Connector: "me", Source: "1/app"}
	full, empty := orders("public"), orders("public")
	empty.Name = "empty"
	_, err := conn.Exec(ctx, `CREATE TABLE public.orders (id bigint PRIMARY KEY, v text);
		INSERT INTO public.orders VALUES (1, 'the customer''s own');
		CREATE TABLE public.empty (id bigint PRIMARY KEY, v text)`)
	require.NoError(t, err)

	assert.Equal(t, []sink.TargetState{sink.TargetForeignRows, sink.TargetEmpty}, stateOf(t, s, me, full, empty))
	require.ErrorIs(t, s.Prepare(ctx, "me", []schema.Table{full}), sink.ErrNotOwned, "rows Ardent did not write are not taken silently")
	require.ErrorIs(t, s.Truncate(ctx, "me", []schema.Table{full}), sink.ErrNotOwned)
	assert.Equal(t, 1, count(t, conn, "public.orders"))

	require.NoError(t, s.Prepare(ctx, "me", []schema.Table{empty}), "an empty table is taken")
	assert.Equal(t, []sink.TargetState{sink.TargetOwned}, stateOf(t, s, me, empty))

	states, err := s.Targets(ctx, me, []schema.Table{full})
	require.NoError(t, err)
	problems, _ := sink.Judge(states, me, nil, false)
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0].Message, "holds rows Ardent did not write")
	problems, takeover := sink.Judge(states, me, nil, true)
	assert.Empty(t, problems)
	require.NoError(t, s.Claim(ctx, me, []schema.Table{full}, takeover))
	require.NoError(t, s.Prepare(ctx, "me", []schema.Table{full}))
	require.NoError(t, s.Truncate(ctx, "me", []schema.Table{full}))
	assert.Zero(t, count(t, conn, "public.orders"))

	// A role that may not create anything is told what it lacks.
	_, err = conn.Exec(ctx, `CREATE ROLE reader LOGIN PASSWORD 'pw'; REVOKE CREATE ON SCHEMA public FROM PUBLIC;
		GRANT SELECT ON public.empty TO reader`)
	require.NoError(t, err)
	r, err := Open(ctx, c.URLFor("reader", "pw", "postgres"), nil)
	require.NoError(t, err)
	defer r.Close(ctx)
	_, err = r.Targets(ctx, me, []schema.Table{empty})
	require.ErrorContains(t, err, "may not use schema _ardent")
	_, err = conn.Exec(ctx, `GRANT USAGE ON SCHEMA _ardent TO reader; GRANT SELECT ON _ardent.owned_tables TO reader`)
	require.NoError(t, err)
	states, err = r.Targets(ctx, me, []schema.Table{orders("fresh"), empty})
	require.NoError(t, err)
	assert.Equal(t, sink.TargetMissing, states[0].State)
	assert.Equal(t, []string{"CREATE on the database (to create schema \"fresh\")"}, states[0].Missing)
	assert.Equal(t, []string{"DELETE", "INSERT", "TRUNCATE", "UPDATE"}, states[1].Missing)
	problems, _ = sink.Judge(states, me, nil, true)
	assert.Len(t, problems, 2)
}

// TestTargetSchemaMapsEveryWrite: with a target schema, the tables, the
// copy, the stream and truncation all use the mapped schema, never the
// source's.
func TestTargetSchemaMapsEveryWrite(t *testing.T) {
	ctx := context.Background()
	s, c := newSink(t)
	conn := c.Connect(t, "postgres")
	s.SetTarget(schema.Target("src1_*"))
	tbl := orders("public")
	require.NoError(t, s.Prepare(ctx, "src1", []schema.Table{tbl}))
	n, err := s.CopyFrom(ctx, tbl, strings.NewReader("1\tone\n2\ttwo\n"), false)
	require.NoError(t, err)
	assert.EqualValues(t, 2, n)
	_, err = s.Write(ctx, "src1", sink.Batch{Txs: []sink.Tx{{XID: 1, CommitLSN: 100, Changes: []sink.Change{
		{Op: sink.OpInsert, Schema: "public", Table: "orders", Columns: []sink.Value{val("id", "3"), val("v", "three")}},
		{Op: sink.OpDelete, Schema: "public", Table: "orders", Identity: []sink.Value{val("id", "1")}},
	}}}})
	require.NoError(t, err)
	var got string
	require.NoError(t, conn.QueryRow(ctx, "SELECT string_agg(id::text || v, ',' ORDER BY id) FROM src1_public.orders").Scan(&got))
	assert.Equal(t, "2two,3three", got)
	var exists bool
	require.NoError(t, conn.QueryRow(ctx, "SELECT to_regclass('public.orders') IS NOT NULL").Scan(&exists))
	assert.False(t, exists, "nothing is written under the source's schema name")
	require.NoError(t, s.Truncate(ctx, "src1", []schema.Table{tbl}))
	assert.Zero(t, count(t, conn, "src1_public.orders"))
}
