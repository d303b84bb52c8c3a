//go:build faults

package faults

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/faultproxy"
)

const (
	writers     = 2
	writerRate  = 40 // transactions per second per writer
	settleAfter = 4 * time.Minute
)

// scenario injects its faults into a streaming (or snapshotting) scene and
// says what it did.
type scenario struct {
	name string
	run  func(t *testing.T, w *world) result
}

// TestFaultsUnderLoad runs every scenario on shared clusters and one dev
// server, each with a fresh connector, and prints the outcome table.
func TestFaultsUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("fault suite: needs PostgreSQL and a Temporal dev server")
	}
	start := time.Now()
	w := newWorld(t)
	requireInvariantDetects(t, w)
	var results []result
	t.Cleanup(func() { printTable(results, time.Since(start)) })
	for _, sc := range []scenario{
		{"kill-during-snapshot", killDuringSnapshot},
		{"kill-during-streaming", killDuringStreaming},
		{"two-workers-one-killed", twoWorkersOneKilled},
		{"source-restart", sourceRestart},
		{"destination-restart", destinationRestart},
		{"temporal-restart", temporalRestart},
		{"network-cut-30s", networkCut},
		{"walsender-terminated", walsenderTerminated},
		{"slot-dropped", slotDropped},
		{"slot-invalidated", slotInvalidated},
	} {
		if only := os.Getenv("ARDENT_FAULTS_ONLY"); only != "" && !strings.Contains(","+only+",", ","+sc.name+",") {
			continue
		}
		var r result
		ok := t.Run(sc.name, func(t *testing.T) { r = sc.run(t, w) })
		r.scenario = sc.name
		if !ok && !strings.HasPrefix(r.outcome, "DIVERGED") {
			r.outcome = "TEST FAILED " + r.outcome
		}
		results = append(results, r)
	}
}

// streamingScene onboards a connector over the workload schema, waits for
// streaming and starts the load.
func streamingScene(t *testing.T, w *world, name string) (*scene, *load) {
	s := w.newScene(t, name)
	s.w.src.Exec(t, s.db, schemaSQL)
	s.onboard(s.srcURL())
	s.startWorker()
	s.waitStage("streaming", 3*time.Minute)
	l := startLoad(t, s.srcURL(), writers, writerRate)
	s.sampler = s.startSampler()
	time.Sleep(3 * time.Second) // some changes in flight before the fault
	return s, l
}

func finish(s *scene, l *load, faults string) result {
	outcome, rows := s.settle(l, settleAfter)
	r := result{faults: faults, outcome: outcome, rows: rows}
	if sm := s.sampler; sm != nil {
		sm.stop()
		r.samples = sm.samples.Load()
		if v := sm.violations.Load(); v > 0 {
			s.t.Errorf("destination invariant broken in %d of %d samples; first: %s", v, r.samples, sm.firstViolation())
			r.outcome = fmt.Sprintf("INVARIANT BROKEN in %d samples; ", v) + r.outcome
		}
	}
	s.drop()
	return r
}

