package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/e2estack"
	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/replication"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink/postgres"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// stack is the whole product (internal/e2estack): a source cluster (SSL),
// a cluster holding Ardent's catalog and the destination database
// (track_commit_timestamp on, for the lag measurement), a Temporal dev
// server and one real bin/ardent-worker, driven through bin/ardent as an
// operator would.
type stack struct {
	e        *env
	cfg      config
	st       *e2estack.Stack
	src, dst *cluster
	ardent   *e2estack.Deployment
	worker   *temporaltest.Process
}

const (
	stackConnector = "bench"
	stackDestDB    = "destination"
)

const stackTables = `
CREATE TABLE lag_events (id bigserial PRIMARY KEY, ts timestamptz NOT NULL, pad text NOT NULL);
CREATE TABLE big (id bigint PRIMARY KEY, v text NOT NULL);`

// benchStack runs the lag and RSS workloads on one stack. When the worker
// does not stream (a product piece not ready or broken), the lag is
// measured with the in-process Streamer instead and the note says why.
func benchStack(ctx context.Context, e *env, cfg config, doLag, doRSS bool) ([]Result, string) {
	lagRes := Result{
		Workload: fmt.Sprintf("streaming lag at %d single-row tx/s", cfg.LagRate),
		RowShape: fmt.Sprintf("lag_events(id bigserial PK, ts timestamptz, pad text 1 B); pgbench -R %d -T %d, %d clients; Ardent: lag = destination commit time of the row (track_commit_timestamp) - clock_timestamp() at its source insert; baseline: pg_recvlogical alone (Ardent paused), arrival of the COMMIT line - wal2json commit timestamp", cfg.LagRate, cfg.LagSeconds, cfg.LagClients),
		Target:   "p99 <= 1.1 x pg_recvlogical's p99 (ratio = Ardent / baseline)",
	}
	rssRes := Result{
		Workload: fmt.Sprintf("worker peak RSS, %s-row transaction", human(float64(cfg.RSSRows))),
		RowShape: "big(id bigint PK, v text 32 B); one INSERT ... SELECT generate_series transaction per run (warm-up: a tenth); VmHWM of the bin/ardent-worker process, reset before each run; target on the worst run",
		Target:   "< 100 MB",
	}
	var out []Result
	s, err := startStack(ctx, e, cfg)
	if s != nil {
		defer s.st.Close()
	}
	if err == nil {
		err = s.onboard(ctx)
	}
	if err == nil && cfg.LagInProcess && doLag {
		// The worker's connector is paused meanwhile, so that only one
		// pipeline applies the load.
		lagRes.RowShape += "; IN-PROCESS replication.Streamer (-lag-inprocess), worker's connector paused"
		if _, perr := s.cli(ctx, "pause", stackConnector); perr != nil {
			out = append(out, failed(lagRes, perr))
		} else {
			out = append(out, s.lagInProcess(ctx, lagRes))
			if _, rerr := s.cli(ctx, "resume", stackConnector); rerr != nil {
				err = rerr
			}
		}
		doLag = false
	}
	if err != nil {
		note := "full stack not streaming: " + err.Error()
		e.log.Error("stack", "error", err)
		if doLag {
			lagRes.RowShape += "; IN-PROCESS replication.Streamer (worker not streaming)"
			if s == nil || s.src == nil {
				out = append(out, failed(lagRes, err))
			} else {
				out = append(out, s.lagInProcess(ctx, lagRes))
			}
		}
		if doRSS {
			out = append(out, failed(rssRes, fmt.Errorf("needs a streaming worker: %w", err)))
		}
		return out, note
	}
	if doLag {
		lagRes.RowShape += "; real bin/ardent-worker via `ardent onboard`"
		out = append(out, s.lag(ctx, lagRes, s.dst, stackDestDB, pauser{pause: s.pauseWorker, resume: s.resumeWorker}))
	}
	if doRSS {
		out = append(out, s.rss(ctx, rssRes))
	}
	return out, ""
}

