package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/e2estack"
	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// Resume after a crash (issue 19). A steady pgbench load of single-row
// inserts runs on the source while the worker is SIGKILLed resumeKills
// times; a replacement worker process starts right after each kill, as a
// supervisor (systemd, Kubernetes) would restart it. Two figures:
//
//   - kill → streaming: from the SIGKILL to the commit, in the destination,
//     of the first row the replacement applied. The destination runs with
//     track_commit_timestamp = on, so the commit time of the newest row is
//     read from the destination itself, not from when a poll noticed it.
//   - caught up: from the end of the load to the commit of the last source
//     row in the destination.
//
// A kill comes no sooner than resumeSettle after the previous replacement
// streamed, so every kill hits a worker that was applying rows and had
// reported where it resumed (its first heartbeat, a second into the
// stream). A worker killed before that is a crash loop: the workflow
// counts its attempt as one without progress and backs off (2 s, doubling),
// which is the protection working, not the resume this measures.
const (
	resumeRate      = 1500 // single-row transactions per second
	resumeClients   = 2
	resumeSeconds   = 60
	resumeKills     = 4
	resumeFirstKill = 8 * time.Second  // after the load starts, so the worker streams under load
	resumeKillEvery = 12 * time.Second // the last kill 44 s in: 16 s of load left to resume under
	resumeNoStream  = 3 * time.Minute  // a replacement that does not stream by then fails the run
	resumeSettle    = 3 * time.Second
	resumeScript    = "INSERT INTO lag_events (ts, pad) VALUES (clock_timestamp(), 'r');\n"
	resumeStreamMax = 15.0 // seconds, the targets
	resumeCatchMax  = 20.0
)

type resumeKill struct {
	AtS        float64 `json:"at_s"`        // seconds after the load started
	StreamingS float64 `json:"streaming_s"` // kill → first row applied by the replacement
	WorkerUpS  float64 `json:"worker_up_s"` // kill → replacement logged "worker started"
}

type resumeRun struct {
	Kills    []resumeKill `json:"kills"`
	CatchUpS float64      `json:"catch_up_s"` // load's end → last row committed in the destination
	Rows     int64        `json:"rows"`
	TPS      float64      `json:"pgbench_tps"`
}

// benchResume runs the workload on a stack of its own, cfg.Runs times
// without a warm-up: each run is ~90 s, and the first kill of a run is
// itself what a warm-up would rehearse (nothing is cached across a
// SIGKILL but the clusters' buffers, which the load keeps warm anyway).
func benchResume(ctx context.Context, e *env, cfg config) Result {
	res := Result{
		Workload: fmt.Sprintf("resume after %d SIGKILLs under %d tx/s", resumeKills, resumeRate),
		RowShape: fmt.Sprintf("lag_events(id bigserial PK, ts timestamptz, pad text 1 B); pgbench -R %d -T %d, %d clients; "+
			"SIGKILL of the worker (process group) %s after the load starts and every %s after (each %s or more after the previous replacement streamed), "+
			"a replacement bin/ardent-worker started at once; Ardent = worst kill → first row the replacement committed in the destination "+
			"(track_commit_timestamp), per run; details: every kill and the load's end → last row committed (catch-up); no warm-up",
			resumeRate, resumeSeconds, resumeClients, resumeFirstKill, resumeKillEvery, resumeSettle),
		Target: fmt.Sprintf("streaming ≤ %.0f s after each kill, caught up ≤ %.0f s after the load's end", resumeStreamMax, resumeCatchMax),
	}
	s, err := startStack(ctx, e, cfg)
	if s != nil {
		defer s.st.Close()
	}
	if err == nil {
		err = s.onboard(ctx)
	}
	if err != nil {
		return failed(res, err)
	}
	var worst, catchUp []float64
	var runs []resumeRun
	for i := range cfg.Runs {
		r, err := s.resumeOnce(ctx, i+1)
		runs = append(runs, r)
		if err != nil {
			s.resumeEvidence(ctx)
			res.Details = map[string]any{"runs": runs}
			return failed(res, fmt.Errorf("run %d: %w; worker log tail:\n%s", i+1, err, workerErrors(s.worker)))
		}
		w := 0.0
		for _, k := range r.Kills {
			w = max(w, k.StreamingS)
		}
		worst, catchUp = append(worst, w), append(catchUp, r.CatchUpS)
	}
	s.resumeEvidence(ctx)
	res.Ardent = newSeries("s worst kill→streaming", worst)
	cs := newSeries("s", catchUp)
	res.Met = res.Ardent.Median <= resumeStreamMax && cs.Median <= resumeCatchMax
	res.Figures = []Figure{fig("caught up after the load's end (median of runs)", "s", cs.Median,
		fmt.Sprintf("<= %.0f s", resumeCatchMax), cs.Median <= resumeCatchMax)}
	res.Details = map[string]any{"runs": runs, "worst_streaming_s_runs": worst, "catch_up_s_runs": catchUp,
		"catch_up_s_median": cs.Median, "rate": resumeRate, "load_s": resumeSeconds}
	return res
}

