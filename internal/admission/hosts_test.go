package admission

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
)

// worker is one worker's scheduler on the shared catalog.
func worker(t *testing.T, cc *pgx.ConnConfig, slots, perHost int) *Scheduler {
	t.Helper()
	h, err := NewHostLocks(context.Background(), cc, perHost, slots+1)
	require.NoError(t, err)
	t.Cleanup(h.Close)
	return &Scheduler{Worker: NewSlots(slots), Hosts: h, Poll: 50 * time.Millisecond}
}

// heldPermits counts the permits held in the catalog, by every worker.
func heldPermits(t *testing.T, cat *pgtest.Cluster) int {
	var n int
	require.NoError(t, cat.Connect(t, "postgres").QueryRow(context.Background(),
		"SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted").Scan(&n))
	return n
}

type acquired struct {
	rel func()
	err error
}

func acquireAsync(s *Scheduler, ctx context.Context, host string, w *waits) chan acquired {
	out := make(chan acquired, 1)
	go func() {
		rel, err := s.Acquire(ctx, host, w.add)
		out <- acquired{rel, err}
	}()
	return out
}

func TestHostPermitsAcrossWorkers(t *testing.T) {
	cat := pgtest.Start(t, pgtest.Options{})
	cc, err := pgx.ParseConfig(cat.URL("postgres"))
	require.NoError(t, err)
	a, b := worker(t, cc, 2, 1), worker(t, cc, 2, 1)
	ctx := context.Background()
	const host = "db1.example:5432"

	relA, err := a.Acquire(ctx, host, func(w Wait) { t.Errorf("the first copy of the host waited: %+v", w) })
	require.NoError(t, err)
	require.Equal(t, 1, heldPermits(t, cat))

	// Worker b queues for the host, and says so, while a copies it.
	var wb waits
	got := acquireAsync(b, ctx, host, &wb)
	require.Eventually(t, func() bool { return len(wb.get()) > 0 }, testWait, pollEvery)
	w := wb.get()[0]
	require.Equal(t, Wait{Reason: ReasonSourceHost, Host: host, Running: 1, Limit: 1, Since: w.Since}, w)
	// A busy host keeps no copy of another host waiting, nor a slot of b.
	require.Equal(t, 0, b.Worker.Running())
	relOther, err := b.Acquire(ctx, "db2.example:5432", func(w Wait) { t.Errorf("a copy of another host waited: %+v", w) })
	require.NoError(t, err)
	relOther()
	select {
	case r := <-got:
		t.Fatalf("worker b got the host's only permit while a held it (err %v)", r.err)
	default:
	}

	relA()
	r := <-got
	require.NoError(t, r.err)
	require.Equal(t, 1, heldPermits(t, cat))

	// A second copy of the host on the same worker waits in memory
	// behind the first, holding no worker slot either.
	var wb2 waits
	got = acquireAsync(b, ctx, host, &wb2)
	require.Eventually(t, func() bool { return len(wb2.get()) > 0 }, testWait, pollEvery)
	w = wb2.get()[0]
	require.Equal(t, Wait{Reason: ReasonSourceHost, Host: host, Running: 1, Limit: 1, Since: w.Since}, w)
	require.Equal(t, 1, b.Worker.Running())
	r.rel()
	r = <-got
	require.NoError(t, r.err)
	r.rel()
	require.Equal(t, 0, heldPermits(t, cat))
	require.Equal(t, 0, b.Worker.Running())
}

func TestHostPermitCancelWhileQueued(t *testing.T) {
	cat := pgtest.Start(t, pgtest.Options{})
	cc, err := pgx.ParseConfig(cat.URL("postgres"))
	require.NoError(t, err)
	a, b := worker(t, cc, 2, 1), worker(t, cc, 2, 1)
	const host = "db1.example:5432"
	relA, err := a.Acquire(context.Background(), host, nil)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	var wb waits
	got := acquireAsync(b, ctx, host, &wb)
	require.Eventually(t, func() bool { return len(wb.get()) > 0 }, testWait, pollEvery)
	cancel()
	r := <-got
	require.ErrorIs(t, r.err, context.Canceled)
	require.Equal(t, 0, b.Worker.Running())
	relA()
	require.Equal(t, 0, heldPermits(t, cat), "a permit outlived its holder")
	// b's next copy of the host starts at once: the cancelled wait kept nothing.
	rel, err := b.Acquire(context.Background(), host, func(w Wait) { t.Errorf("waited after a cancelled wait: %+v", w) })
	require.NoError(t, err)
	rel()
}

// A worker that dies holding a permit gives it back with its sessions.
func TestHostPermitDiesWithItsWorker(t *testing.T) {
	cat := pgtest.Start(t, pgtest.Options{})
	cc, err := pgx.ParseConfig(cat.URL("postgres"))
	require.NoError(t, err)
	a, b := worker(t, cc, 2, 1), worker(t, cc, 2, 1)
	const host = "db1.example:5432"
	relA, err := a.Acquire(context.Background(), host, nil)
	require.NoError(t, err)
	var wb waits
	got := acquireAsync(b, context.Background(), host, &wb)
	require.Eventually(t, func() bool { return len(wb.get()) > 0 }, testWait, pollEvery)
	// Never released: its session ends, as a killed worker's does.
	cat.Exec(t, "postgres", `SELECT pg_terminate_backend(pid) FROM pg_locks
		WHERE locktype = 'advisory' AND objsubid = 2 AND granted`)
	r := <-got
	require.NoError(t, r.err)
	r.rel()
	relA() // on a session that is gone: it closes it, and holds nothing
	require.Equal(t, 0, heldPermits(t, cat))
}
