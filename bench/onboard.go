package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/e2estack"
	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink/postgres"
	"github.com/ardent-cdc/ardent/internal/snapshot"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// The whole-onboarding workload (issue 19): `ardent onboard` of a source
// holding one large table, until the connector streams with every row in
// the destination and its primary key built, against the least raw work
// that leaves an equal keyed table: the binary COPY pipe into an unindexed
// table plus ALTER TABLE ADD PRIMARY KEY afterwards. Both sides use the
// same URLs (TCP to 127.0.0.1, TLS on both clusters), the ones Ardent is
// given.

const onboardTable = `CREATE TABLE t (id bigint PRIMARY KEY, n int, s text, ts timestamptz)`

// onboardDestTable is the baseline's destination table: the same columns,
// no index (the key is built after the copy, and timed).
const onboardDestTable = `DROP TABLE IF EXISTS t; CREATE TABLE t (id bigint NOT NULL, n int, s text, ts timestamptz)`

// onboardPhases are the parts of one onboarding, in seconds, from the
// workflow histories (server timestamps) and the worker's log.
type onboardPhases map[string]float64

func benchOnboard(ctx context.Context, e *env, cfg config) Result {
	n := cfg.OnboardRows
	res := Result{
		Workload: fmt.Sprintf("whole onboarding, %s-row table", human(float64(n))),
		RowShape: "t(id bigint PK, n int, s text md5 32 B, ts timestamptz); Ardent: `ardent onboard` until stage streaming (the Snapshot activity done, rows copied, key built), fresh connector and destination database per run, real bin/ardent-worker and Temporal dev server; baseline: psql COPY t TO STDOUT (FORMAT binary) | psql COPY t FROM STDIN (FORMAT binary) into an unindexed table, then ALTER TABLE t ADD PRIMARY KEY (id) (default settings); both over TCP 127.0.0.1 with TLS, the URLs Ardent is given",
		Target:   ">= 0.90 x baseline (pipe + PK build)",
	}
	bin := filepath.Join(cfg.RepoRoot, "bin")
	for _, b := range []string{"ardent", "ardent-worker", "temporal"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return failed(res, fmt.Errorf("%s missing: run `make deps build` first: %w", filepath.Join(bin, b), err))
		}
	}
	conf := []string{"max_wal_size = 4GB"}
	// The dev server keeps its SQLite database in memory (/dev/shm). On
	// disk it shares one disk with both clusters, and the workflow task
	// after the Snapshot activity completed 0.28-0.67 s after it in 5 of
	// 11 runs, while the load just copied was being written back (0.01 s
	// in 4 of 4 runs in memory); a production Temporal server has storage
	// of its own.
	temporalDir, err := os.MkdirTemp("/dev/shm", "ardent-bench-temporal-")
	if err != nil {
		temporalDir = "" // no /dev/shm: a temporary directory on disk
	}
	defer func() {
		if temporalDir != "" {
			_ = os.RemoveAll(temporalDir)
		}
	}()
	st, err := e2estack.New(ctx, e2estack.Options{
		Temporal: temporaltest.Options{Dir: temporalDir},
		Source:   pgtest.Options{SSL: true, ExtraConf: conf},
		// Autovacuum and lock waits in the destination's log, to see what
		// competes with the copy and the key build (autovacuumIn).
		Destination:     pgtest.Options{SSL: true, ExtraConf: append(conf, "log_autovacuum_min_duration = 0", "log_lock_waits = on")},
		SourceDatabases: []string{"app"}, DestinationDatabases: []string{"base"},
		ArdentBin: filepath.Join(bin, "ardent"), WorkerBin: filepath.Join(bin, "ardent-worker"),
		Dir: e.root,
	})
	if err != nil {
		return failed(res, err)
	}
	defer st.Close()
	src, dst := &cluster{st.Src, "onboard-src"}, &cluster{st.Dst, "onboard-dst"}

	t0 := time.Now()
	if err := src.ExecContext(ctx, "app", onboardTable+fmt.Sprintf(`;
INSERT INTO t SELECT i, i %% 1000, md5(i::text), timestamptz '2024-01-01' + i * interval '1 second' FROM generate_series(1, %d) i`, n)); err != nil {
		return failed(res, err)
	}
	// Hint bits and the visibility map set once, so no run pays for them.
	for _, q := range []string{"VACUUM (FREEZE, ANALYZE) t", "CHECKPOINT"} {
		if err := src.ExecContext(ctx, "app", q); err != nil {
			return failed(res, err)
		}
	}
	e.log.Info("onboard: source loaded", "rows", n, "took", time.Since(t0).Round(time.Millisecond))

	httpPort, err := pgtest.FreePort()
	if err != nil {
		return failed(res, err)
	}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", httpPort)
	dep := st.Deploy("bench-onboard", "ARDENT_LOG_LEVEL=info", "ARDENT_PPROF=true")
	worker, err := dep.StartWorkerContext(ctx, "ARDENT_HTTP_ADDRESS="+httpAddr)
	if err != nil {
		return failed(res, err)
	}
	tc, err := client.Dial(client.Options{HostPort: st.Temporal.Address, Namespace: st.Temporal.Namespace, Logger: quietLogger{}})
	if err != nil {
		return failed(res, fmt.Errorf("dial temporal: %w", err))
	}
	defer tc.Close()

	var pipe, pk []float64
	var baseCPU, ardCPU map[string]float64
	baseline := func() (float64, error) {
		if err := dst.ExecContext(ctx, "base", onboardDestTable+"; CHECKPOINT"); err != nil {
			return 0, err
		}
		m0 := markCPU(src, dst)
		start := time.Now()
		cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c",
			`"$PSQL" -X -q -d "$SRC" -c 'COPY t TO STDOUT (FORMAT binary)' | "$PSQL" -X -q -d "$DST" -c 'COPY t FROM STDIN (FORMAT binary)'`)
		cmd.Env = append(cmd.Environ(), "PSQL="+pgtest.Tool("psql"), "SRC="+src.URL("app"), "DST="+dst.URL("base"))
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("baseline psql | psql: %w: %s", err, out)
		}
		p := time.Since(start)
		k0 := time.Now()
		if _, err := pgtest.Psql(ctx, dst.URL("base"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", "ALTER TABLE t ADD PRIMARY KEY (id)"); err != nil {
			return 0, fmt.Errorf("baseline primary key: %w", err)
		}
		k := time.Since(k0)
		baseCPU = cpuUse(m0, markCPU(src, dst), map[string]float64{
			"psql_pipe": (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()})
		pipe, pk = append(pipe, p.Seconds()), append(pk, k.Seconds())
		e.log.Info("onboard: baseline", "pipe", p.Round(time.Millisecond), "pk", k.Round(time.Millisecond))
		// Gone before the next run, as Ardent's database is after each of
		// its runs: a 10M-row table left behind is autovacuumed (VACUUM
		// ANALYZE of every page) within the launcher's minute, which
		// overlapped the Ardent runs that followed a baseline run.
		if err := dst.ExecContext(ctx, "base", "DROP TABLE t"); err != nil {
			return 0, err
		}
		return (p + k).Seconds(), nil
	}
	run := 0
	var lastDur time.Duration
	var phases []onboardPhases
	ardent := func() (float64, error) {
		run++
		name := fmt.Sprintf("onb%d", run)
		db := "dest_" + name
		if err := dst.CreateDatabaseContext(ctx, db); err != nil {
			return 0, err
		}
		if err := dst.ExecContext(ctx, "postgres", "CHECKPOINT"); err != nil {
			return 0, err
		}
		m0 := markCPU(src, dst)
		logFrom := logSize(dst.LogFile)
		w0, t0 := workerCPU(worker.Pid()), temporalCPU(st)
		start := time.Now()
		var prof chan []byte
		if cfg.Profile && run == cfg.Runs+1 {
			prof = workerProfile(httpAddr, int(lastDur.Seconds())+2)
		}
		if _, code, err := dep.Command(ctx, nil, "onboard", "--name", name, "--source", src.URL("app"),
			"--destination", dst.URL(db), "--schema", "public"); err != nil || code != 0 {
			return 0, fmt.Errorf("ardent onboard %s: exit %d: %v: %s", name, code, err, workerErrors(worker))
		}
		ph, end, err := waitOnboarded(ctx, tc, name, start)
		if err != nil {
			return 0, fmt.Errorf("%w; worker log tail:\n%s", err, workerErrors(worker))
		}
		d := end.Sub(start)
		ardCPU = cpuUse(m0, markCPU(src, dst), map[string]float64{"ardent_worker": workerCPU(worker.Pid()) - w0,
			"temporal_dev_server": temporalCPU(st) - t0})
		lastDur = d
		if prof != nil {
			if b := <-prof; len(b) > 0 {
				_ = os.WriteFile(filepath.Join(cfg.ResultsDir, "onboard-worker.cpu.prof"), b, 0o644)
			}
		}
		logPhases(worker.Output(), name, start, ph)
		for _, w := range autovacuumIn(dst.LogFile, logFrom, db, ph) {
			e.log.Info("onboard: destination lock wait", "run", name, "log", w)
		}
		phases = append(phases, ph)
		e.log.Info("onboard: Ardent", "took", d.Round(time.Millisecond), "phases", fmtPhases(ph))
		// Checked after the clock stopped: every row, and the key.
		var rows int64
		var key bool
		if err := dst.QueryRowContext(ctx, db, `SELECT (SELECT count(*) FROM t),
			EXISTS (SELECT 1 FROM pg_index WHERE indrelid = 't'::regclass AND indisprimary AND indisvalid)`, &rows, &key); err != nil {
			return 0, err
		}
		if rows != int64(n) || !key {
			return 0, fmt.Errorf("onboarding %s: destination holds %d rows (want %d), primary key %v", name, rows, n, key)
		}
		// The next run starts without this connector: no second slot,
		// no walsender, no destination left behind.
		if _, code, err := dep.Command(ctx, nil, "drop", name, "--yes"); err != nil || code != 0 {
			return 0, fmt.Errorf("ardent drop %s: exit %d: %v", name, code, err)
		}
		if err := dst.ExecContext(ctx, "postgres", fmt.Sprintf("DROP DATABASE %s WITH (FORCE)", db)); err != nil {
			return 0, err
		}
		return d.Seconds(), nil
	}
	base, ard, err := alternate(cfg, "", baseline, ardent)
	if err != nil {
		return failed(res, err)
	}
	res.Baseline, res.Ardent = newSeries("s", base), newSeries("s", ard)
	res.Ratio = res.Baseline.Median / res.Ardent.Median
	res.Met = res.Ratio >= 0.90
	pipeS := newSeries("s", pipe[1:])
	res.Figures = []Figure{{Name: "against the pipe alone", Unit: "s", Value: res.Ardent.Median, Baseline: pipeS.Median,
		Ratio: pipeS.Median / res.Ardent.Median}}
	res.Details = map[string]any{
		"baseline_pipe_s":          pipeS,
		"baseline_pk_s":            newSeries("s", pk[1:]),
		"ratio_to_pipe_alone":      pipeS.Median / res.Ardent.Median,
		"ardent_phases_s":          medianPhases(phases[1:]),
		"baseline_cpu_cores":       baseCPU,
		"ardent_cpu_cores":         ardCPU,
		"ardent_phases_last_run_s": phases[len(phases)-1],
	}
	if os.Getenv("BENCH_ONBOARD_VARIANTS") != "" {
		v, err := onboardVariants(ctx, e, cfg, src, dst)
		if err != nil {
			return failed(res, fmt.Errorf("variants: %w", err))
		}
		res.Details["snapshot_variants_s"] = v
	}
	return res
}