// resumeOnce runs the load once with its kills and returns what it saw.
func (s *stack) resumeOnce(ctx context.Context, run int) (resumeRun, error) {
	var r resumeRun
	from, err := s.probe(ctx, s.dst, stackDestDB, 3*time.Minute)
	if err != nil {
		return r, err
	}
	mon, err := s.dst.ConnectContext(ctx, stackDestDB)
	if err != nil {
		return r, err
	}
	defer mon.Close(context.WithoutCancel(ctx))

	type loadDone struct {
		tps float64
		end time.Time
		err error
	}
	done := make(chan loadDone, 1)
	start := time.Now()
	go func() {
		tps, err := s.resumeLoad(ctx)
		done <- loadDone{tps, time.Now(), err}
	}()
	var streamed time.Time
	for k := range resumeKills {
		at := start.Add(resumeFirstKill + time.Duration(k)*resumeKillEvery)
		if next := streamed.Add(resumeSettle); next.After(at) {
			at = next
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(time.Until(at)):
		}
		kill, err := s.killAndReplace(ctx, mon, start)
		r.Kills = append(r.Kills, kill)
		streamed = start.Add(time.Duration((kill.AtS + kill.StreamingS) * float64(time.Second)))
		fmt.Printf("resume run %d: kill %d at +%.1f s: replacement up after %.1f s, streaming %.1f s after the kill\n",
			run, k+1, kill.AtS, kill.WorkerUpS, kill.StreamingS)
		if err != nil {
			return r, fmt.Errorf("kill %d: %w", k+1, err)
		}
	}
	ld := <-done
	if ld.err != nil {
		return r, ld.err
	}
	r.TPS = ld.tps
	if err := s.src.QueryRowContext(ctx, "app", fmt.Sprintf("SELECT count(*) FROM lag_events WHERE id > %d", from), &r.Rows); err != nil {
		return r, err
	}
	err = e2estack.Poll(ctx, 5*time.Minute, 100*time.Millisecond, "destination caught up after the load", func() (bool, error) {
		var got int64
		if err := mon.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM lag_events WHERE id > %d", from)).Scan(&got); err != nil {
			return false, err
		}
		return got >= r.Rows, nil
	})
	if err != nil {
		return r, err
	}
	var last time.Time
	if err := mon.QueryRow(ctx, fmt.Sprintf("SELECT max(pg_xact_commit_timestamp(xmin)) FROM lag_events WHERE id > %d", from)).Scan(&last); err != nil {
		return r, err
	}
	// A destination that was caught up before the load ended counts 0.
	r.CatchUpS = max(last.Sub(ld.end).Seconds(), 0)
	fmt.Printf("resume run %d: %d rows at %.0f tx/s; caught up %.1f s after the load's end\n", run, r.Rows, r.TPS, r.CatchUpS)
	s.e.log.Info("resume run", "run", run, "rows", r.Rows, "tps", r.TPS, "catch_up_s", r.CatchUpS, "kills", r.Kills)
	return r, nil
}

