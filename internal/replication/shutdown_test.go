package replication

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/sink/postgres"
)

// TestSourceFastShutdownIsNotHeldUp: at shutdown a logical walsender exits
// only once the client reports having received (write position) all it
// sent, and what it sends last is WAL that decodes to nothing (the
// shutdown checkpoint). The stream must acknowledge receipt from
// keepalives, or a fast shutdown of the source waits for it forever.
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

	o := e.options()
	o.HeartbeatInterval = time.Hour // no emitted messages: only the shutdown's own WAL follows
	s, _ := e.start(t, o)
	e.exec(t, `INSERT INTO s SELECT g, 'x' FROM generate_series(1, 100) g`)
	e.waitCaughtUp(t, s, 30*time.Second)
	// Non-replicated WAL after the last change: the walsender sends past it.
	e.exec(t, "CHECKPOINT")
	e.exec(t, "SELECT pg_switch_wal()")
	time.Sleep(time.Second)

	done := make(chan struct{})
	began := time.Now()
	go func() {
		defer close(done)
		src.Stop(t)
	}()
	select {
	case <-done:
	case <-time.After(50 * time.Second):
		t.Fatalf("fast shutdown of the source still waiting after %s: the walsender waits for the stream", time.Since(began))
	}
	require.Less(t, time.Since(began), 20*time.Second, "fast shutdown took too long")
}
