package replication

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/sink"
)

const byteaSchema = `
CREATE DOMAIN bdom AS bytea;
CREATE TABLE bin (id int PRIMARY KEY, b bytea, ba bytea[], bd bdom);
CREATE TABLE bin_full (b bytea, n int);
ALTER TABLE bin_full REPLICA IDENTITY FULL;
CREATE TABLE bin_full_pk (id int PRIMARY KEY, b bytea);
ALTER TABLE bin_full_pk REPLICA IDENTITY FULL;
`

// wal2json prints a scalar bytea as bare hex (design note 4.9); read as
// escape format it lands as the ASCII of the hex digits, and on FULL tables
// the old row then matches nothing, so updates and deletes vanish.
func TestStreamBytea(t *testing.T) {
	e := newEnv(t, byteaSchema)
	s, _ := e.start(t, e.options())
	for _, sql := range []string{
		`INSERT INTO bin VALUES (1, '\x00ff10', ARRAY['\x00'::bytea, '\xdeadbeef', NULL], '\x0102'), (2, '', '{}', ''), (3, NULL, NULL, NULL)`,
		`UPDATE bin SET b = '\x5c78' WHERE id = 2`, // the bytes of "\x" itself
		`INSERT INTO bin_full VALUES ('\x00ff10', 1), ('\x00ff10', 1), ('\xabcd', 2), (NULL, 3)`,
		`UPDATE bin_full SET n = 10 WHERE ctid = (SELECT ctid FROM bin_full WHERE n = 1 LIMIT 1)`,
		`UPDATE bin_full SET b = '\x01' WHERE n = 2`,
		`DELETE FROM bin_full WHERE n = 10`,
		`INSERT INTO bin_full_pk VALUES (1, '\x00'), (2, '\xff')`,
		`UPDATE bin_full_pk SET b = '\x0000' WHERE id = 1`,
		`DELETE FROM bin_full_pk WHERE id = 2`,
	} {
		e.exec(t, sql)
	}
	e.waitCaughtUp(t, s, 30*time.Second)
	e.requireSame(t)
	var hex string
	require.NoError(t, e.dst.QueryRow(context.Background(), `SELECT encode(b, 'hex') || '/' || encode(bd, 'hex') FROM bin WHERE id = 1`).Scan(&hex))
	assert.Equal(t, "00ff10/0102", hex)
	var n int
	require.NoError(t, e.dst.QueryRow(context.Background(), `SELECT count(*) FROM bin_full`).Scan(&n))
	assert.Equal(t, 3, n, "the FULL-identity delete matched its row")
}

// wal2json prints values with the walsender session's settings, which come
// from the source's postgresql.conf unless the stream fixes them.
func TestStreamIgnoresSourceOutputSettings(t *testing.T) {
	e := newEnvWith(t, pgtest.Options{ExtraConf: []string{
		`DateStyle = 'SQL, DMY'`, `IntervalStyle = 'sql_standard'`, `extra_float_digits = 0`,
		`bytea_output = 'escape'`, `TimeZone = 'Pacific/Chatham'`,
	}}, `CREATE TABLE vals (id int PRIMARY KEY, d date, ts timestamp, tz timestamptz, iv interval, f8 float8, f4 real, b bytea, ba bytea[])`)
	s, _ := e.start(t, e.options())
	e.exec(t, `INSERT INTO vals VALUES
		(1, '2024-02-03', '2024-02-03 04:05:06.789', '2024-02-03 04:05:06.789+00', '1 year 2 mons -3 days 04:05:06.5', 0.1, 0.1, '\x00ff10', ARRAY['\x0a'::bytea]),
		(2, '2024-12-31', '2024-12-31 23:59:59', '2024-12-31 23:59:59+05', '-1 day', 1.0000000000000002, 3.4028235e38, '\x5c', NULL)`)
	e.exec(t, `UPDATE vals SET f8 = f8 * 3 WHERE id = 1`)
	e.waitCaughtUp(t, s, 30*time.Second)
	e.requireSame(t)
	var got string
	require.NoError(t, e.dst.QueryRow(context.Background(),
		`SELECT d::text || '|' || iv::text || '|' || f8::text FROM vals WHERE id = 1`).Scan(&got))
	assert.Equal(t, "2024-02-03|1 year 2 mons -3 days +04:05:06.5|0.30000000000000004", got)
}