// killAndReplace SIGKILLs every live worker, starts a replacement and
// waits until the destination commits a row the replacement applied.
func (s *stack) killAndReplace(ctx context.Context, mon *pgx.Conn, start time.Time) (resumeKill, error) {
	kill := time.Now()
	k := resumeKill{AtS: kill.Sub(start).Seconds()}
	for _, p := range s.ardent.LiveWorkers() {
		p.Kill()
	}
	w, err := s.ardent.StartWorkerContext(ctx)
	if err != nil {
		return k, err
	}
	s.worker = w
	k.WorkerUpS = time.Since(kill).Seconds()
	// A commit the killed worker had sent may still land just after the
	// kill: the baseline is the newest commit once that has settled, and
	// the replacement streams once a newer row is committed.
	time.Sleep(max(0, time.Until(kill.Add(500*time.Millisecond))))
	newest := func() (time.Time, error) {
		var ts time.Time
		err := mon.QueryRow(ctx, "SELECT pg_xact_commit_timestamp(xmin) FROM lag_events ORDER BY id DESC LIMIT 1").Scan(&ts)
		return ts, err
	}
	base, err := newest()
	if err != nil {
		return k, err
	}
	var first time.Time
	err = e2estack.Poll(ctx, resumeNoStream, 100*time.Millisecond, "replacement worker applying rows", func() (bool, error) {
		ts, err := newest()
		if err != nil {
			return false, err
		}
		first = ts
		return ts.After(base), nil
	})
	if err != nil {
		k.StreamingS = time.Since(kill).Seconds()
		return k, err
	}
	k.StreamingS = first.Sub(kill).Seconds()
	return k, nil
}

// resumeLoad runs pgbench for the workload's load and returns the rate it
// achieved.
func (s *stack) resumeLoad(ctx context.Context) (float64, error) {
	script := filepath.Join(s.e.root, "resume.sql")
	if err := os.WriteFile(script, []byte(resumeScript), 0o644); err != nil {
		return 0, fmt.Errorf("write pgbench script: %w", err)
	}
	cmd := exec.CommandContext(ctx, pgtest.Tool("pgbench"), "-n", "-h", "127.0.0.1", "-p", fmt.Sprint(s.src.Port), "-U", "postgres",
		"-c", fmt.Sprint(resumeClients), "-j", fmt.Sprint(resumeClients), "-R", fmt.Sprint(resumeRate), "-T", fmt.Sprint(resumeSeconds),
		"-f", script, "app")
	cmd.Env = append(os.Environ(), "PGSSLMODE=disable")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %w: %s", err, temporaltest.Tail(string(out), 10))
	}
	var tps float64
	if m := tpsRe.FindSubmatch(out); m != nil {
		fmt.Sscanf(string(m[1]), "%g", &tps)
	}
	return tps, nil
}

// resumeEvidence copies the workers' logs and the replication workflow's
// history to $BENCH_RESUME_EVIDENCE, when set: where the time between a
// kill and the replacement's first row goes is read from them (the
// activity's timeout, the retry timer, the new attempt's start).
func (s *stack) resumeEvidence(ctx context.Context) {
	dir := os.Getenv("BENCH_RESUME_EVIDENCE")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.e.log.Warn("resume evidence", "error", err)
		return
	}
	for i, w := range s.ardent.Workers() {
		_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("worker-%d.log", i)), []byte(w.Output()), 0o644)
	}
	out, err := s.st.Temporal.CLI(ctx, "workflow", "show", "--workflow-id", "replication-"+stackConnector, "--output", "json")
	if err != nil {
		out += "\n" + err.Error()
	}
	_ = os.WriteFile(filepath.Join(dir, "history.json"), []byte(out), 0o644)
	list, err := s.st.Temporal.CLI(ctx, "workflow", "list", "--query", "WorkflowId = 'replication-"+stackConnector+"'")
	if err != nil && !errors.Is(err, context.Canceled) {
		list += "\n" + err.Error()
	}
	_ = os.WriteFile(filepath.Join(dir, "runs.txt"), []byte(list), 0o644)
	s.e.log.Info("resume evidence written", "dir", dir)
}
