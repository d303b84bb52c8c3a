package verify

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/replication"
	"github.com/ardent-cdc/ardent/internal/rowsum"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink/postgres"
)

// env is a connector streaming for real: a source and a destination
// database on one cluster, the destination copied from the source, and a
// replication.Streamer applying the slot into it.
type env struct {
	c        *pgtest.Cluster
	src, dst *pgx.Conn
	tables   []schema.Table
	stream   *replication.Streamer
	// srcCfg and dstCfg are the two databases, parsed once.
	srcCfg, dstCfg *pgx.ConnConfig
	stop           func()
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func startEnv(t *testing.T, opts pgtest.Options, setup func(t *testing.T, c *pgtest.Cluster)) *env {
	t.Helper()
	ctx := ctxFor(t, 5*time.Minute)
	c := pgtest.Start(t, opts)
	c.CreateDatabase(t, "src")
	c.CreateDatabase(t, "dst")
	setup(t, c)
	e := &env{c: c, src: c.Connect(t, "src"), dst: c.Connect(t, "dst"), srcCfg: mustConfig(t, c.URL("src")), dstCfg: mustConfig(t, c.URL("dst"))}
	for _, conn := range []*pgx.Conn{e.src, e.dst} {
		_, err := conn.Exec(ctx, rowsum.Settings)
		require.NoError(t, err)
	}
	var err error
	e.tables, err = schema.Discover(ctx, e.src, schema.Selection{Schemas: []string{"public"}})
	require.NoError(t, err)
	s, err := postgres.Open(ctx, c.URL("dst"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	require.NoError(t, s.Prepare(ctx, "test", e.tables))
	// The initial copy, as a snapshot would make it (nothing writes yet).
	for _, tbl := range e.tables {
		var buf bytes.Buffer
		_, err := e.src.PgConn().CopyTo(ctx, &buf, "COPY "+tbl.Ident()+" TO STDOUT")
		require.NoError(t, err)
		_, err = e.dst.PgConn().CopyFrom(ctx, &buf, "COPY "+tbl.Ident()+" FROM STDIN")
		require.NoError(t, err)
	}
	var lsn string
	require.NoError(t, e.src.QueryRow(ctx, "SELECT lsn::text FROM pg_create_logical_replication_slot('ardent_test', 'wal2json')").Scan(&lsn))
	l, err := pglogrepl.ParseLSN(lsn)
	require.NoError(t, err)
	require.NoError(t, s.ResetCheckpoint(ctx, "test", l))
	e.stream, err = replication.New(replication.Options{Source: mustConfig(t, c.URL("src")), Slot: "ardent_test", Connector: "test",
		Tables: e.tables, Sink: s, StatusInterval: 200 * time.Millisecond, HeartbeatInterval: time.Second})
	require.NoError(t, err)
	sctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.stream.Run(sctx) }()
	e.stop = func() { cancel(); <-done }
	t.Cleanup(e.stop)
	require.Eventually(t, func() bool { return e.stream.Stats().Connected }, time.Minute, 10*time.Millisecond)
	return e
}

func (e *env) options(only ...string) Options {
	return Options{Source: e.srcCfg, Destination: e.dstCfg, Connector: "test",
		Tables: e.tables, Only: only, ChunkRows: 100, HoldTimeout: 30 * time.Second}
}

func (e *env) verify(t *testing.T, only ...string) *Report {
	t.Helper()
	rep, err := Run(ctxFor(t, 2*time.Minute), e.options(only...))
	require.NoError(t, err)
	return rep
}

func exec1(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	_, err := conn.Exec(context.Background(), sql, args...)
	require.NoError(t, err, sql)
}

// slots counts the source's replication slots: verify leaves none behind.
func (e *env) slots(t *testing.T) int {
	var n int
	require.NoError(t, e.src.QueryRow(context.Background(), "SELECT count(*) FROM pg_replication_slots").Scan(&n))
	return n
}

// typesSetup is the type-test table keyed by k with 3003 rows (row k is a
// copy of row k mod 3), so a table has many key ranges; plus a keyless
// table.
func typesSetup(t *testing.T, c *pgtest.Cluster) {
	var cols []string
	for _, tc := range pgtest.TypeCases[1:] { // [0] is the key k
		cols = append(cols, tc.Name)
	}
	c.Exec(t, "src", pgtest.TypeCasesSQL("types")+
		"ALTER TABLE types ADD PRIMARY KEY (k);\n"+
		"INSERT INTO types SELECT k + 3 * g, "+strings.Join(cols, ", ")+" FROM types, generate_series(1, 1000) g;\n"+
		"CREATE TABLE notes (body text, n int); ALTER TABLE notes REPLICA IDENTITY FULL;\n"+
		"INSERT INTO notes SELECT 'note ' || g, g % 7 FROM generate_series(1, 500) g;\n"+
		"ANALYZE;")
}

// One byte changed in the destination, in any column of any type the type
// tests cover, is found: the table, the key range around it and the key.
// Rows missing or extra are named as such; a keyless table says how many
// rows differ.
func TestVerifyFindsEveryDifference(t *testing.T) {
	e := startEnv(t, pgtest.Options{}, typesSetup)
	ctx := ctxFor(t, 10*time.Minute)
	rep := e.verify(t)
	require.True(t, rep.Equal, "a faithful copy: %+v", rep)
	require.Len(t, rep.Tables, 2)
	assert.Equal(t, int64(3003), rep.Tables[1].SourceRows)
	assert.Greater(t, rep.Tables[1].Chunks, 10, "the table is chunked by key")
	assert.Equal(t, 1, e.slots(t), "the temporary slot is gone")

	const k = 1502 // a copy of row 2, in the middle of the table
	for _, tc := range pgtest.TypeCases[1:] {
		t.Run(tc.Name, func(t *testing.T) {
			var before *string
			require.NoError(t, e.dst.QueryRow(ctx, fmt.Sprintf("SELECT %s::text FROM types WHERE k = %d", tc.Name, k)).Scan(&before))
			var typ string
			require.NoError(t, e.dst.QueryRow(ctx, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'types'::regclass AND attname = $1", tc.Name).Scan(&typ))
			changed := tc.Changed
			if strings.Contains(typ, "text") && tc.Type == "mood" { // an enum is text in the destination
				changed += "::text"
			}
			exec1(t, e.dst, fmt.Sprintf("UPDATE types SET %s = (%s)::%s WHERE k = %d", tc.Name, changed, typ, k), tc.Args...)
			defer exec1(t, e.dst, fmt.Sprintf("UPDATE types SET %s = $1::text::%s WHERE k = %d", tc.Name, typ, k), before)

			rep := e.verify(t)
			require.False(t, rep.Equal)
			require.Equal(t, []string{"public.types"}, rep.Different())
			tr := rep.Tables[1]
			require.Len(t, tr.Ranges, 1, "%+v", tr)
			from, _ := strconv.Atoi(tr.Ranges[0].From)
			to, _ := strconv.Atoi(tr.Ranges[0].To)
			assert.True(t, from <= k && k < to, "key %d in range [%s, %s)", k, tr.Ranges[0].From, tr.Ranges[0].To)
			assert.Less(t, to-from, 1000, "the range is narrow")
			assert.Equal(t, []Difference{{Key: strconv.Itoa(k), Kind: KindChanged}}, tr.Examples)
		})
	}
	require.True(t, e.verify(t).Equal, "restored")

	t.Run("missing and extra rows", func(t *testing.T) {
		exec1(t, e.dst, "DELETE FROM types WHERE k = 10")
		exec1(t, e.dst, "UPDATE types SET k = 100000 WHERE k = 2000")
		rep := e.verify(t, "public.types")
		require.Len(t, rep.Tables, 1)
		tr := rep.Tables[0]
		assert.False(t, tr.Equal)
		assert.Equal(t, int64(3003), tr.SourceRows)
		assert.Equal(t, int64(3002), tr.DestinationRows)
		assert.Equal(t, []Difference{{Key: "10", Kind: KindMissing}, {Key: "100000", Kind: KindExtra}, {Key: "2000", Kind: KindMissing}}, tr.Examples)
		assert.Len(t, tr.Ranges, 3)
	})
	t.Run("keyless table", func(t *testing.T) {
		exec1(t, e.dst, "UPDATE notes SET body = 'note 7!' WHERE body = 'note 7'")
		rep := e.verify(t, "notes")
		tr := rep.Tables[0]
		assert.False(t, tr.Equal)
		assert.Empty(t, tr.Key)
		assert.Contains(t, tr.Note, "1 rows only in the source, 1 only in the destination")
	})
	t.Run("missing destination table", func(t *testing.T) {
		exec1(t, e.dst, "ALTER TABLE notes RENAME TO notes_gone")
		defer exec1(t, e.dst, "ALTER TABLE notes_gone RENAME TO notes")
		rep := e.verify(t, "public.notes")
		assert.True(t, rep.Tables[0].Missing)
		assert.False(t, rep.Equal)
	})
	t.Run("unknown table", func(t *testing.T) {
		_, err := Run(ctx, e.options("public.nope", "types"))
		var ute *UnknownTableError
		require.ErrorAs(t, err, &ute)
		assert.Equal(t, []string{"public.nope"}, ute.Names)
	})
	assert.Equal(t, 1, e.slots(t), "no slot left behind")
}

// A stream that is not running never reaches the verify point: verify says
// so within its timeout and leaves nothing behind on either side.
func TestVerifyNeedsARunningStream(t *testing.T) {
	e := startEnv(t, pgtest.Options{}, func(t *testing.T, c *pgtest.Cluster) {
		c.Exec(t, "src", "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 10)")
	})
	e.stop()
	o := e.options()
	o.HoldTimeout = 2 * time.Second
	o.Attempts = 1
	_, err := Run(ctxFor(t, time.Minute), o)
	require.ErrorIs(t, err, ErrApplyNotReached)
	assert.Equal(t, 1, e.slots(t))
	var holds int
	require.NoError(t, e.dst.QueryRow(context.Background(), "SELECT count(*) FROM _ardent.verify_hold").Scan(&holds))
	assert.Zero(t, holds, "the hold row is removed")
}

// With every slot in use, verify names max_replication_slots.
func TestVerifyWithoutAFreeSlot(t *testing.T) {
	e := startEnv(t, pgtest.Options{MaxReplicationSlots: 1}, func(t *testing.T, c *pgtest.Cluster) {
		c.Exec(t, "src", "CREATE TABLE t (id int PRIMARY KEY)")
	})
	_, err := Run(ctxFor(t, time.Minute), e.options())
	require.ErrorIs(t, err, ErrNoFreeSlot)
	assert.Contains(t, err.Error(), "max_replication_slots")
	var holds int
	require.NoError(t, e.dst.QueryRow(context.Background(), "SELECT count(*) FROM _ardent.verify_hold").Scan(&holds))
	assert.Zero(t, holds)
}

// Under a running pgbench load, ten verifications in a row all say equal:
// the two snapshots are at one LSN, not merely close.
func TestVerifyEqualUnderPgbench(t *testing.T) {
	var bin string
	e := startEnv(t, pgtest.Options{}, func(t *testing.T, c *pgtest.Cluster) {
		bin = filepath.Join(c.BinDir, "pgbench")
		out, err := exec.Command(bin, "-i", "-s", "1", "-h", c.Host, "-p", strconv.Itoa(c.Port), "-U", "postgres", "src").CombinedOutput()
		require.NoError(t, err, string(out))
		c.Exec(t, "src", "ALTER TABLE pgbench_history REPLICA IDENTITY FULL; ANALYZE")
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	load := exec.CommandContext(ctx, bin, "-n", "-h", e.c.Host, "-p", strconv.Itoa(e.c.Port), "-U", "postgres",
		"-c", "4", "-j", "2", "-T", "600", "-R", "400", "src")
	var out bytes.Buffer
	load.Stdout, load.Stderr = &out, &out
	require.NoError(t, load.Start())
	defer func() { cancel(); _ = load.Wait() }()
	time.Sleep(2 * time.Second) // the load is on
	runs := 10
	if v, err := strconv.Atoi(os.Getenv("ARDENT_VERIFY_RUNS")); err == nil && v > 0 {
		runs = v
	}
	for i := range runs {
		rep := e.verify(t)
		require.True(t, rep.Equal, "run %d: a false difference under load: %+v", i, rep.Tables)
		t.Logf("run %d: equal at %s (destination checkpoint %s), apply stall ≤ %s, %d tries, %s",
			i, rep.LSN, rep.DestinationLSN, rep.Stall, rep.Attempts, rep.FinishedAt.Sub(rep.StartedAt).Round(time.Millisecond))
		require.Less(t, rep.Stall, time.Second)
	}
	require.Nil(t, load.ProcessState, "pgbench ran throughout: %s", out.String())
	assert.Equal(t, 1, e.slots(t))
}

// mustConfig parses a test cluster's URL, as the activity boundary does.
func mustConfig(t testing.TB, url string) *pgx.ConnConfig {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	return cfg
}
