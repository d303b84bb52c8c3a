package activities

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/admission"
)

// reports records, in order, what the activities reported and when each
// snapshot ended, across the goroutines that run them.
type reports struct {
	mu     sync.Mutex
	events []string
	queued map[string][]*contract.QueueWait
}

func (r *reports) note(e string) { r.mu.Lock(); r.events = append(r.events, e); r.mu.Unlock() }

// reporter tags each report with the connector its activity runs for.
func (r *reports) reporter(name string) Reporter {
	return func(_ context.Context, _, _ string, p contract.ProgressReport) error {
		if p.Snapshot == nil {
			return nil
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.queued == nil {
			r.queued = map[string][]*contract.QueueWait{}
		}
		r.queued[name] = append(r.queued[name], p.Snapshot.Queued)
		if p.Snapshot.Queued != nil {
			r.events = append(r.events, name+" queued")
		} else {
			r.events = append(r.events, name+" copying")
		}
		return nil
	}
}

func (r *reports) get(name string) []*contract.QueueWait {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*contract.QueueWait(nil), r.queued[name]...)
}

func (r *reports) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// With one copy per worker, a second connector's snapshot reports itself
// queued (why, since when) while the first copies, and runs once the first
// ended; a snapshot cancelled while queued returns and keeps nothing.
func TestSnapshotSchedulerQueues(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	w := newWorld(t)
	w.dst.CreateDatabase(t, "destination2")
	w.dst.CreateDatabase(t, "destination3")
	conns := &Connectors{Catalog: w.cat, Keyring: w.kr, Sinks: w.sinks}
	// One connector per source database: three databases on one host.
	for _, db := range []string{"app2", "app3"} {
		w.src.CreateDatabase(t, db)
		w.src.Exec(t, db, `CREATE SCHEMA shop; CREATE TABLE shop.items (id bigint PRIMARY KEY, name text);
			INSERT INTO shop.items SELECT g, 'item ' || g FROM generate_series(1, 3000) g;`)
	}
	for name, dbs := range map[string][2]string{"qa": {"app", "destination"}, "qb": {"app2", "destination2"}, "qc": {"app3", "destination3"}} {
		_, err := w.env(t, conns).ExecuteActivity(conns.CreateConnector, CreateConnectorInput{Name: name, SourceURL: w.src.URL(dbs[0]),
			DestinationURL: w.dst.URL(dbs[1]), Selection: Selection{Schemas: []string{"shop"}}})
		require.NoError(t, err)
	}
	sched := &admission.Scheduler{Worker: admission.NewSlots(1)}
	var rep reports
	snapshotter := func(name string) *Snapshotter {
		return &Snapshotter{Catalog: w.cat, Keyring: w.kr, Sinks: w.sinks, HeartbeatInterval: 50 * time.Millisecond,
			Scheduler: sched, Report: rep.reporter(name)}
	}
	run := func(s *Snapshotter, name string, ctx context.Context) chan error {
		done := make(chan error, 1)
		go func() {
			env := w.env(t, s)
			if ctx != nil {
				env.SetWorkerOptions(worker.Options{BackgroundActivityContext: ctx})
			}
			_, err := env.ExecuteActivity(s.Snapshot, SnapshotInput{Name: name})
			rep.note(name + " done")
			done <- err
		}()
		return done
	}

	// A transaction with an xid holds the slot creation of the first
	// snapshot, so it keeps its permit while the second arrives.
	holder := w.src.Connect(t, "app")
	tx, err := holder.Begin(context.Background())
	require.NoError(t, err)
	_, err = tx.Exec(context.Background(), `CREATE TEMP TABLE hold (x int); INSERT INTO hold VALUES (1)`)
	require.NoError(t, err)

	// The cap itself: never two copies at once. (The order of "qa done"
	// and "qb copying" says nothing: the first gives its permit back before
	// its activity returns to the test.)
	var maxRunning atomic.Int64
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			maxRunning.Store(max(maxRunning.Load(), int64(sched.Worker.Running())))
			select {
			case <-stopWatch:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	first := run(snapshotter("qa"), "qa", nil)
	require.Eventually(t, func() bool { return sched.Worker.Running() == 1 }, time.Minute, 20*time.Millisecond)
	second := run(snapshotter("qb"), "qb", nil)
	require.Eventually(t, func() bool { return len(rep.get("qb")) > 0 }, time.Minute, 20*time.Millisecond)
	q := rep.get("qb")[0]
	require.NotNil(t, q, "the second snapshot did not say it is queued")
	require.Equal(t, contract.QueueReasonWorker, q.Reason)
	require.Equal(t, 1, q.Running)
	require.Equal(t, 1, q.Limit)
	require.False(t, q.Since.IsZero())
	require.Equal(t, "127.0.0.1:"+strconv.Itoa(w.src.Port), q.Host)

	// A third, cancelled while queued, returns at once and keeps nothing.
	ctx, cancel := context.WithCancel(context.Background())
	third := run(snapshotter("qc"), "qc", ctx)
	require.Eventually(t, func() bool { return len(rep.get("qc")) > 0 }, time.Minute, 20*time.Millisecond)
	cancel()
	require.Error(t, <-third)
	require.Equal(t, 1, sched.Worker.Waiting(), "the cancelled snapshot still waits")

	require.NoError(t, tx.Commit(context.Background()))
	require.NoError(t, <-first)
	require.NoError(t, <-second)
	require.Equal(t, 0, sched.Worker.Running(), "a permit outlived its snapshot")
	require.Equal(t, 0, sched.Worker.Waiting())

	close(stopWatch)
	<-watched
	ev := rep.all()
	require.Equal(t, int64(1), maxRunning.Load(), "two copies ran at once: %v", ev)
	require.Less(t, index(ev, "qa copying"), index(ev, "qb copying"), "%v", ev)
	require.Less(t, index(ev, "qb queued"), index(ev, "qa done"), "%v", ev)
	require.NotContains(t, ev, "qa queued", "the first snapshot waited for nothing")
	require.NotContains(t, ev, "qc copying", "the cancelled snapshot copied")
	require.Equal(t, 3000, w.count(t, w.dst, "destination2", "shop.items"))
}

func index(events []string, e string) int {
	for i, x := range events {
		if x == e {
			return i
		}
	}
	return len(events) + 1000 // missing: after everything, and never less than another missing one
}
