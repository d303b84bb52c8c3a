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

// column is one column of the test table: its values in rows k=1..3 and a
// new value for row k=2 that differs by one byte or one unit.
type column struct {
	name, typ string
	vals      [3]string // SQL literals
	changed   string    // SQL expression for row 2 in the copy
	args      []any     // parameters of changed
}

// columns has every type the destination must reproduce, and columns named
// t, s and r: the aliases the old helper and the digest query use.
var columns = []column{
	{"k", "bigint", [3]string{"1", "2", "3"}, "3", nil},
	{"t", "text", [3]string{"'alpha'", "'bravo'", "'charlie'"}, "'bravp'", nil},
	{"s", "int", [3]string{"41", "42", "NULL"}, "43", nil},
	{"r", "bytea", [3]string{`'\x00'`, `'\xdeadbeef'`, `'\x'`}, `'\xdeadbeee'`, nil},
	{"c_bigint", "bigint", [3]string{"9223372036854775807", "-5", "0"}, "-4", nil},
	{"c_int", "int", [3]string{"-2147483648", "0", "2147483647"}, "1", nil},
	{"c_smallint", "smallint", [3]string{"-1", "7", "32767"}, "8", nil},
	{"c_numeric", "numeric", [3]string{"0", "12345678901234567890.0001", "-0.5"}, "12345678901234567890.0002", nil},
	// Equal under =, printed differently: a copy that lost the scale is not the same data.
	{"c_numeric_scale", "numeric", [3]string{"2.5", "1.0", "NULL"}, "1.00", nil},
	{"c_real", "real", [3]string{"0.1", "1.5", "-3.25"}, "$1", []any{math.Nextafter32(1.5, 2)}},
	{"c_double", "double precision", [3]string{"0.1", "2.5", "-1e300"}, "$1", []any{math.Nextafter(2.5, 3)}},
	{"c_text", "text", [3]string{"'x'", "'quote\" comma, paren)'", "'é'"}, "'quote\" comma, paren('", nil},
	{"c_text_null", "text", [3]string{"'x'", "NULL", "''"}, "''", nil},
	{"c_varchar", "varchar(20)", [3]string{"'v1'", "'v2'", "'v3'"}, "'v9'", nil},
	{"c_char", "char(5)", [3]string{"'abcde'", "'fghij'", "'k'"}, "'fghik'", nil},
	{"c_bytea", "bytea", [3]string{`'\x00ff10'`, `'\x5c0a00'`, "NULL"}, `'\x5c0a01'`, nil},
	{"c_bool", "boolean", [3]string{"true", "false", "NULL"}, "true", nil},
	{"c_date", "date", [3]string{"'2024-02-29'", "'1999-12-31'", "'0044-03-15 BC'"}, "'1999-12-30'", nil},
	{"c_time", "time", [3]string{"'00:00'", "'12:34:56.789012'", "'23:59:59.999999'"}, "'12:34:56.789013'", nil},
	{"c_timetz", "timetz", [3]string{"'00:00+00'", "'12:34:56.5+05:30'", "'23:59-08'"}, "'12:34:56.5+05:31'", nil},
	{"c_timestamp", "timestamp", [3]string{"'2024-06-01 00:00'", "'2024-06-01 12:00:00.5'", "'infinity'"}, "'2024-06-01 12:00:00.500001'", nil},
	{"c_timestamptz", "timestamptz", [3]string{"'2024-06-01 00:00+00'", "'2024-06-01 12:00:00+02'", "'-infinity'"}, "'2024-06-01 12:00:00.000001+02'", nil},
	{"c_interval", "interval", [3]string{"'0'", "'1 year 2 mons 3 days 04:05:06.789'", "'-1 day'"}, "'1 year 2 mons 3 days 04:05:06.789001'", nil},
	{"c_uuid", "uuid", [3]string{"'00000000-0000-0000-0000-000000000000'", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "NULL"}, "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12'", nil},
	// Whitespace is part of a json value's text; a copy that reformats it is not the same data.
	{"c_json", "json", [3]string{`'{"a": [1, 2]}'`, `'{"b": "x"}'`, `'[]'`}, `'{"b":"x"}'`, nil},
	{"c_jsonb", "jsonb", [3]string{`'{"a": 1}'`, `'{"a": 2, "b": [true]}'`, `'null'`}, `'{"a": 3, "b": [true]}'`, nil},
	{"c_inet", "inet", [3]string{"'192.168.0.1/24'", "'::1'", "'10.0.0.1'"}, "'::2'", nil},
	{"c_cidr", "cidr", [3]string{"'10.0.0.0/8'", "'192.168.1.0/24'", "'::/0'"}, "'192.168.3.0/24'", nil},
	{"c_macaddr", "macaddr", [3]string{"'08:00:2b:01:02:03'", "'00:00:00:00:00:00'", "'ff:ff:ff:ff:ff:ff'"}, "'00:00:00:00:00:01'", nil},
	{"c_bit", "bit(8)", [3]string{"B'00000000'", "B'10101010'", "B'11111111'"}, "B'10101011'", nil},
	{"c_varbit", "varbit", [3]string{"B''", "B'101'", "B'1'"}, "B'100'", nil},
	{"c_int_arr", "int[]", [3]string{"'{}'", "'{1,2,3}'", "'{NULL}'"}, "'{1,2,4}'", nil},
	{"c_text_arr", "text[]", [3]string{"'{a}'", `'{"a b",NULL,"c,d"}'`, "NULL"}, `'{"a c",NULL,"c,d"}'`, nil},
	{"c_bytea_arr", "bytea[]", [3]string{`ARRAY['\x01'::bytea]`, `ARRAY['\x01'::bytea, '\x02']`, "'{}'"}, `ARRAY['\x01'::bytea, '\x03']`, nil},
	{"c_point", "point", [3]string{"'(0,0)'", "'(1.5,2.5)'", "'(-1,1e10)'"}, "'(1.5,3.5)'", nil},
	{"c_enum", "mood", [3]string{"'sad'", "'ok'", "'happy'"}, "'happy'", nil},
	{"c_domain", "blob", [3]string{`'\xcafe'`, `'\xcafe'`, "NULL"}, `'\xcaff'`, nil},
	{"c_tsvector", "tsvector", [3]string{"'a fat cat'", "'sat on a mat'", "''"}, "'sat on a map'", nil},
	{"c_money", "money", [3]string{"0", "12.34", "-1000000"}, "12.35", nil},
}