// onboardVariant is one way to run the snapshot step alone, in process,
// on the same clusters: what the key deferral and the parallelism give.
type onboardVariant struct {
	name        string
	parallelism int
	keepKeys    bool
	keyMemory   int64 // postgres.KeyBuildMemory; 0: the default, -1: the destination's own setting
}

// onboardVariants (BENCH_ONBOARD_VARIANTS=1) times snapshot.Run alone
// into a fresh destination database per run, the variants in turn, a
// warm-up round and cfg.Runs timed ones: copy, key build and the whole Run.
func onboardVariants(ctx context.Context, e *env, cfg config, src, dst *cluster) (map[string]map[string]float64, error) {
	variants := []onboardVariant{
		{"defer_keys_p4", 4, false, 0}, {"keep_keys_p4", 4, true, 0}, {"defer_keys_p4_512MB", 4, false, 512 << 20},
		{"defer_keys_p2", 2, false, 0}, {"defer_keys_p8", 8, false, 0},
	}
	conn, err := pgx.Connect(ctx, src.URL("app"))
	if err != nil {
		return nil, err
	}
	tables, err := schema.Discover(ctx, conn, schema.Selection{Tables: []string{"public.t"}})
	conn.Close(ctx)
	if err != nil {
		return nil, fmt.Errorf("discover: %w", err)
	}
	times := map[string]map[string][]float64{}
	for round := 0; round <= cfg.Runs; round++ {
		for i, v := range variants {
			db := fmt.Sprintf("variant_%d_%d", round, i)
			if err := dst.CreateDatabaseContext(ctx, db); err != nil {
				return nil, err
			}
			if err := dst.ExecContext(ctx, "postgres", "CHECKPOINT"); err != nil {
				return nil, err
			}
			sk, err := postgres.Open(ctx, dst.URL(db), nil)
			if err != nil {
				return nil, err
			}
			err = sk.Prepare(ctx, "variant", tables)
			saved := postgres.KeyBuildMemory
			if v.keyMemory != 0 {
				postgres.KeyBuildMemory = max(v.keyMemory, 0)
			}
			start := time.Now()
			var r snapshot.RunResult
			if err == nil {
				r, err = snapshot.Run(ctx, snapshot.RunOptions{Source: src.config("app"), Connector: "variant", Slot: "ardent_variant",
					Tables: tables, Copier: sk, Parallelism: v.parallelism, IndexDuringCopy: v.keepKeys})
			}
			total := time.Since(start)
			postgres.KeyBuildMemory = saved
			sk.Close(context.WithoutCancel(ctx))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", v.name, err)
			}
			if err := src.ExecContext(ctx, "app", "SELECT pg_drop_replication_slot('ardent_variant')"); err != nil {
				return nil, err
			}
			if err := dst.ExecContext(ctx, "postgres", fmt.Sprintf("DROP DATABASE %s WITH (FORCE)", db)); err != nil {
				return nil, err
			}
			e.log.Info("onboard: variant", "variant", v.name, "copy", r.Copy.Duration.Round(time.Millisecond),
				"keys", r.Copy.KeyBuild.Round(time.Millisecond), "total", total.Round(time.Millisecond))
			if round == 0 {
				continue
			}
			if times[v.name] == nil {
				times[v.name] = map[string][]float64{}
			}
			t := times[v.name]
			t["copy"] = append(t["copy"], r.Copy.Duration.Seconds())
			t["key_build"] = append(t["key_build"], r.Copy.KeyBuild.Seconds())
			t["run"] = append(t["run"], total.Seconds())
		}
	}
	out := map[string]map[string]float64{}
	for name, t := range times {
		out[name] = map[string]float64{}
		for k, v := range t {
			out[name][k] = round3(newSeries("s", v).Median)
		}
	}
	return out, nil
}

