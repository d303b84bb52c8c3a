package rowsum_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/rowsum"
)

// oldSQL is the form every checksum helper used before rowsum: with a
// column named t, t::text is that column, not the row.
func oldSQL(ident string) string {
	return "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM " + ident + " t"
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func digest(t *testing.T, ctx context.Context, q rowsum.Querier, ident string) string {
	t.Helper()
	sum, err := rowsum.Of(ctx, q, ident)
	require.NoError(t, err)
	return sum
}

func query(t *testing.T, ctx context.Context, conn *pgx.Conn, sql string) string {
	t.Helper()
	var s string
	require.NoError(t, conn.QueryRow(ctx, sql).Scan(&s), sql)
	return s
}

func show(v *string) string {
	if v == nil {
		return "<NULL>"
	}
	return *v
}

func TestDigestSeesOneByteInAnyColumn(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	c.Exec(t, "postgres", pgtest.TypeCasesSQL("a")+"CREATE TABLE b (LIKE a); INSERT INTO b SELECT * FROM a;")
	conn := c.Connect(t, "postgres")
	ctx := ctxFor(t)
	restore := func(t *testing.T) {
		t.Helper()
		_, err := conn.Exec(ctx, "TRUNCATE b; INSERT INTO b SELECT * FROM a")
		require.NoError(t, err)
	}

	want := digest(t, ctx, conn, "a")
	require.True(t, strings.HasPrefix(want, "3:"), want)
	require.Equal(t, want, digest(t, ctx, conn, "b"), "an exact copy has the same digest")

	for _, col := range pgtest.TypeCases {
		t.Run(col.Name, func(t *testing.T) {
			restore(t)
			require.Equal(t, want, digest(t, ctx, conn, "b"))
			var before, after *string
			require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf("SELECT %s::text FROM a WHERE k = 2", col.Name)).Scan(&before))
			require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf("UPDATE b SET %s = %s WHERE k = 2 RETURNING %[1]s::text", col.Name, col.Changed), col.Args...).Scan(&after))
			require.NotEqual(t, show(before), show(after), "the change must be real")
			got := digest(t, ctx, conn, "b")
			assert.NotEqual(t, want, got, "%s %s: %s -> %s not detected", col.Name, col.Type, show(before), show(after))
			assert.True(t, strings.HasPrefix(got, "3:"), got)
		})
	}

	t.Run("old t::text form compares only column t", func(t *testing.T) {
		restore(t)
		_, err := conn.Exec(ctx, "UPDATE b SET s = s + 1, c_bytea = '\\x00' WHERE k = 2")
		require.NoError(t, err)
		assert.Equal(t, query(t, ctx, conn, oldSQL("a")), query(t, ctx, conn, oldSQL("b")), "the old form misses changes outside column t (the bug)")
		assert.NotEqual(t, want, digest(t, ctx, conn, "b"))
	})

	t.Run("row order does not matter", func(t *testing.T) {
		_, err := conn.Exec(ctx, "TRUNCATE b; INSERT INTO b SELECT * FROM a ORDER BY k DESC")
		require.NoError(t, err)
		assert.Equal(t, want, digest(t, ctx, conn, "b"))
	})

	t.Run("a missing or extra row", func(t *testing.T) {
		restore(t)
		_, err := conn.Exec(ctx, "DELETE FROM b WHERE k = 3")
		require.NoError(t, err)
		assert.NotEqual(t, want, digest(t, ctx, conn, "b"))
		_, err = conn.Exec(ctx, "INSERT INTO b SELECT * FROM a WHERE k = 2")
		require.NoError(t, err)
		assert.NotEqual(t, want, digest(t, ctx, conn, "b"), "a duplicate in place of a lost row")
	})

	t.Run("composite column named t", func(t *testing.T) {
		// The claim the query rests on: t.* is the range variable, never
		// the expansion of a column named t, even a composite one.
		_, err := conn.Exec(ctx, `CREATE TYPE pair AS (t int, r text);
			CREATE TABLE c1 (t pair, s pair); INSERT INTO c1 VALUES (ROW(1, 'x'), ROW(2, 'y'));
			CREATE TABLE c2 (LIKE c1); INSERT INTO c2 SELECT * FROM c1`)
		require.NoError(t, err)
		same := digest(t, ctx, conn, "c1")
		require.Equal(t, same, digest(t, ctx, conn, "c2"))
		_, err = conn.Exec(ctx, "UPDATE c2 SET s.r = 'z'")
		require.NoError(t, err)
		assert.NotEqual(t, same, digest(t, ctx, conn, "c2"))
	})

	t.Run("empty table", func(t *testing.T) {
		_, err := conn.Exec(ctx, "CREATE TABLE e (t int)")
		require.NoError(t, err)
		assert.Equal(t, "0:", digest(t, ctx, conn, "e"))
	})

	t.Run("ONLY the named table", func(t *testing.T) {
		_, err := conn.Exec(ctx, "CREATE TABLE parent (t int); CREATE TABLE child () INHERITS (parent); INSERT INTO child VALUES (1)")
		require.NoError(t, err)
		assert.Equal(t, "0:", digest(t, ctx, conn, "parent"))
		assert.True(t, strings.HasPrefix(digest(t, ctx, conn, "child"), "1:"))
	})

	t.Run("error names the table", func(t *testing.T) {
		_, err := rowsum.Of(ctx, conn, `"no_such"`)
		require.Error(t, err)
		assert.Contains(t, err.Error(), `"no_such"`)
	})
}

