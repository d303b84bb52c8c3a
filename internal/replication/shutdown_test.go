package replication

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/sink/postgres"
)

// TestSourceFastShutdownIsNotHeldUp: at shutdown a logical walsender exits
// only once the client has confirmed, as flushed, all it sent (the write
// position counts only when a client reports no flush position; ours always
// does), and what it sends last is WAL that decodes to nothing: checkpoints,
// standby snapshots, the shutdown checkpoint. The stream must confirm such a
// position although no transaction ends there, or a fast shutdown of the
// source waits for it until pg_ctl gives up.
//
// Nothing decodable may follow the INSERT. A transaction at the end of the
// WAL hides the wait: a session's temporary table (waitCaughtUp's) is
// dropped when the shutdown ends the session, and that is how this test
// once passed whatever the stream confirmed.
func TestSourceFastShutdownIsNotHeldUp(t *testing.T) {
	src := pgtest.Start(t, pgtest.Options{})
	dst := pgtest.Start(t, pgtest.Options{})
	src.CreateDatabase(t, "src")
	dst.CreateDatabase(t, "dst")
	src.Exec(t, "src", `CREATE TABLE s (id int PRIMARY KEY, v text)`)
	e := &env{c: src, src: src.Connect(t, "src"), dst: dst.Connect(t, "dst"), slot: "ardent_test", srcCfg: connConfig(t, src.URL("src"))}
	e.exec(t, "SELECT pg_create_logical_replication_slot('ardent_test', 'wal2json')")
	e.tables = discover(t, e.src)
	ctx := context.Background()
	sk, err := postgres.Open(ctx, dst.URL("dst"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sk.Close(context.Background()) })
	require.NoError(t, sk.Prepare(ctx, "test", e.tables))
	e.sink = sk

	currentLSN := func() pglogrepl.LSN {
		var lsn pglogrepl.LSN
		require.NoError(t, e.src.QueryRow(ctx, "SELECT pg_current_wal_lsn()").Scan(&lsn))
		return lsn
	}

	o := e.options()
	o.HeartbeatInterval = time.Hour // no heartbeat messages: nothing decodable after the INSERT
	s, _ := e.start(t, o)
	t.Cleanup(func() {
		if t.Failed() { // the log without the heartbeat's reconnection attempts
			var log []string
			for _, l := range strings.Split(src.LogTail(5000), "\n") {
				if !strings.Contains(l, "the database system is shutting down") {
					log = append(log, l)
				}
			}
			t.Logf("stream: %+v\nsource server log:\n%s", s.Stats(), strings.Join(log[max(0, len(log)-15):], "\n"))
		}
	})
	e.exec(t, `INSERT INTO s SELECT g, 'x' FROM generate_series(1, 100) g`)
	inserted := currentLSN()
	e.exec(t, "SELECT pg_switch_wal()") // synchronous_commit is off: this makes the INSERT visible to the walsender
	require.Eventually(t, func() bool { return s.Stats().DurableLSN >= inserted }, 30*time.Second, 20*time.Millisecond,
		"the INSERT was not applied")
	// WAL that decodes to nothing after the last change, sent to the stream.
	e.exec(t, "CHECKPOINT")
	e.exec(t, "SELECT pg_switch_wal()")
	end := currentLSN()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var sent pglogrepl.LSN
		require.NoError(c, e.src.QueryRow(ctx, `SELECT r.sent_lsn FROM pg_stat_replication r
			JOIN pg_replication_slots s ON s.active_pid = r.pid WHERE s.slot_name = $1`, e.slot).Scan(&sent))
		assert.GreaterOrEqual(c, sent, end)
	}, 30*time.Second, 20*time.Millisecond, "the walsender did not send the WAL after the last change")

	// On the test's goroutine: when the walsender waits, pg_ctl gives up
	// after a minute and Stop fails the test.
	began := time.Now()
	src.Stop(t)
	require.Less(t, time.Since(began), 20*time.Second, "fast shutdown took too long")
	require.Equal(t, uint64(1), s.Stats().TxsApplied, "only the INSERT was applied: a later transaction would hide the wait")
}