// waitOnboarded follows the connector's workflows until the replication
// workflow has recorded the Snapshot activity's result and moved on (the
// workflow task that sets stage streaming), and returns the phases and
// that moment. Timestamps are the server's, on this machine's clock.
func waitOnboarded(ctx context.Context, tc client.Client, name string, start time.Time) (onboardPhases, time.Time, error) {
	var ph onboardPhases
	var end time.Time
	// The end is the server's timestamp, so polling slowly costs no
	// precision, and keeps this process's reads off the dev server's CPU
	// during the run.
	err := e2estack.Poll(ctx, 30*time.Minute, time.Second, "connector "+name+" streaming", func() (bool, error) {
		rep, err := history(ctx, tc, contract.ReplicationID(name))
		if err != nil {
			return false, nil // not started yet
		}
		var snapDone time.Time
		for _, ev := range rep {
			switch ev.GetEventType() {
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_FAILED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
				return false, fmt.Errorf("replication workflow: %s", ev.String())
			case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
				if snapDone.IsZero() {
					snapDone = ev.GetEventTime().AsTime()
				}
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
				if !snapDone.IsZero() && end.IsZero() {
					end = ev.GetEventTime().AsTime()
				}
			}
		}
		if end.IsZero() {
			return false, nil
		}
		onb, err := history(ctx, tc, contract.OnboardingID(name))
		if err != nil {
			return false, err
		}
		ph = phasesOf(onb, rep, start, end)
		return true, nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	return ph, end, nil
}

func history(ctx context.Context, tc client.Client, id string) ([]*historypb.HistoryEvent, error) {
	it := tc.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// phasesOf splits the onboarding by its history events: the CLI until the
// workflow started, each activity from scheduled to completed (queue
// wait and run), the hops between them.
func phasesOf(onb, rep []*historypb.HistoryEvent, start, end time.Time) onboardPhases {
	ph := onboardPhases{}
	at := func(evs []*historypb.HistoryEvent, typ enumspb.EventType, nth int) time.Time {
		for _, ev := range evs {
			if ev.GetEventType() == typ {
				if nth == 0 {
					return ev.GetEventTime().AsTime()
				}
				nth--
			}
		}
		return time.Time{}
	}
	sec := func(a, b time.Time) float64 {
		if a.IsZero() || b.IsZero() {
			return -1
		}
		return float64(b.Sub(a).Milliseconds()) / 1000
	}
	// Activities of the onboarding: Preflight, CreateConnector, in order.
	var acts []string
	var sched, done []time.Time
	for _, ev := range onb {
		switch ev.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			acts = append(acts, ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName())
			sched = append(sched, ev.GetEventTime().AsTime())
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
			done = append(done, ev.GetEventTime().AsTime())
		}
	}
	started := at(onb, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 0)
	ph["cli_to_workflow_start"] = sec(start, started)
	prev := started
	for i, a := range acts {
		if i >= len(done) {
			break
		}
		ph["gap_before_"+a] = sec(prev, sched[i])
		ph[a] = sec(sched[i], done[i])
		prev = done[i]
	}
	childInit := at(onb, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED, 0)
	ph["gap_before_handoff"] = sec(prev, childInit)
	repStart := at(rep, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 0)
	ph["handoff_to_replication_start"] = sec(childInit, repStart)
	snapSched := at(rep, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, 0)
	snapStarted := at(rep, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, 0)
	snapDone := at(rep, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 0)
	ph["gap_before_Snapshot"] = sec(repStart, snapSched)
	ph["Snapshot_queue"] = sec(snapSched, snapStarted)
	ph["Snapshot"] = sec(snapSched, snapDone)
	ph["to_stage_streaming"] = sec(snapDone, end)
	ph["total"] = sec(start, end)
	return ph
}

// logPhases adds the snapshot activity's own steps from the worker's log
// lines of the connector (slog text: time=... msg=...), as seconds since
// start of each step's line.
func logPhases(out, name string, start time.Time, ph onboardPhases) {
	steps := map[string]string{
		`msg="destination prepared"`:   "log_prepared_at",
		`msg="slot created"`:           "log_slot_created_at",
		`msg="snapshot copy starting"`: "log_copy_starting_at",
		`msg="snapshot copy done"`:     "log_copy_done_at",
		`msg="primary keys built"`:     "log_keys_built_at",
		`msg="snapshot done"`:          "log_snapshot_done_at",
	}
	for _, l := range strings.Split(out, "\n") {
		if !strings.Contains(l, "connector="+name+" ") && !strings.HasSuffix(l, "connector="+name) {
			continue
		}
		for m, key := range steps {
			if !strings.Contains(l, m) {
				continue
			}
			f := strings.Fields(l)
			if len(f) == 0 || !strings.HasPrefix(f[0], "time=") {
				continue
			}
			t, err := time.Parse(time.RFC3339Nano, strings.TrimPrefix(f[0], "time="))
			if err == nil {
				ph[key] = float64(t.Sub(start).Milliseconds()) / 1000
			}
		}
	}
}

func logSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// autovacuumIn counts, in the destination's server log since offset, the
// autovacuum runs and cancellations on database db, the autovacuums of
// other databases that ended meanwhile, and the lock waits
// logged (after deadlock_timeout): an autovacuum of the table being loaded
// competes with the copy, and one still running when the key build asks
// for its lock delays it until the autovacuum is cancelled. It returns the
// lock waits' log lines, which say what waited for what.
func autovacuumIn(path string, offset int64, db string, ph onboardPhases) (waits []string) {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return nil
	}
	b, _ := io.ReadAll(f)
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.Contains(l, "automatic vacuum of table \""+db+"."):
			ph["dst_autovacuum_runs"]++
		case strings.Contains(l, "automatic analyze of table \""+db+"."):
			ph["dst_autoanalyze_runs"]++
		case strings.Contains(l, "automatic vacuum of table \""):
			ph["dst_other_autovacuum_runs"]++ // another database's, ended during the run
		case strings.Contains(l, "canceling autovacuum task"):
			ph["dst_autovacuum_cancelled"]++
		case strings.Contains(l, "still waiting for"):
			ph["dst_lock_waits_over_1s"]++
			waits = append(waits, l)
		}
	}
	return waits
}

