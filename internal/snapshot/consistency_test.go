package snapshot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/source"
)

// startWriters runs n goroutines committing writerSQL in a loop until the
// returned stop function is called; stop returns the commit count.
func startWriters(t *testing.T, e *env, n int) (stop func() int64) {
	t.Helper()
	// Writers stop between transactions, never by cancelling one: a
	// cancelled client can leave its backend committing after the test
	// has moved on.
	ctx := testCtx(t)
	var stopping atomic.Bool
	var wg sync.WaitGroup
	var commits atomic.Int64
	errs := make(chan error, n)
	for range n {
		conn := e.c.Connect(t, "src")
		wg.Go(func() {
			for !stopping.Load() {
				if _, err := conn.PgConn().Exec(ctx, writerSQL).ReadAll(); err != nil {
					errs <- err
					return
				}
				commits.Add(1)
			}
		})
	}
	require.Eventually(t, func() bool { return commits.Load() > 20 }, 30*time.Second, 10*time.Millisecond)
	return func() int64 {
		stopping.Store(true)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err, "writer")
		}
		return commits.Load()
	}
}

// TestSnapshotConsistentUnderWrites takes slot and snapshot while writers
// are busy, copies with 4 workers and tiny CTID chunks, and proves:
// destination == source as of the snapshot, table by table; and the
// changes the slot delivers after its consistent point are exactly the
// rest: replaying them onto the copy never re-inserts a copied row, never
// misses a row to update or delete, and ends equal to the source.
func TestSnapshotConsistentUnderWrites(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	e.c.Exec(t, "src", fixtureSQL())
	tables := e.discover(t, "public", "MixedCase")
	require.Len(t, tables, 8, "types_bin, types_text, wide, empty, quoted, busy, parted_lo, parted_hi")

	stopWriters := startWriters(t, e, 2)
	writersStopped := false
	defer func() {
		if !writersStopped {
			stopWriters()
		}
	}()

	repl := e.replConn(t)
	slot, err := CreateSlotWithSnapshot(ctx, repl, "ardent_test")
	require.NoError(t, err)
	require.NotZero(t, slot.ConsistentLSN)
	src := e.c.Connect(t, "src")
	t.Cleanup(func() { _, _ = source.DropSlot(context.Background(), src, slot.Name, source.TerminateAny) })
	atSnapshot := snapshotConn(t, ctx, e, slot.SnapshotName)

	var reports []Progress
	res, err := Copy(ctx, Options{
		Source: e.srcCfg, Tables: tables, Copier: e.sink, SnapshotName: slot.SnapshotName,
		Slot: slot.Name, Parallelism: 4, ChunkPages: 8,
		Progress: func(p Progress) { reports = append(reports, p) }, ProgressInterval: 5 * time.Millisecond,
	})
	require.NoError(t, err)
	assert.Equal(t, 4, res.Parallelism)
	assert.Greater(t, res.Chunks, 40, "small CTID chunks")

	formats := map[string]string{}
	for _, tr := range res.Tables {
		formats[tr.Name] = tr.Format
	}
	assert.Equal(t, "binary", formats["types_bin"], "enums and domains over built-ins stay binary")
	assert.Equal(t, "text", formats["types_text"], "an enum array forces text")

	dst := e.c.Connect(t, "dst")
	var total int64
	for _, tb := range tables {
		want := checksum(t, ctx, atSnapshot, tb.Ident())
		got := checksum(t, ctx, dst, tb.Ident())
		assert.Equal(t, want, got, "table %s", tb.FullName())
		total += want.Rows
	}
	assert.Equal(t, total, res.Rows)
	assert.Equal(t, int64(0), checksum(t, ctx, dst, `public.empty`).Rows)
	assert.Equal(t, int64(41), checksum(t, ctx, dst, `public.wide`).Rows)

	require.NotEmpty(t, reports)
	last := reports[len(reports)-1]
	assert.True(t, last.Done)
	assert.Equal(t, res.Rows, last.Rows)
	assert.Equal(t, 1.0, last.Fraction)
	for i := 1; i < len(reports); i++ {
		assert.GreaterOrEqual(t, reports[i].Bytes, reports[i-1].Bytes, "bytes only grow")
	}

	// Keep writing a little after the copy, then stop and replay.
	commitsAtCopy := stopWriters
	writersStopped = true
	commits := commitsAtCopy()
	t.Logf("writers committed %d transactions; copy: %d rows, %d chunks, %s", commits, res.Rows, res.Chunks, res.Duration)
	_, err = atSnapshot.Exec(ctx, "COMMIT")
	require.NoError(t, err)

	replayed := replayChanges(t, ctx, src, dst, slot.Name)
	assert.Positive(t, replayed[byte('I')], "writers inserted after the snapshot")
	assert.Positive(t, replayed[byte('U')]+replayed[byte('D')], "writers changed snapshot rows")
	for _, name := range []string{"public.busy", "public.parted_lo", "public.parted_hi"} {
		if !assert.Equal(t, checksum(t, ctx, src, name), checksum(t, ctx, dst, name), "snapshot + changes == source for %s", name) {
			diffIDs(t, ctx, src, dst, name)
		}
	}
}

