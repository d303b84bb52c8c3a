package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/shape"
	"github.com/ardent-cdc/ardent/internal/sink"
)

// shaped is a column value as the stream delivers it with its shape.
func shaped(pos int, name, typ string, oid uint32, notNull bool, text string) sink.Value {
	return sink.Value{Name: name, Type: typ, TypeOID: oid, NotNull: notNull, Pos: pos, Text: text}
}

func colType(t *testing.T, conn *pgx.Conn, table, col string) string {
	t.Helper()
	var typ string
	err := conn.QueryRow(context.Background(), `SELECT coalesce((SELECT format_type(atttypid, atttypmod) FROM pg_attribute
		WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped), '')`, table, col).Scan(&typ)
	require.NoError(t, err)
	return typ
}

type fakeCatalog map[int]shape.Resolved

func (f fakeCatalog) Resolve(context.Context, string, string, []shape.Column) (map[int]shape.Resolved, error) {
	return f, nil
}

// TestStreamFollowsShapes: each shape change arrives with the change that
// first shows it and is applied in that change's destination transaction,
// with its history; a narrowing quarantines the table in the same
// transaction, and the other tables' changes still apply.
func TestStreamFollowsShapes(t *testing.T) {
	ctx := context.Background()
	s, c := newSink(t)
	conn := c.Connect(t, "postgres")
	tbl := schema.Table{Schema: "public", Name: "f", Identity: schema.IdentityPrimaryKey, KeyColumns: []string{"id"},
		Columns: []schema.Column{{Name: "id", Pos: 1, Type: "bigint", TypeOID: 20, NotNull: true, Key: true},
			{Name: "name", Pos: 2, Type: "character varying(5)", TypeOID: 1043}}}
	other := keyed("g")
	require.NoError(t, s.Prepare(ctx, "k", []schema.Table{tbl, other}))
	require.NoError(t, s.Truncate(ctx, "k", []schema.Table{tbl, other}))
	require.NoError(t, s.SetTableStates(ctx, "k", []sink.TableState{
		{Schema: "public", Name: "f", State: sink.TableStreaming}, {Schema: "public", Name: "g", State: sink.TableStreaming}}, false))
	def := "7"
	s.SetSourceCatalog(fakeCatalog{3: {StoredType: "integer", Default: &def}})

	id := func(v string) sink.Value { return shaped(1, "id", "bigint", 20, true, v) }
	row := func(vals ...sink.Value) sink.Change {
		return sink.Change{Op: sink.OpInsert, Schema: "public", Table: "f", Columns: vals, PK: []string{"id"}}
	}
	_, err := s.Write(ctx, "k", tx(100, row(id("1"), shaped(2, "name", "character varying(5)", 1043, false, "abc"))))
	require.NoError(t, err)

	// Widened, renamed and a column added with a constant default, all in
	// one change: one transaction with the row.
	_, err = s.Write(ctx, "k", tx(200, row(id("2"), shaped(2, "title", "character varying(40)", 1043, false, "a much longer title"),
		shaped(3, "n", "integer", 23, false, "5"))))
	require.NoError(t, err)
	assert.Equal(t, "character varying(40)", colType(t, conn, "public.f", "title"))
	assert.Empty(t, colType(t, conn, "public.f", "name"))
	var n1 int
	require.NoError(t, conn.QueryRow(ctx, "SELECT n FROM public.f WHERE id = 1").Scan(&n1))
	assert.Equal(t, 7, n1, "a row that existed before the column has the source's default")
	hist, err := s.SchemaHistory(ctx, "k", "public.f", 0)
	require.NoError(t, err)
	require.Len(t, hist, 3)
	for _, h := range hist {
		assert.Equal(t, sink.OutcomeApplied, h.Outcome)
		assert.EqualValues(t, 200, h.LSN)
	}

	// An update without a column (unchanged TOAST) is no drop.
	_, err = s.Write(ctx, "k", tx(250, sink.Change{Op: sink.OpUpdate, Schema: "public", Table: "f", PK: []string{"id"},
		Columns: []sink.Value{id("2"), shaped(3, "n", "integer", 23, false, "6")}}))
	require.NoError(t, err)
	assert.NotEmpty(t, colType(t, conn, "public.f", "title"))

	// A quiet drop, told by a shape message: kept, nullable.
	_, err = s.Write(ctx, "k", tx(300, sink.Change{Op: sink.OpShape, Schema: "public", Table: "f",
		Columns: []sink.Value{id(""), shaped(3, "n", "integer", 23, false, "")}}))
	require.NoError(t, err)
	assert.Equal(t, "character varying(40)", colType(t, conn, "public.f", "title"), "kept (policy keep)")
	hist, err = s.SchemaHistory(ctx, "k", "public.f", 1)
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Contains(t, hist[0].Change, `"title" dropped`)
	assert.Equal(t, sink.OutcomeKept, hist[0].Outcome)

	// A narrowing: quarantined in the same transaction; g still applies.
	s.SetSourceCatalog(fakeCatalog{3: {StoredType: "smallint"}})
	_, err = s.Write(ctx, "k", tx(400,
		row(id("3"), shaped(3, "n", "smallint", 21, false, "1")),
		sink.Change{Op: sink.OpInsert, Schema: "public", Table: "g", Columns: []sink.Value{val("id", "1")}}))
	require.NoError(t, err)
	assert.Equal(t, 1, count(t, conn, "public.g"))
	assert.Equal(t, 2, count(t, conn, "public.f"), "the quarantined table's change is not applied")
	states, err := s.TableStates(ctx, "k")
	require.NoError(t, err)
	var f sink.TableState
	for _, st := range states {
		if st.Name == "f" {
			f = st
		}
	}
	assert.Equal(t, sink.TableQuarantined, f.State)
	assert.Contains(t, f.Cause, `column "n" changed type from integer to smallint`)
	assert.Contains(t, f.Remedy, "ardent schema approve k --table public.f")
	assert.Equal(t, "integer", colType(t, conn, "public.f", "n"), "nothing narrowed")

	// Approved: the resync's truncate makes the table the source's shape.
	now := tbl
	now.Columns = []schema.Column{{Name: "id", Pos: 1, Type: "bigint", TypeOID: 20, NotNull: true, Key: true},
		{Name: "n", Pos: 3, Type: "smallint", TypeOID: 21}}
	diffs, err := s.ShapeDifferences(ctx, []schema.Table{now})
	require.NoError(t, err)
	assert.Equal(t, []string{`ALTER TABLE "public"."f" ALTER COLUMN "n" TYPE smallint USING NULL`}, diffs["public.f"])
	require.NoError(t, s.Truncate(ctx, "k", []schema.Table{now}))
	assert.Equal(t, "smallint", colType(t, conn, "public.f", "n"))
	diffs, err = s.ShapeDifferences(ctx, []schema.Table{now})
	require.NoError(t, err)
	assert.Empty(t, diffs)
}