// A source column widened after onboarding (the destination not yet) must
// stop the stream with an error naming the table and column: an explicit
// cast to the destination's typmod would truncate or round silently
// (design note 4.11). Once the destination is widened, the row arrives
// whole.
// TestStreamNeverTruncatesOrRounds: a value that does not fit the
// destination column's typmod stops the stream; it is never stored cut or
// rounded.
func TestStreamNeverTruncatesOrRounds(t *testing.T) {
	tests := []struct {
		name, typ, wider, value string
	}{
		{"varchar", "varchar(5)", "varchar(40)", "'abcdefghij'"},
		{"varchar_spaces", "varchar(5)", "varchar(40)", "'abc      '"},
		{"char", "char(3)", "char(10)", "'abcdef'"},
		{"numeric_scale", "numeric(8,2)", "numeric(12,4)", "1.2345"},
		{"numeric_precision", "numeric(4,1)", "numeric(12,1)", "12345.5"},
		{"timestamp", "timestamp(0)", "timestamp(6)", "'2024-01-01 00:00:00.75'"},
		{"timestamptz", "timestamptz(1)", "timestamptz(6)", "'2024-01-01 00:00:00.123+00'"},
		{"interval", "interval(0)", "interval(6)", "'1 second 500 milliseconds'"},
		{"time", "time(2)", "time(6)", "'10:00:00.123456'"},
		{"bit", "bit(4)", "bit(8)", "B'10101010'"},
		{"varbit", "varbit(4)", "varbit(8)", "B'10101'"},
		{"numeric_array", "numeric(6,2)[]", "numeric(10,4)[]", "ARRAY[1.2345]"},
		{"varchar_array", "varchar(2)[]", "varchar(9)[]", "ARRAY['abcdef']"},
	}
	var setup strings.Builder
	for _, tt := range tests {
		setup.WriteString("CREATE TABLE w_" + tt.name + " (id int PRIMARY KEY, v " + tt.typ + ");\n")
	}
	e := newEnv(t, setup.String())
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := "w_" + tt.name
			e.exec(t, "INSERT INTO "+tbl+" VALUES (1, NULL)") // fits: applied
			e.exec(t, "ALTER TABLE "+tbl+" ALTER COLUMN v TYPE "+tt.wider)
			e.exec(t, "INSERT INTO "+tbl+" VALUES (2, "+tt.value+")")
			e.exec(t, "UPDATE "+tbl+" SET v = "+tt.value+" WHERE id = 1")
			// Without shape tracking (a destination changed by hand, a
			// stream that cannot see the DDL) the value guard still refuses.
			o := e.options()
			o.WithoutShapes = true
			s, err := New(o)
			require.NoError(t, err)
			rctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			err = s.Run(rctx)
			require.Error(t, err)
			require.NoError(t, rctx.Err(), "the stream must stop with an error, not retry")
			var ae *sink.ApplyError
			require.True(t, errors.As(err, &ae), "an ApplyError naming the table: %v", err)
			assert.Equal(t, tbl, ae.Table)
			var pe *pgconn.PgError
			if errors.As(err, &pe) {
				assert.Contains(t, []string{"22001", "22003", "22026"}, pe.Code, "%v", err)
			}
			var n int
			require.NoError(t, e.dst.QueryRow(ctx, "SELECT count(*) FROM "+tbl+" WHERE v IS NOT NULL").Scan(&n))
			assert.Zero(t, n, "nothing truncated or rounded was stored")

			// The remedy: widen the destination; the stream then catches up exactly.
			_, err = e.dst.Exec(ctx, "ALTER TABLE "+tbl+" ALTER COLUMN v TYPE "+tt.wider)
			require.NoError(t, err)
			s2, stop := e.start(t, e.options())
			e.waitCaughtUp(t, s2, 30*time.Second)
			require.ErrorIs(t, stop(), context.Canceled)
			e.requireSame(t)
		})
	}
}

// A destination restored from a backup is behind what the slot already
// confirmed: the changes between are gone from the source, and resuming
// at the slot would skip them without a word.
func TestStreamRefusesDestinationBehindSlot(t *testing.T) {
	e := newEnv(t, `CREATE TABLE r (id int PRIMARY KEY)`)
	ctx := context.Background()
	before, err := e.sink.DurableLSN(ctx, "test")
	require.NoError(t, err)
	s, stop := e.start(t, e.options())
	e.exec(t, `INSERT INTO r SELECT generate_series(1, 10)`)
	e.waitCaughtUp(t, s, 30*time.Second)
	require.ErrorIs(t, stop(), context.Canceled)
	// The restore: rows and checkpoint as they were before.
	_, err = e.dst.Exec(ctx, `TRUNCATE r; UPDATE _ardent.applied_lsn SET lsn = '`+before.String()+`' WHERE connector = 'test'`)
	require.NoError(t, err)
	s2, err := New(e.options())
	require.NoError(t, err)
	rctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	err = s2.Run(rctx)
	require.ErrorIs(t, err, ErrDestinationBehind)
	assert.False(t, Transient(err))
}

// While the destination is blocked and the in-flight budget is full, the
// receiver must keep answering the walsender, or wal_sender_timeout ends
// the stream and a large transaction restarts from its beginning.
func TestStreamKeepsAnsweringWhileDestinationBlocked(t *testing.T) {
	e := newEnvWith(t, pgtest.Options{ExtraConf: []string{"wal_sender_timeout = '2s'"}},
		`CREATE TABLE blocked (id int PRIMARY KEY, pad text)`)
	ctx := context.Background()
	o := e.options()
	o.ChunkBytes = 64 << 10
	o.MaxInflightBytes = 128 << 10
	o.ChunkChanges = 500
	s, _ := e.start(t, o)
	require.Eventually(t, func() bool { return s.Stats().Connected }, 30*time.Second, 10*time.Millisecond)

	lock, err := e.dst.Begin(ctx)
	require.NoError(t, err)
	_, err = lock.Exec(ctx, "LOCK TABLE blocked IN ACCESS EXCLUSIVE MODE")
	require.NoError(t, err)
	e.exec(t, `INSERT INTO blocked SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 20000) g`)
	time.Sleep(8 * time.Second) // four times wal_sender_timeout
	require.NoError(t, lock.Rollback(ctx))

	e.waitCaughtUp(t, s, time.Minute)
	e.requireSame(t)
	assert.Zero(t, s.Stats().Reconnects, "the walsender timed out the stream: %s", s.Stats().LastError)
}