// TestDigestIgnoresOutputSettings: the same rows under different server
// defaults and session settings give the same digest through Of, although
// their text forms differ.
func TestDigestIgnoresOutputSettings(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	ctx := ctxFor(t)
	odd := []string{
		"bytea_output = 'escape'", "DateStyle = 'SQL, DMY'", "IntervalStyle = 'sql_standard'",
		"extra_float_digits = 0", "TimeZone = 'Pacific/Chatham'",
	}
	c.Exec(t, "postgres", pgtest.TypeCasesSQL("a"))
	c.CreateDatabase(t, "other")
	for _, s := range odd {
		c.Exec(t, "postgres", "ALTER DATABASE other SET "+s)
	}
	c.Exec(t, "other", pgtest.TypeCasesSQL("a"))
	// Row 2 of the real column, one ulp above 1.5, prints as 1.5 under
	// extra_float_digits = 0 in "other" unless Of's settings apply.
	_, err := c.Connect(t, "postgres").Exec(ctx, "UPDATE a SET c_real = $1 WHERE k = 2", math.Nextafter32(1.5, 2))
	require.NoError(t, err)
	_, err = c.Connect(t, "other").Exec(ctx, "UPDATE a SET c_real = $1 WHERE k = 2", math.Nextafter32(1.5, 2))
	require.NoError(t, err)

	want := digest(t, ctx, c.Connect(t, "postgres"), "a")

	t.Run("server defaults", func(t *testing.T) {
		conn := c.Connect(t, "other")
		require.Equal(t, "escape", query(t, ctx, conn, "SHOW bytea_output"), "the database defaults apply")
		assert.NotEqual(t, want, query(t, ctx, conn, rowsum.SQL("a")), "without the settings the text differs")
		assert.Equal(t, want, digest(t, ctx, conn, "a"))
	})

	t.Run("session settings", func(t *testing.T) {
		conn := c.Connect(t, "postgres")
		for _, s := range odd {
			_, err := conn.Exec(ctx, "SET "+s)
			require.NoError(t, err)
		}
		assert.NotEqual(t, want, query(t, ctx, conn, rowsum.SQL("a")))
		assert.Equal(t, want, digest(t, ctx, conn, "a"))
	})

	t.Run("inside a transaction", func(t *testing.T) {
		conn := c.Connect(t, "other")
		_, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
		require.NoError(t, err)
		assert.Equal(t, want, digest(t, ctx, conn, "a"))
		_, err = conn.Exec(ctx, "COMMIT")
		require.NoError(t, err)
	})

	t.Run("psql", func(t *testing.T) {
		out, err := c.Psql(ctx, "other", "-v", "ON_ERROR_STOP=1", "-Atc", rowsum.Settings+"; "+rowsum.SQL("a"))
		require.NoError(t, err, out)
		assert.Equal(t, want+"\n", out, "psql -X -q -Atc prints only the digest line")
	})

	t.Run("pool", func(t *testing.T) {
		cfg, err := pgxpool.ParseConfig(c.URL("postgres"))
		require.NoError(t, err)
		cfg.MaxConns = 1
		cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
			for _, s := range odd {
				if _, err := conn.Exec(ctx, "SET "+s); err != nil {
					return err
				}
			}
			return nil
		}
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		require.NoError(t, err)
		t.Cleanup(pool.Close)
		assert.Equal(t, want, digest(t, ctx, pool, "a"))
		var out string
		require.NoError(t, pool.QueryRow(ctx, "SHOW bytea_output").Scan(&out))
		assert.Equal(t, "escape", out, "Of leaves a pooled connection's settings as they were")
	})
}
