package postgres

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
)

// The verify hold: the applier stops after its last transaction committing
// at or before the hold's LSN, waits while the verifier holds the lock, and
// never waits for a hold it cannot serve exactly.
func TestApplyHoldsForVerifier(t *testing.T) {
	ctx := context.Background()
	events := schema.Table{Schema: "public", Name: "events", KeyColumns: []string{"step"},
		Columns: []schema.Column{{Name: "step", Type: "integer", NotNull: true, Key: true}}}
	tx := func(lsn int, part int) sink.Tx {
		return sink.Tx{CommitLSN: pglogrepl.LSN(lsn), Part: part, Changes: []sink.Change{
			{Op: sink.OpInsert, Schema: "public", Table: "events", Columns: []sink.Value{val("step", strconv.Itoa(lsn*10+part))}}}}
	}
	type write struct {
		batch      sink.Batch
		afterHold  bool // written after the hold is set
		expectWait bool // this write waits for the verifier
	}
	cases := []struct {
		name   string
		hold   pglogrepl.LSN
		writes []write
		// what the verifier's snapshot must show while the apply waits
		seenLSN  pglogrepl.LSN
		seenRows int
	}{
		{name: "batch split at the hold", hold: 102, writes: []write{
			{batch: sink.Batch{Txs: []sink.Tx{tx(101, 0), tx(102, 0), tx(103, 0)}}, afterHold: true, expectWait: true},
		}, seenLSN: 102, seenRows: 2},
		{name: "first transaction after the hold", hold: 100, writes: []write{
			{batch: sink.Batch{Txs: []sink.Tx{tx(101, 0)}}, afterHold: true, expectWait: true},
		}, seenLSN: 100, seenRows: 0},
		{name: "split transaction begun before the hold", hold: 103, writes: []write{
			{batch: sink.Batch{Txs: []sink.Tx{tx(101, 0)}}},
			{batch: sink.Batch{Txs: []sink.Tx{tx(105, 0)}, Continued: true}},
			{batch: sink.Batch{Txs: []sink.Tx{tx(105, 1)}}, afterHold: true, expectWait: true},
		}, seenLSN: 101, seenRows: 1},
		{name: "apply already past the hold", hold: 101, writes: []write{
			{batch: sink.Batch{Txs: []sink.Tx{tx(102, 0)}}},
			{batch: sink.Batch{Txs: []sink.Tx{tx(103, 0)}}, afterHold: true},
		}},
		{name: "open transaction straddles the hold", hold: 104, writes: []write{
			{batch: sink.Batch{Txs: []sink.Tx{tx(103, 0), tx(106, 0)}, Continued: true}},
			{batch: sink.Batch{Txs: []sink.Tx{tx(106, 1)}}, afterHold: true},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, c := newSink(t)
			require.NoError(t, s.Prepare(ctx, "c", []schema.Table{events}))
			require.NoError(t, s.ResetCheckpoint(ctx, "c", 100))
			verifier := c.Connect(t, "postgres")
			k1, k2 := HoldLockKeys("c")
			_, err := verifier.Exec(ctx, "SELECT pg_advisory_lock($1, $2)", k1, k2)
			require.NoError(t, err)
			holdSet := false
			for _, w := range tc.writes {
				if w.afterHold && !holdSet {
					_, err := verifier.Exec(ctx, "INSERT INTO _ardent.verify_hold (connector, lsn, id) VALUES ('c', $1::pg_lsn, 'v1')", tc.hold.String())
					require.NoError(t, err)
					holdSet = true
				}
				done := make(chan error, 1)
				go func() { _, err := s.Write(ctx, "c", w.batch); done <- err }()
				if !w.expectWait {
					select {
					case err := <-done:
						require.NoError(t, err)
					case <-time.After(5 * time.Second):
						t.Fatal("the apply waited for a hold it cannot serve")
					}
					continue
				}
				require.EventuallyWithT(t, func(c *assert.CollectT) { assert.True(c, waiting(c, verifier, k1, k2)) }, 5*time.Second, 5*time.Millisecond,
					"the apply never waited for the verifier")
				// The verifier's snapshot, taken now, is the state at the hold.
				var lsn string
				var rows int
				snap, err := verifier.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
				require.NoError(t, err)
				require.NoError(t, snap.QueryRow(ctx, "SELECT (SELECT lsn::text FROM _ardent.applied_lsn WHERE connector = 'c'), (SELECT count(*) FROM events)").Scan(&lsn, &rows))
				require.NoError(t, snap.Rollback(ctx))
				assert.Equal(t, tc.seenLSN.String(), lsn)
				assert.Equal(t, tc.seenRows, rows)
				select {
				case <-done:
					t.Fatal("the apply went on while the verifier held it")
				default:
				}
				_, err = verifier.Exec(ctx, "SELECT pg_advisory_unlock($1, $2)", k1, k2)
				require.NoError(t, err)
				require.NoError(t, <-done)
			}
			// Everything is applied in the end, each once.
			var rows int
			require.NoError(t, verifier.QueryRow(ctx, "SELECT count(*) FROM events").Scan(&rows))
			n := 0
			for _, w := range tc.writes {
				n += len(w.batch.Txs)
			}
			assert.Equal(t, n, rows)
		})
	}
}

// waiting reports whether a session waits for the hold lock. It runs in an
// EventuallyWithT condition, on a goroutine of its own: it reports through
// the condition's CollectT, not the test's t.
func waiting(t require.TestingT, conn *pgx.Conn, k1, k2 int32) bool {
	var n int
	err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
		AND classid = $1::bigint::oid AND objid = ($2::bigint & 4294967295)::oid AND objsubid = 2`, k1, k2).Scan(&n)
	require.NoError(t, err)
	return n > 0
}
