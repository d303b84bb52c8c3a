package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// config holds the workload sizes; the defaults are the issues' numbers.
// Each has a flag and a BENCH_* environment variable (the flag wins).
type config struct {
	Runs          int
	Tables        int
	SnapshotRows  int
	StreamRows    int
	StreamTxRows  int
	BigTxRows     int
	LagRate       int
	LagSeconds    int
	LagClients    int
	RSSRows       int
	VerifyRows    int
	Fleet         fleetConfig
	OnboardRows   int
	ResultsDir    string
	RepoRoot      string
	Profile       bool
	LagInProcess  bool
	NoLagBaseline bool
	Verbose       bool
}

var workloads = []string{"preflight", "snapshot", "backfill", "streaming", "bigtx", "lag", "rss", "verify", "onboard", "fleet", "resume"}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func run() error {
	var cfg config
	quick := flag.Bool("quick", os.Getenv("BENCH_QUICK") != "", "scale every count down ~20x for a quick check (BENCH_QUICK)")
	flag.IntVar(&cfg.Runs, "runs", envInt("BENCH_RUNS", 3), "timed runs per side after one warm-up (BENCH_RUNS)")
	flag.IntVar(&cfg.Tables, "tables", envInt("BENCH_TABLES", 10000), "preflight: tables (BENCH_TABLES)")
	flag.IntVar(&cfg.SnapshotRows, "snapshot-rows", envInt("BENCH_SNAPSHOT_ROWS", 2_000_000), "snapshot: rows (BENCH_SNAPSHOT_ROWS)")
	flag.IntVar(&cfg.StreamRows, "stream-rows", envInt("BENCH_STREAM_ROWS", 1_000_000), "streaming: rows inserted, then updated, then deleted (BENCH_STREAM_ROWS)")
	flag.IntVar(&cfg.StreamTxRows, "stream-tx-rows", envInt("BENCH_STREAM_TX_ROWS", 10_000), "streaming: rows per source transaction (BENCH_STREAM_TX_ROWS)")
	flag.IntVar(&cfg.BigTxRows, "bigtx-rows", envInt("BENCH_BIGTX_ROWS", 1_000_000), "bigtx: rows of the one source transaction (BENCH_BIGTX_ROWS)")
	flag.IntVar(&cfg.LagRate, "lag-rate", envInt("BENCH_LAG_RATE", 5000), "lag: single-row transactions per second (BENCH_LAG_RATE)")
	flag.IntVar(&cfg.LagSeconds, "lag-seconds", envInt("BENCH_LAG_SECONDS", 30), "lag: seconds per run (BENCH_LAG_SECONDS)")
	flag.IntVar(&cfg.LagClients, "lag-clients", envInt("BENCH_LAG_CLIENTS", 4), "lag: pgbench clients (BENCH_LAG_CLIENTS)")
	flag.IntVar(&cfg.RSSRows, "rss-rows", envInt("BENCH_RSS_ROWS", 1_000_000), "rss: rows of the one source transaction (BENCH_RSS_ROWS)")
	flag.IntVar(&cfg.VerifyRows, "verify-rows", envInt("BENCH_VERIFY_ROWS", 10_000_000), "verify: rows of the table verified (BENCH_VERIFY_ROWS)")
	flag.IntVar(&cfg.OnboardRows, "onboard-rows", envInt("BENCH_ONBOARD_ROWS", 10_000_000), "onboard: rows of the table onboarded (BENCH_ONBOARD_ROWS)")
	flag.IntVar(&cfg.Fleet.Connectors, "fleet-connectors", envInt("BENCH_FLEET_CONNECTORS", 100), "fleet: connectors on one worker, one source database each (BENCH_FLEET_CONNECTORS)")
	flag.IntVar(&cfg.Fleet.Rows, "fleet-rows", envInt("BENCH_FLEET_ROWS", 1000), "fleet: rows of each connector's table (BENCH_FLEET_ROWS)")
	flag.IntVar(&cfg.Fleet.IdleSeconds, "fleet-idle-seconds", envInt("BENCH_FLEET_IDLE_SECONDS", 60), "fleet: idle window measured (BENCH_FLEET_IDLE_SECONDS)")
	flag.StringVar(&cfg.ResultsDir, "results", "", "results directory (default <repo>/bench/results)")
	flag.BoolVar(&cfg.Profile, "profile", os.Getenv("BENCH_PROFILE") != "", "write CPU profiles (*.cpu.prof, git-ignored) of the last Ardent snapshot and streaming runs and of an in-process lag next to the results (BENCH_PROFILE)")
	flag.BoolVar(&cfg.LagInProcess, "lag-inprocess", os.Getenv("BENCH_LAG_INPROCESS") != "", "lag: measure the in-process Streamer instead of the worker, e.g. to profile it (BENCH_LAG_INPROCESS)")
	flag.BoolVar(&cfg.NoLagBaseline, "no-lag-baseline", os.Getenv("BENCH_NO_LAG_BASELINE") != "", "lag: skip the pg_recvlogical lag runs (BENCH_NO_LAG_BASELINE)")
	merge := flag.Bool("merge", false, "keep the other workloads' results of the results directory's latest.json, replacing only those measured now (each line keeps the commit it was measured at)")
	readme := flag.Bool("readme", false, "measure nothing: rewrite README.md's bench table from the results directory's latest.json (make bench-readme)")
	flag.BoolVar(&cfg.Verbose, "v", os.Getenv("BENCH_VERBOSE") != "", "log progress details (BENCH_VERBOSE)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: bench [flags] [%s]...\n", strings.Join(workloads, "|"))
		flag.PrintDefaults()
	}
	flag.Parse()
	if *quick {
		cfg.Tables, cfg.SnapshotRows, cfg.StreamRows = cfg.Tables/10, cfg.SnapshotRows/20, cfg.StreamRows/20
		cfg.BigTxRows /= 10
		cfg.LagSeconds, cfg.RSSRows = max(cfg.LagSeconds/6, 5), cfg.RSSRows/10
		cfg.VerifyRows /= 20
		cfg.Fleet.Connectors, cfg.Fleet.IdleSeconds = max(cfg.Fleet.Connectors/10, 1), max(cfg.Fleet.IdleSeconds/3, 10)
		cfg.OnboardRows /= 20
	}
	cfg.Runs = max(cfg.Runs, 1)
	selected := map[string]bool{}
	for _, a := range flag.Args() {
		if !slicesContains(workloads, a) {
			flag.Usage()
			return fmt.Errorf("unknown workload %q", a)
		}
		selected[a] = true
	}
	if len(selected) == 0 {
		for _, w := range workloads {
			selected[w] = true
		}
	}
	root, err := temporaltest.RepoRoot()
	if err != nil {
		return err
	}
	cfg.RepoRoot = root
	if cfg.ResultsDir == "" {
		cfg.ResultsDir = filepath.Join(root, "bench", "results")
	}
	if *readme {
		readmePath, jsonPath := readmePaths(cfg)
		if err := renderReadme(readmePath, jsonPath); err != nil {
			return err
		}
		fmt.Printf("%s: bench table rewritten from %s\n", readmePath, jsonPath)
		return nil
	}

	level := slog.LevelInfo
	if cfg.Verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	inst, err := pgtest.FindInstall()
	if err != nil {
		return err
	}
	pgVersion := strings.TrimSpace(commandOutput(filepath.Join(inst.BinDir, "postgres"), "--version"))

	e, err := newEnv(log)
	if err != nil {
		return err
	}
	defer e.cleanup()

	rep := Report{
		Started: time.Now().UTC(), Machine: machine(), Postgres: pgVersion,
		Counts: map[string]any{
			"runs": cfg.Runs, "tables": cfg.Tables, "snapshot_rows": cfg.SnapshotRows,
			"stream_rows": cfg.StreamRows, "stream_tx_rows": cfg.StreamTxRows, "bigtx_rows": cfg.BigTxRows, "lag_rate": cfg.LagRate,
			"lag_seconds": cfg.LagSeconds, "rss_rows": cfg.RSSRows,
			"verify_rows": cfg.VerifyRows, "onboard_rows": cfg.OnboardRows, "fleet_connectors": cfg.Fleet.Connectors, "fleet_rows": cfg.Fleet.Rows,
			"fleet_idle_seconds": cfg.Fleet.IdleSeconds, "quick": *quick,
		},
		Notes:  map[string]string{},
		Commit: treeState(root),
	}
	start := time.Now()
	steps := []struct {
		name string
		fn   func(context.Context, *env, config) Result
	}{
		{"preflight", benchPreflight},
		{"snapshot", benchSnapshot},
		{"backfill", benchBackfill},
		{"streaming", benchStreaming},
		{"bigtx", benchBigTx},
		{"verify", benchVerify},
		{"resume", benchResume},
		{"onboard", benchOnboard},
		{"fleet", benchFleet},
	}
	for _, s := range steps {
		if !selected[s.name] || ctx.Err() != nil {
			continue
		}
		log.Info("workload starting", "workload", s.name)
		t0 := time.Now()
		res := s.fn(ctx, e, cfg)
		res.Seconds = time.Since(t0).Seconds()
		log.Info("workload done", "workload", s.name, "took", time.Since(t0).Round(time.Second), "met", res.Met, "error", res.Error)
		rep.Results = append(rep.Results, res)
		e.stopClusters()
	}
	// lag and rss share one full stack (dev server, catalog, worker).
	if (selected["lag"] || selected["rss"]) && ctx.Err() == nil {
		t0 := time.Now()
		results, note := benchStack(ctx, e, cfg, selected["lag"], selected["rss"])
		for i := range results {
			results[i].Seconds = time.Since(t0).Seconds()
		}
		rep.Results = append(rep.Results, results...)
		if note != "" {
			rep.Notes["stack"] = note
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	for i := range rep.Results {
		rep.Results[i].Commit = rep.Commit
	}
	if *merge {
		if err := mergeInto(filepath.Join(cfg.ResultsDir, "latest.json"), &rep); err != nil {
			return err
		}
	}
	printTable(os.Stdout, rep)
	path, err := writeJSON(cfg.ResultsDir, rep)
	if err != nil {
		return err
	}
	fmt.Printf("\nresults: %s\n", path)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

// env owns what the harness started, so that everything stops on exit.
type env struct {
	log      *slog.Logger
	root     string // scratch files (pgbench scripts, pg_recvlogical output)
	mu       sync.Mutex
	clusters []*cluster
}

func newEnv(log *slog.Logger) (*env, error) {
	root, err := os.MkdirTemp("", "ardent-bench-")
	if err != nil {
		return nil, fmt.Errorf("create bench directory: %w", err)
	}
	return &env{log: log, root: root}, nil
}

func (e *env) cleanup() {
	e.stopClusters()
	_ = os.RemoveAll(e.root)
}

// profile runs fn under a CPU profile written to dir/name when enabled.
func profile(cfg config, name string, fn func() error) error {
	if !cfg.Profile {
		return fn()
	}
	f, err := os.Create(filepath.Join(cfg.ResultsDir, name))
	if err != nil {
		return fn()
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return fn()
	}
	defer pprof.StopCPUProfile()
	return fn()
}

func commandOutput(bin string, args ...string) string {
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		return fmt.Sprintf("(%s: %v)", filepath.Base(bin), err)
	}
	return string(out)
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func failed(r Result, err error) Result {
	r.Error = err.Error()
	r.Met = false
	return r
}

// treeState is HEAD's short hash, with -dirty when the working tree differs.
func treeState(root string) string {
	head, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	state := strings.TrimSpace(string(head))
	if out, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(strings.TrimSpace(string(out))) > 0 {
		state += "-dirty"
	}
	return state
}