type w2jChange struct {
	Action   string            `json:"action"`
	Schema   string            `json:"schema"`
	Table    string            `json:"table"`
	Columns  []json.RawMessage `json:"columns"`
	Identity []json.RawMessage `json:"identity"`
}

// values decodes wal2json columns into name -> text (nil for NULL).
func values(t *testing.T, raw []json.RawMessage) map[string]*string {
	t.Helper()
	out := map[string]*string{}
	for _, r := range raw {
		var c struct {
			Name  string `json:"name"`
			Value any    `json:"value"`
		}
		d := json.NewDecoder(strings.NewReader(string(r)))
		d.UseNumber()
		require.NoError(t, d.Decode(&c))
		if c.Value == nil {
			out[c.Name] = nil
			continue
		}
		s := fmt.Sprint(c.Value)
		out[c.Name] = &s
	}
	return out
}

// replayChanges applies the slot's changes (id, v, note tables only) to the
// destination, failing on any overlap (an insert of a copied row) or gap
// (an update or delete of a row the copy lacks). It returns counts by action.
func replayChanges(t *testing.T, ctx context.Context, src, dst *pgx.Conn, slot string) map[byte]int {
	t.Helper()
	// The test clusters run with synchronous_commit = off and decoding reads
	// only flushed WAL: one synchronous commit that wrote WAL flushes every
	// earlier one (a transaction that wrote nothing commits asynchronously).
	_, err := src.PgConn().Exec(ctx, `SET synchronous_commit = on;
		BEGIN; SELECT pg_logical_emit_message(true, 'ardent-test', 'flush'); COMMIT`).ReadAll()
	require.NoError(t, err)
	rows, err := src.Query(ctx, `SELECT data FROM pg_logical_slot_peek_changes($1, NULL, NULL,
		'format-version', '2', 'add-tables', 'public.busy,public.parted_lo,public.parted_hi')`, slot)
	require.NoError(t, err)
	var changes []w2jChange
	for rows.Next() {
		var data string
		require.NoError(t, rows.Scan(&data))
		var c w2jChange
		require.NoError(t, json.Unmarshal([]byte(data), &c))
		if c.Action == "I" || c.Action == "U" || c.Action == "D" {
			changes = append(changes, c)
		}
	}
	require.NoError(t, rows.Err())
	counts := map[byte]int{}
	for _, c := range changes {
		ident := schema.Table{Schema: c.Schema, Name: c.Table}.Ident()
		switch c.Action {
		case "I":
			v := values(t, c.Columns)
			_, err := dst.Exec(ctx, "INSERT INTO "+ident+" (id, v, note) VALUES ($1::text::bigint, $2::text::int, $3)", v["id"], v["v"], v["note"])
			require.NoError(t, err, "insert of id %s after the consistent point overlaps the snapshot", *v["id"])
		case "U":
			v, old := values(t, c.Columns), values(t, c.Identity)
			tag, err := dst.Exec(ctx, "UPDATE "+ident+" SET v = $2::text::int, note = $3 WHERE id = $1::text::bigint", old["id"], v["v"], v["note"])
			require.NoError(t, err)
			require.Equal(t, int64(1), tag.RowsAffected(), "update of id %s: row missing from the snapshot", *old["id"])
		case "D":
			old := values(t, c.Identity)
			tag, err := dst.Exec(ctx, "DELETE FROM "+ident+" WHERE id = $1::text::bigint", old["id"])
			require.NoError(t, err)
			require.Equal(t, int64(1), tag.RowsAffected(), "delete of id %s: row missing from the snapshot", *old["id"])
		}
		counts[c.Action[0]]++
	}
	t.Logf("replayed %d inserts, %d updates, %d deletes", counts['I'], counts['U'], counts['D'])
	return counts
}

// diffIDs logs the rows that differ, to make a failure readable.
func diffIDs(t *testing.T, ctx context.Context, src, dst *pgx.Conn, name string) {
	t.Helper()
	rowsOf := func(c *pgx.Conn) map[int64]string {
		out := map[int64]string{}
		rows, err := c.Query(ctx, "SELECT id, t::text FROM "+name+" t")
		require.NoError(t, err)
		var id int64
		var s string
		_, err = pgx.ForEachRow(rows, []any{&id, &s}, func() error { out[id] = s; return nil })
		require.NoError(t, err)
		return out
	}
	a, b := rowsOf(src), rowsOf(dst)
	for id, s := range b {
		if a[id] != s {
			t.Logf("%s id %d: source %q destination %q", name, id, a[id], s)
		}
	}
	for id, s := range a {
		if _, ok := b[id]; !ok {
			t.Logf("%s id %d: source %q destination missing", name, id, s)
		}
	}
}