func startStack(ctx context.Context, e *env, cfg config) (*stack, error) {
	bin := filepath.Join(cfg.RepoRoot, "bin")
	for _, b := range []string{"ardent", "ardent-worker", "temporal"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return nil, fmt.Errorf("%s missing: run `make deps build` first: %w", filepath.Join(bin, b), err)
		}
	}
	st, err := e2estack.New(ctx, e2estack.Options{
		Source:               pgtest.Options{SSL: true, ExtraConf: []string{"max_wal_size = 4GB"}},
		Destination:          pgtest.Options{ExtraConf: []string{"max_wal_size = 4GB", "track_commit_timestamp = on"}},
		SourceDatabases:      []string{"app"},
		DestinationDatabases: []string{stackDestDB},
		ArdentBin:            filepath.Join(bin, "ardent"),
		WorkerBin:            filepath.Join(bin, "ardent-worker"),
		Dir:                  e.root,
	})
	if err != nil {
		return nil, err
	}
	s := &stack{e: e, cfg: cfg, st: st, src: &cluster{st.Src, "stack-src"}, dst: &cluster{st.Dst, "stack-dst"}}
	e.log.Debug("stack started", "source", s.src.display(), "destination", s.dst.display())
	if err := s.src.ExecContext(ctx, "app", stackTables); err != nil {
		return s, err
	}
	s.ardent = st.Deploy("bench", "ARDENT_LOG_LEVEL=info")
	s.worker, err = s.ardent.StartWorkerContext(ctx)
	return s, err
}

// cli runs bin/ardent with the stack's environment; a non-zero exit is an
// error holding the output's tail.
func (s *stack) cli(ctx context.Context, args ...string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	out, code, err := s.ardent.Command(cctx, nil, args...)
	if err == nil && code != 0 {
		err = fmt.Errorf("exit status %d", code)
	}
	if err != nil {
		return out, fmt.Errorf("ardent %s: %w: %s", args[0], err, temporaltest.Tail(out, 10))
	}
	return out, nil
}

// onboard creates the connector as an operator would and waits until a
// row written on the source arrives in the destination: the stage alone
// says streaming before the replication activity has applied anything.
func (s *stack) onboard(ctx context.Context) error {
	if _, err := s.cli(ctx, "onboard", "--name", stackConnector, "--source", s.src.URL("app"),
		"--destination", s.dst.URL(stackDestDB), "--schema", "public"); err != nil {
		return err
	}
	var last string
	err := e2estack.Poll(ctx, 3*time.Minute, time.Second, "stage streaming", func() (bool, error) {
		// `status` exits 1 for a failed connector, with its JSON all the same.
		out, err := s.cli(ctx, "status", stackConnector, "--format", "json")
		var st struct {
			Stage string `json:"stage"`
			Error string `json:"error"`
		}
		if jerr := json.Unmarshal([]byte(out), &st); jerr != nil {
			last = temporaltest.Tail(out, 5)
			if err != nil {
				last = err.Error()
			}
			return false, nil
		}
		last = fmt.Sprintf("stage %s %s", st.Stage, st.Error)
		if st.Stage == "failed" || st.Stage == "attention" {
			return false, errors.New(last)
		}
		return st.Stage == "streaming", nil
	})
	if err != nil {
		return fmt.Errorf("%w (last status: %s); worker log tail:\n%s", err, last, workerErrors(s.worker))
	}
	// A panicking Replicate activity retries with backoff forever: give it
	// two attempts' worth of time, then report it.
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for pctx.Err() == nil {
			if replicatePanicked(s.worker) {
				time.Sleep(5 * time.Second)
				cancel()
				return
			}
			time.Sleep(500 * time.Millisecond)
		}
	}()
	if _, err := s.probe(pctx, s.dst, stackDestDB, 90*time.Second); err != nil {
		return fmt.Errorf("%w; worker log tail:\n%s", err, workerErrors(s.worker))
	}
	return nil
}