// TestStreamFollowsWidening: with shape tracking, a source column widened
// mid-stream is widened in the destination in the same transaction as the
// first change of the new type, and the values arrive exact; a change that
// is no widening stops the table instead (here: no table states, so the
// stream).
func TestStreamFollowsWidening(t *testing.T) {
	tests := []struct {
		name, typ, wider, value, want string
	}{
		{"varchar", "varchar(5)", "varchar(40)", "'abcdefghij'", "character varying(40)"},
		{"varchar_text", "varchar(5)", "text", "'abcdefghij'", "text"},
		{"char", "char(3)", "char(10)", "'abcdef'", "character(10)"},
		{"numeric_scale", "numeric(8,2)", "numeric(12,4)", "1.2345", "numeric(12,4)"},
		{"int_bigint", "int", "bigint", "9000000000", "bigint"},
		{"timestamp", "timestamp(0)", "timestamp(6)", "'2024-01-01 00:00:00.75'", "timestamp(6) without time zone"},
		{"numeric_array", "numeric(6,2)[]", "numeric(10,4)[]", "ARRAY[1.2345]", "numeric(10,4)[]"},
		{"narrowing", "varchar(40)", "varchar(5)", "'abc'", ""},
		{"bit", "bit(4)", "bit(8)", "B'10101010'", ""},
	}
	var setup strings.Builder
	for _, tt := range tests {
		setup.WriteString("CREATE TABLE f_" + tt.name + " (id int PRIMARY KEY, v " + tt.typ + ");\n")
	}
	e := newEnv(t, setup.String())
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl := "f_" + tt.name
			e.exec(t, "INSERT INTO "+tbl+" VALUES (1, NULL)")
			e.exec(t, "ALTER TABLE "+tbl+" ALTER COLUMN v TYPE "+tt.wider)
			e.exec(t, "INSERT INTO "+tbl+" VALUES (2, "+tt.value+")")
			e.exec(t, "UPDATE "+tbl+" SET v = "+tt.value+" WHERE id = 1")
			if tt.want == "" {
				s, err := New(e.options())
				require.NoError(t, err)
				rctx, cancel := context.WithTimeout(ctx, time.Minute)
				defer cancel()
				err = s.Run(rctx)
				require.Error(t, err)
				require.NoError(t, rctx.Err(), "the stream must stop with an error, not retry")
				assert.Contains(t, err.Error(), "changed type from", "the error names the change")
				// Leave the source as the destination is, for the next case.
				_, err = e.dst.Exec(ctx, "ALTER TABLE "+tbl+" ALTER COLUMN v TYPE "+tt.wider+" USING NULL")
				require.NoError(t, err)
				_, err = e.dst.Exec(ctx, "INSERT INTO "+tbl+" SELECT 1, NULL WHERE NOT EXISTS (SELECT 1 FROM "+tbl+" WHERE id = 1)")
				require.NoError(t, err)
				e.exec(t, "TRUNCATE "+tbl)
				_, err = e.dst.Exec(ctx, "TRUNCATE "+tbl)
				require.NoError(t, err)
				_, err = e.dst.Exec(ctx, "UPDATE _ardent.source_shape SET shape = jsonb_set(shape, '{columns,1,type}', to_jsonb(format_type(atttypid, atttypmod)))"+
					" FROM pg_attribute WHERE attrelid = '"+tbl+"'::regclass AND attname = 'v' AND table_name = '"+tbl+"'")
				require.NoError(t, err)
				s2, stop := e.start(t, e.options())
				e.waitCaughtUp(t, s2, 30*time.Second)
				require.ErrorIs(t, stop(), context.Canceled)
				return
			}
			s, stop := e.start(t, e.options())
			e.waitCaughtUp(t, s, 30*time.Second)
			require.ErrorIs(t, stop(), context.Canceled)
			e.requireSame(t)
			var got string
			require.NoError(t, e.dst.QueryRow(ctx, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'v'", tbl).Scan(&got))
			assert.Equal(t, tt.want, got)
			var stmt string
			require.NoError(t, e.dst.QueryRow(ctx, "SELECT statement FROM _ardent.schema_history WHERE table_name = $1 ORDER BY id DESC LIMIT 1", tbl).Scan(&stmt))
			assert.Contains(t, stmt, "ALTER COLUMN \"v\" TYPE "+tt.want, "the history records the statement")
		})
	}
}
