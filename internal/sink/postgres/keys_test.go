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

func primaryKey(t *testing.T, conn *pgx.Conn, table string) string {
	t.Helper()
	var cols string
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT coalesce((SELECT string_agg(a.attname, ',') FROM pg_index i
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
		WHERE i.indrelid = $1::regclass AND i.indisprimary AND i.indisvalid), '')`, table).Scan(&cols))
	return cols
}

func reloptions(t *testing.T, conn *pgx.Conn, table string) string {
	t.Helper()
	var opts string
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT coalesce(reloptions::text, '') FROM pg_class WHERE oid = $1::regclass`, table).Scan(&opts))
	return opts
}

// TestDropKeysOnlyFromEmptyOwnedTables: the key goes only from an empty
// table the connector owns, and BuildKeys gives it back (twice is a no-op).
func TestDropKeysOnlyFromEmptyOwnedTables(t *testing.T) {
	ctx := context.Background()
	s, c := newSink(t)
	tbl := hostileTable()
	tables := []schema.Table{tbl}
	require.NoError(t, s.Prepare(ctx, "conn1", tables))
	conn := c.Connect(t, "postgres")

	_, err := s.CopyFrom(ctx, tbl, strings.NewReader("1\t1.50\thappy\t2\n"), false)
	require.NoError(t, err)
	require.NoError(t, s.DropKeys(ctx, "conn1", tables))
	assert.Equal(t, "id", primaryKey(t, conn, tbl.Ident()), "a table with rows keeps its key")

	require.ErrorIs(t, s.DropKeys(ctx, "conn2", tables), sink.ErrNotOwned)

	require.NoError(t, s.Truncate(ctx, "conn1", tables))
	require.NoError(t, s.DropKeys(ctx, "conn1", tables))
	assert.Equal(t, "", primaryKey(t, conn, tbl.Ident()), "an emptied table loads without its key")
	assert.Equal(t, "{autovacuum_enabled=false}", reloptions(t, conn, tbl.Ident()), "and without autovacuum")
	_, err = s.CopyFrom(ctx, tbl, strings.NewReader("1\t1.50\thappy\t2\n2\t\\N\tsad\t4\n"), false)
	require.NoError(t, err)

	require.NoError(t, s.BuildKeys(ctx, "conn1", tables, 2))
	assert.Equal(t, "id", primaryKey(t, conn, tbl.Ident()))
	assert.Equal(t, "", reloptions(t, conn, tbl.Ident()), "autovacuum is back with the key")
	require.NoError(t, s.BuildKeys(ctx, "conn1", tables, 2), "a second build finds the key and leaves it")
	assert.Equal(t, "id", primaryKey(t, conn, tbl.Ident()))
	// The pooled session keeps the destination's own maintenance_work_mem.
	var mem string
	require.NoError(t, s.pool.QueryRow(ctx, "SHOW maintenance_work_mem").Scan(&mem))
	assert.Equal(t, "64MB", mem)
}
