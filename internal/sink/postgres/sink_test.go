package postgres

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
)

func hostileTable() schema.Table {
	return schema.Table{
		Schema: `We"ird.Schema`, Name: `ta,ble "x"`,
		Columns: []schema.Column{
			{Name: "id", Type: "bigint", NotNull: true, Key: true},
			{Name: `va"l`, Type: "numeric(10,2)"},
			{Name: "m", Type: "mood", BaseType: "text"},
			{Name: "g", Type: "integer", Generated: true},
		},
		Identity:   schema.IdentityPrimaryKey,
		KeyColumns: []string{"id"},
	}
}

func newSink(t testing.TB) (*Sink, *pgtest.Cluster) {
	t.Helper()
	c := pgtest.Start(t, pgtest.Options{})
	s, err := Open(context.Background(), c.URL("postgres"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s, c
}

func TestPrepareCopyTruncate(t *testing.T) {
	ctx := context.Background()
	s, c := newSink(t)
	tbl := hostileTable()
	require.NoError(t, s.Prepare(ctx, "conn1", []schema.Table{tbl}))
	require.NoError(t, s.Prepare(ctx, "conn1", []schema.Table{tbl}), "Prepare is idempotent")

	conn := c.Connect(t, "postgres")
	var pk string
	require.NoError(t, conn.QueryRow(ctx, `SELECT string_agg(a.attname, ',') FROM pg_index i JOIN pg_attribute a
		ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::regclass AND i.indisprimary`, tbl.Ident()).Scan(&pk))
	assert.Equal(t, "id", pk)

	n, err := s.CopyFrom(ctx, tbl, strings.NewReader("1\t1.50\thappy\t2\n2\t\\N\tsad\t4\n"), false)
	require.NoError(t, err)
	assert.EqualValues(t, 2, n)
	var sum string
	require.NoError(t, conn.QueryRow(ctx, `SELECT string_agg(t::text, ';' ORDER BY id) FROM `+tbl.Ident()+` t`).Scan(&sum))
	assert.Equal(t, "(1,1.50,happy,2);(2,,sad,4)", sum)

	lsn, err := s.DurableLSN(ctx, "conn1")
	require.NoError(t, err)
	assert.Zero(t, lsn)

	require.NoError(t, s.Truncate(ctx, "conn1", []schema.Table{tbl}))
	var cnt int
	require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM `+tbl.Ident()).Scan(&cnt))
	assert.Zero(t, cnt)
}

func val(name, text string) sink.Value { return sink.Value{Name: name, Text: text} }
func null(name string) sink.Value      { return sink.Value{Name: name, Null: true} }

func TestWriteSemantics(t *testing.T) {
	ctx := context.Background()
	s, c := newSink(t)
	tbl := hostileTable()
	full := schema.Table{Schema: "public", Name: "full_t", Identity: schema.IdentityFull,
		Columns: []schema.Column{{Name: "a", Type: "integer"}, {Name: "j", Type: "json"}}}
	require.NoError(t, s.Prepare(ctx, "c", []schema.Table{tbl, full}))
	ins := func(id, v string) sink.Change {
		return sink.Change{Op: sink.OpInsert, Schema: tbl.Schema, Table: tbl.Name,
			Columns: []sink.Value{val("id", id), val(`va"l`, v), val("m", "happy"), val("g", "0")}}
	}
	var many []sink.Change
	for i := 10; i < 200; i++ { // large enough for the COPY path
		many = append(many, ins(strconv.Itoa(i), "1"))
	}
	b1 := sink.Batch{Txs: []sink.Tx{
		{CommitLSN: 100, Changes: []sink.Change{ins("1", "1.5"), ins("2", "2.5"), ins("3", "3.5")}},
		{CommitLSN: 200, Changes: append(many,
			// update without key change, absent column kept
			sink.Change{Op: sink.OpUpdate, Schema: tbl.Schema, Table: tbl.Name,
				Columns: []sink.Value{val("id", "1"), val(`va"l`, "9")}, Identity: []sink.Value{val("id", "1")}},
			// two updates of the same key in a row must apply in order
			sink.Change{Op: sink.OpUpdate, Schema: tbl.Schema, Table: tbl.Name,
				Columns: []sink.Value{val("id", "1"), val(`va"l`, "10")}, Identity: []sink.Value{val("id", "1")}},
			// key change
			sink.Change{Op: sink.OpUpdate, Schema: tbl.Schema, Table: tbl.Name,
				Columns: []sink.Value{val("id", "20000"), null(`va"l`)}, Identity: []sink.Value{val("id", "2")}},
			sink.Change{Op: sink.OpDelete, Schema: tbl.Schema, Table: tbl.Name, Identity: []sink.Value{val("id", "3")}},
			sink.Change{Op: sink.OpDelete, Schema: tbl.Schema, Table: tbl.Name, Identity: []sink.Value{val("id", "10")}},
			sink.Change{Op: sink.OpInsert, Schema: "public", Table: "full_t", Columns: []sink.Value{val("a", "1"), val("j", `{"x": 1}`)}},
			sink.Change{Op: sink.OpInsert, Schema: "public", Table: "full_t", Columns: []sink.Value{val("a", "1"), val("j", `{"x": 1}`)}},
			sink.Change{Op: sink.OpUpdate, Schema: "public", Table: "full_t", Columns: []sink.Value{val("a", "2"), val("j", `{"x": 1}`)},
				Identity: []sink.Value{val("a", "1"), val("j", `{"x": 1}`)}},
			sink.Change{Op: sink.OpInsert, Schema: "public", Table: "full_t", Columns: []sink.Value{val("a", "3"), null("j")}},
			sink.Change{Op: sink.OpDelete, Schema: "public", Table: "full_t", Identity: []sink.Value{val("a", "3"), null("j")}},
		)},
	}}
	lsn, err := s.Write(ctx, "c", b1)
	require.NoError(t, err)
	assert.EqualValues(t, 200, lsn)

	conn := c.Connect(t, "postgres")
	q := func(sql string) string {
		var out string
		require.NoError(t, conn.QueryRow(ctx, sql).Scan(&out))
		return out
	}
	assert.Equal(t, "(1,10.00,happy,0);(20000,,happy,0)", q(`SELECT string_agg(t::text, ';' ORDER BY id) FROM `+tbl.Ident()+` t WHERE id < 10 OR id > 10000`))
	assert.Equal(t, "189", q(`SELECT count(*)::text FROM `+tbl.Ident()+` WHERE id >= 10 AND id < 10000`))
	assert.Equal(t, `(1,"{""x"": 1}");(2,"{""x"": 1}")`, q(`SELECT string_agg(t::text, ';' ORDER BY a) FROM full_t t`))
	assert.Equal(t, "0/C8", q(`SELECT lsn::text FROM _ardent.applied_lsn WHERE connector = 'c'`))

	// Replayed transactions are skipped, also by a fresh sink reading the checkpoint.
	s2, err := Open(ctx, c.URL("postgres"), nil)
	require.NoError(t, err)
	defer s2.Close(ctx)
	lsn, err = s2.Write(ctx, "c", b1)
	require.NoError(t, err)
	assert.EqualValues(t, 200, lsn)

	// A source transaction split over Continued writes commits once.
	part := func(n int, changes ...sink.Change) sink.Batch {
		return sink.Batch{Txs: []sink.Tx{{CommitLSN: 300, Part: n, Changes: changes}}, Continued: true}
	}
	// An attempt abandoned mid-transaction (the stream restarted) is rolled
	// back when the transaction is replayed from its first part.
	_, err = s2.Write(ctx, "c", part(0, ins("4000", "1")))
	require.NoError(t, err)
	lsn, err = s2.Write(ctx, "c", part(0, ins("5000", "1")))
	require.NoError(t, err)
	assert.EqualValues(t, 200, lsn, "durable LSN does not move mid-transaction")
	assert.Equal(t, "0", q(`SELECT count(*)::text FROM `+tbl.Ident()+` WHERE id = 5000`), "not visible before the source commit")
	b := part(1, ins("5001", "1"), sink.Change{Op: sink.OpTruncate, Schema: "public", Table: "full_t"})
	b.Continued = false
	lsn, err = s2.Write(ctx, "c", b)
	require.NoError(t, err)
	assert.EqualValues(t, 300, lsn)
	assert.Equal(t, "2", q(`SELECT count(*)::text FROM `+tbl.Ident()+` WHERE id IN (5000, 5001)`))
	assert.Equal(t, "0", q(`SELECT count(*)::text FROM `+tbl.Ident()+` WHERE id = 4000`), "abandoned attempt rolled back")

	_, err = s2.Write(ctx, "c", sink.Batch{Txs: []sink.Tx{{CommitLSN: 400, Part: 2}}})
	require.Error(t, err, "a continuation without its start is refused")
	assert.Equal(t, "0", q(`SELECT count(*)::text FROM full_t`))
}