func killDuringSnapshot(t *testing.T, w *world) result {
	s := w.newScene(t, "kill-snap")
	s.w.src.Exec(t, s.db, schemaSQL+`
CREATE TABLE app.bulk (id bigint PRIMARY KEY, pad text NOT NULL);
INSERT INTO app.bulk SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 1000000) g;
ANALYZE;`)
	// The copy runs at ~500k rows/s here: too fast to interrupt. The worker
	// reaches the source through a proxy throttled to a slow link, so one
	// attempt takes about 45 s; the limit is lifted once kills are over.
	p := newProxy(t, w)
	p.SetRate(2500 << 10)
	l := startLoad(t, s.srcURL(), writers, writerRate)
	s.onboard(p.url(s.db))
	s.startWorker()
	kills, phaseEnd := 0, time.Now().Add(90*time.Second)
	var last time.Time
	for kills < 3 && time.Now().Before(phaseEnd) {
		// Kill only while a copy attempt has been running a few seconds,
		// at most every 20 s.
		copying := s.query(s.srcURL(), `SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'ardent_snapshot%' AND state = 'active' AND backend_type = 'client backend' AND now() - backend_start > interval '3 s'`)
		if copying != "0" && time.Since(last) >= 20*time.Second {
			for _, w := range s.LiveWorkers() {
				w.Kill()
			}
			kills++
			last = time.Now()
			t.Logf("kill %d during the snapshot", kills)
			s.startWorker()
		}
		time.Sleep(500 * time.Millisecond)
	}
	require.Positive(t, kills, "the snapshot ended before any kill: make it longer\n%s", s.workerOutput())
	p.SetRate(0)
	s.waitStage("streaming", 5*time.Minute)
	s.sampler = s.startSampler() // a snapshot in progress is partial by design
	time.Sleep(3 * time.Second)
	return finish(s, l, fmt.Sprintf("%d SIGKILLs mid-COPY (1M-row table, link throttled), load running", kills))
}

func killDuringStreaming(t *testing.T, w *world) result {
	s, l := streamingScene(t, w, "kill-stream")
	kills := 0
	for end := time.Now().Add(60 * time.Second); time.Now().Before(end); {
		for _, p := range s.LiveWorkers() {
			p.Kill()
		}
		kills++
		s.startWorker()
		time.Sleep(20 * time.Second)
	}
	return finish(s, l, fmt.Sprintf("%d SIGKILLs, 20 s apart", kills))
}

func twoWorkersOneKilled(t *testing.T, w *world) result {
	s, l := streamingScene(t, w, "two-workers")
	first := s.Workers()[0]
	require.Contains(t, first.Output(), "replication started")
	second := s.startWorker()
	first.Kill()
	require.Eventually(t, func() bool { return strings.Contains(second.Output(), "replication started") },
		2*time.Minute, time.Second, "replication did not move to the second worker:\n%s", s.workerOutput())
	time.Sleep(3 * time.Second)
	return finish(s, l, "SIGKILL of the worker holding the stream; 2nd worker took over")
}

func sourceRestart(t *testing.T, w *world) result {
	s, l := streamingScene(t, w, "src-restart")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("source server log:\n%s", w.src.LogTail(60))
		}
	})
	t.Logf("walsenders before the restart: %s", s.query(s.srcURL(), `SELECT string_agg(format('%s %s sent=%s flush=%s', application_name, state, sent_lsn, flush_lsn), '; ') FROM pg_stat_replication`))
	w.src.Restart(t)
	time.Sleep(10 * time.Second)
	return finish(s, l, "pg_ctl restart -m fast of the source")
}

func destinationRestart(t *testing.T, w *world) result {
	s, l := streamingScene(t, w, "dst-restart")
	w.dst.Stop(t)
	time.Sleep(5 * time.Second)
	w.dst.StartAgain(t)
	time.Sleep(10 * time.Second)
	return finish(s, l, "destination (and catalog) down 5 s")
}

func temporalRestart(t *testing.T, w *world) result {
	s, l := streamingScene(t, w, "tmprl-restart")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	require.NoError(t, w.Temporal.Restart(ctx, 5*time.Second), "restart the dev server")
	time.Sleep(10 * time.Second)
	return finish(s, l, "dev server stopped, down 5 s, restarted")
}

func networkCut(t *testing.T, w *world) result {
	s := w.newScene(t, "net-cut")
	s.w.src.Exec(t, s.db, schemaSQL)
	p := newProxy(t, w)
	s.onboard(p.url(s.db))
	s.startWorker()
	s.waitStage("streaming", 3*time.Minute)
	l := startLoad(t, s.srcURL(), writers, writerRate)
	s.sampler = s.startSampler()
	time.Sleep(3 * time.Second)
	reset := p.Cut(30 * time.Second)
	require.Positive(t, reset, "the cut found no connection to reset")
	time.Sleep(35 * time.Second)
	return finish(s, l, fmt.Sprintf("worker↔source cut 30 s: %d connections reset, new ones refused", reset))
}