func medianPhases(all []onboardPhases) onboardPhases {
	out := onboardPhases{}
	keys := map[string]bool{}
	for _, p := range all {
		for k := range p {
			keys[k] = true
		}
	}
	for k := range keys {
		var v []float64
		for _, p := range all {
			if x, ok := p[k]; ok {
				v = append(v, x)
			}
		}
		if s := newSeries("s", v); s != nil {
			out[k] = s.Median
		}
	}
	return out
}

func fmtPhases(p onboardPhases) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%.2f ", k, p[k])
	}
	return strings.TrimSpace(b.String())
}

// workerCPU is a process's CPU seconds (user + system) so far.
func workerCPU(pid int) float64 {
	f := procStat(pid)
	return ticks(f, 11) + ticks(f, 12)
}

// temporalCPU is the dev server's CPU seconds so far.
func temporalCPU(st *e2estack.Stack) float64 {
	if st.Temporal == nil || st.Temporal.Process == nil {
		return 0
	}
	return workerCPU(st.Temporal.Process.Pid())
}

// workerProfile takes a CPU profile of the worker (pprof over its HTTP
// address) for seconds, the length of the previous run and a little, and
// delivers it when it ends.
func workerProfile(addr string, seconds int) chan []byte {
	ch := make(chan []byte, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, seconds))
		if err != nil {
			ch <- nil
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		ch <- b
	}()
	return ch
}

// quietLogger silences the Temporal client's own logging.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
