package replication

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
)

// TestStreamFollowsQuietDrop: a column dropped on a table nobody writes
// afterwards leaves no trace in the stream; the catalog poll's shape
// message carries it, and the destination follows it in stream order
// (kept, made nullable). A shape message of another connector, or of a
// table outside the stream's filter, is not followed.
func TestStreamFollowsQuietDrop(t *testing.T) {
	e := newEnv(t, `CREATE TABLE q (id int PRIMARY KEY, gone text NOT NULL, keep int);
		INSERT INTO q VALUES (1, 'a', 1);
		CREATE TABLE other (id int PRIMARY KEY, x int NOT NULL)`)
	ctx := context.Background()
	// Both tables' shapes recorded, as a snapshot does.
	require.NoError(t, e.sink.Truncate(ctx, "test", []schema.Table{e.table(t, "q"), e.table(t, "other")}))
	e.exec(t, "INSERT INTO q VALUES (1, 'a', 1) ON CONFLICT DO NOTHING")
	o := e.options()
	o.Tables = []schema.Table{e.table(t, "q")}
	s, stop := e.start(t, o)
	e.exec(t, "INSERT INTO q VALUES (2, 'b', 2)")
	e.waitCaughtUp(t, s, 30*time.Second)

	e.exec(t, "ALTER TABLE q DROP COLUMN gone")
	e.exec(t, "ALTER TABLE other DROP COLUMN x")
	for _, tc := range []struct {
		connector, table string
	}{{"someone_else", "q"}, {"test", "other"}, {"test", "q"}} {
		ok, err := EmitShape(ctx, e.src, tc.connector, e.table(t, tc.table))
		require.NoError(t, err)
		require.True(t, ok)
	}
	history := func() []string {
		rows, err := e.dst.Query(ctx, "SELECT table_name || ': ' || change || ' ' || outcome FROM _ardent.schema_history ORDER BY id")
		require.NoError(t, err)
		var out []string
		for rows.Next() {
			var h string
			require.NoError(t, rows.Scan(&h))
			out = append(out, h)
		}
		return out
	}
	require.Eventually(t, func() bool { return len(history()) > 0 }, 30*time.Second, 100*time.Millisecond)
	e.waitCaughtUp(t, s, 30*time.Second)
	require.ErrorIs(t, stop(), context.Canceled)
	assert.Equal(t, []string{`q: column "gone" dropped ` + sink.OutcomeKept}, history(), "followed once, for this connector's table only")
	var notNull bool
	require.NoError(t, e.dst.QueryRow(ctx, "SELECT attnotnull FROM pg_attribute WHERE attrelid = 'q'::regclass AND attname = 'gone'").Scan(&notNull))
	assert.False(t, notNull, "kept, nullable: new rows can have no value there")
}

func (e *env) table(t testing.TB, name string) schema.Table {
	t.Helper()
	for _, tb := range e.tables {
		if tb.Name == name {
			return tb
		}
	}
	t.Fatalf("no table %s", name)
	return schema.Table{}
}