// proxy is a faultproxy in front of the source.
type proxy struct {
	*faultproxy.Proxy
	w *world
}

func newProxy(t *testing.T, w *world) proxy {
	p, err := faultproxy.New(fmt.Sprintf("%s:%d", w.src.Host, w.src.Port), nil)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	return proxy{p, w}
}

// url is the superuser URL of db through the proxy.
func (p proxy) url(db string) string {
	u, err := url.Parse(p.w.src.URL(db))
	if err != nil {
		panic(err)
	}
	u.Host = p.Addr()
	return u.String()
}

func walsenderTerminated(t *testing.T, w *world) result {
	s, l := streamingScene(t, w, "walsender")
	slot := "ardent_" + strings.ReplaceAll(s.name, "-", "_")
	killed := 0
	for i := 0; i < 3; i++ {
		require.Eventually(t, func() bool {
			n, err := s.tryQuery(s.srcURL(), fmt.Sprintf(`SELECT count(pg_terminate_backend(active_pid)) FROM pg_replication_slots WHERE slot_name = '%s' AND active_pid IS NOT NULL`, slot))
			return err == nil && n == "1"
		}, time.Minute, 500*time.Millisecond, "no walsender to terminate:\n%s", s.workerOutput())
		killed++
		time.Sleep(8 * time.Second)
	}
	return finish(s, l, fmt.Sprintf("%d × pg_terminate_backend(walsender)", killed))
}

func slotDropped(t *testing.T, w *world) result {
	s, l := streamingScene(t, w, "slot-dropped")
	slot := "ardent_" + strings.ReplaceAll(s.name, "-", "_")
	// The worker reconnects at once, so terminate and drop in one go until
	// the drop wins the race.
	require.Eventually(t, func() bool {
		out, err := s.tryQuery(s.srcURL(), fmt.Sprintf(`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '%[1]s' AND active_pid IS NOT NULL;
SELECT pg_sleep(0.05);
SELECT pg_drop_replication_slot('%[1]s');`, slot))
		_ = out
		return err == nil
	}, time.Minute, 100*time.Millisecond, "could not drop the slot")
	time.Sleep(5 * time.Second)
	return finish(s, l, "slot dropped behind Ardent's back")
}

func slotInvalidated(t *testing.T, w *world) result {
	s, l := streamingScene(t, w, "slot-lost")
	slot := "ardent_" + strings.ReplaceAll(s.name, "-", "_")
	out, code := s.ardent("pause", s.name)
	require.Equal(t, 0, code, out)
	s.waitStage("paused", time.Minute)
	w.src.Exec(t, "postgres", `ALTER SYSTEM SET max_slot_wal_keep_size = '32MB'`)
	w.src.Exec(t, "postgres", `SELECT pg_reload_conf()`)
	t.Cleanup(func() {
		w.src.Exec(t, "postgres", `ALTER SYSTEM RESET max_slot_wal_keep_size`)
		w.src.Exec(t, "postgres", `SELECT pg_reload_conf()`)
	})
	w.src.Exec(t, s.db, `CREATE TABLE public.filler AS SELECT g, repeat(md5(g::text), 4) AS pad FROM generate_series(1, 600000) g`)
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := w.src.ExecContext(ctx, s.db, `SELECT pg_switch_wal(); CHECKPOINT;`); err != nil {
			return false
		}
		status, err := s.tryQuery(s.srcURL(), fmt.Sprintf(`SELECT wal_status FROM pg_replication_slots WHERE slot_name = '%s'`, slot))
		return err == nil && status == "lost"
	}, time.Minute, time.Second, "the slot was not invalidated")
	out, code = s.ardent("resume", s.name)
	require.Equal(t, 0, code, out)
	return finish(s, l, "paused; max_slot_wal_keep_size=32MB + ~150MB WAL; slot wal_status=lost; resumed")
}