// workerErrors is the end of the worker's log, error and warning lines
// first, for the report of a stack that does not stream.
func workerErrors(p *temporaltest.Process) string {
	if p == nil {
		return ""
	}
	var errs []string
	seen := map[string]bool{}
	for _, l := range strings.Split(p.Output(), "\n") {
		if !strings.Contains(l, "level=ERROR") && !strings.Contains(l, "panic") {
			continue
		}
		// Stacks and timestamps make every line unique; keep the gist once.
		if i := strings.Index(l, " PanicStack="); i >= 0 {
			l = l[:i]
		}
		if i := strings.Index(l, " level="); i >= 0 {
			l = l[i+1:]
		}
		l = strings.Join(strings.Fields(regexp.MustCompile(`(Attempt|RunID|WorkerID)=\S+`).ReplaceAllString(l, "")), " ")
		if len(l) > 400 {
			l = l[:400] + "..."
		}
		if !seen[l] {
			seen[l] = true
			errs = append(errs, l)
		}
	}
	if len(errs) > 0 {
		return temporaltest.Tail(strings.Join(errs, "\n"), 5)
	}
	out := temporaltest.Tail(p.Output(), 10)
	if len(out) > 2000 {
		out = out[len(out)-2000:]
	}
	return out
}

// replicatePanicked reports whether the worker's Replicate activity
// panicked: then no row will arrive, and waiting longer only costs time.
func replicatePanicked(p *temporaltest.Process) bool {
	out := p.Output()
	return strings.Contains(out, "Activity panic") && strings.Contains(out, "ActivityType=Replicate")
}

// lagInProcess measures the lag with the in-process Streamer applying to a
// separate destination database, when the worker cannot.
func (s *stack) lagInProcess(ctx context.Context, res Result) Result {
	const db = "inproc"
	if err := s.dst.CreateDatabaseContext(ctx, db); err != nil {
		return failed(res, err)
	}
	if err := s.src.ExecContext(ctx, "app", "SELECT pg_create_logical_replication_slot('bench_lag', 'wal2json')"); err != nil {
		return failed(res, err)
	}
	conn, err := pgx.Connect(ctx, s.src.URL("app"))
	if err != nil {
		return failed(res, err)
	}
	tables, err := schema.Discover(ctx, conn, schema.Selection{Tables: []string{"public.lag_events"}})
	conn.Close(ctx)
	if err != nil {
		return failed(res, fmt.Errorf("discover: %w", err))
	}
	sk, err := postgres.Open(ctx, s.dst.URL(db), s.e.log.With("component", "sink"))
	if err != nil {
		return failed(res, err)
	}
	defer sk.Close(context.WithoutCancel(ctx))
	if err := sk.Prepare(ctx, "bench_lag", tables); err != nil {
		return failed(res, err)
	}
	st, err := replication.New(replication.Options{Source: s.src.config("app"), Slot: "bench_lag", Connector: "bench_lag",
		Tables: tables, Sink: sk, Log: s.e.log.With("component", "replication")})
	if err != nil {
		return failed(res, err)
	}
	var cancel context.CancelFunc
	var done chan error
	start := func(context.Context) error {
		var sctx context.Context
		sctx, cancel = context.WithCancel(ctx)
		done = make(chan error, 1)
		go func() { done <- st.Run(sctx) }()
		return nil
	}
	stop := func(context.Context) error {
		cancel()
		<-done
		return s.waitSlotInactive(ctx, "bench_lag")
	}
	_ = start(ctx)
	defer func() { cancel(); <-done }()
	var out Result
	_ = profile(s.cfg, "lag-inprocess.cpu.prof", func() error {
		out = s.lag(ctx, res, s.dst, db, pauser{pause: stop, resume: start})
		return nil
	})
	return out
}

// pauseWorker pauses the connector as an operator would and waits until
// its walsender let go of the slot.
func (s *stack) pauseWorker(ctx context.Context) error {
	if _, err := s.cli(ctx, "pause", stackConnector); err != nil {
		return err
	}
	return s.waitSlotInactive(ctx, "ardent_"+stackConnector)
}

func (s *stack) resumeWorker(ctx context.Context) error {
	_, err := s.cli(ctx, "resume", stackConnector)
	return err
}

func (s *stack) waitSlotInactive(ctx context.Context, slot string) error {
	return e2estack.Poll(ctx, time.Minute, 100*time.Millisecond, fmt.Sprintf("slot %s released", slot), func() (bool, error) {
		var active bool
		if err := s.src.QueryRowContext(ctx, "app", fmt.Sprintf("SELECT active FROM pg_replication_slots WHERE slot_name = '%s'", slot), &active); err != nil {
			return false, err
		}
		return !active, nil
	})
}