// setupSQL creates the types and table a with three rows.
func setupSQL() string {
	var defs []string
	for _, c := range columns {
		defs = append(defs, c.name+" "+c.typ)
	}
	var rows []string
	for i := range 3 {
		var vals []string
		for _, c := range columns {
			vals = append(vals, c.vals[i])
		}
		rows = append(rows, "("+strings.Join(vals, ", ")+")")
	}
	return "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');\n" +
		"CREATE DOMAIN blob AS bytea;\n" +
		"CREATE TABLE a (" + strings.Join(defs, ", ") + ");\n" +
		"INSERT INTO a VALUES " + strings.Join(rows, ",\n") + ";\n"
}

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
	c.Exec(t, "postgres", setupSQL()+"CREATE TABLE b (LIKE a); INSERT INTO b SELECT * FROM a;")
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

	for _, col := range columns {
		t.Run(col.name, func(t *testing.T) {
			restore(t)
			require.Equal(t, want, digest(t, ctx, conn, "b"))
			var before, after *string
			require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf("SELECT %s::text FROM a WHERE k = 2", col.name)).Scan(&before))
			require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf("UPDATE b SET %s = %s WHERE k = 2 RETURNING %[1]s::text", col.name, col.changed), col.args...).Scan(&after))
			require.NotEqual(t, show(before), show(after), "the change must be real")
			got := digest(t, ctx, conn, "b")
			assert.NotEqual(t, want, got, "%s %s: %s -> %s not detected", col.name, col.typ, show(before), show(after))
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
	c.Exec(t, "postgres", setupSQL())
	c.CreateDatabase(t, "other")
	for _, s := range odd {
		c.Exec(t, "postgres", "ALTER DATABASE other SET "+s)
	}
	c.Exec(t, "other", setupSQL())
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
