package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/ardent-cdc/ardent/activities"
	"github.com/ardent-cdc/ardent/internal/admission"
	"github.com/ardent-cdc/ardent/internal/buildinfo"
	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/config"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/internal/sink"
	pgsink "github.com/ardent-cdc/ardent/internal/sink/postgres"
	"github.com/ardent-cdc/ardent/internal/slotwatch"
	"github.com/ardent-cdc/ardent/worker/codec"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ardent-worker:", err)
		if errors.Is(err, flag.ErrHelp) || errors.Is(err, pflag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	// The worker runs with Go's default garbage collector settings (GOGC=100,
	// no memory limit; GOGC and GOMEMLIMIT in the environment work as usual).
	// Measured with make bench (issue 19): GOGC=400 under a 100 MiB soft limit
	// peaked at 105-111 MB on a 1M-row transaction, the default at 59-65 MB;
	// decoded changes are short-lived garbage and the live heap is small, so
	// a collection is cheap (bench's own in-process streaming workloads run
	// with the default and keep up with pg_recvlogical). A fixed soft limit
	// would also make a worker running many connectors, whose live heap grows
	// with them, collect without pause.
	fs := pflag.NewFlagSet("ardent-worker", pflag.ContinueOnError)
	cfgFile := fs.String("config", "", "YAML configuration file")
	fs.String("temporal-address", "", "Temporal frontend host:port (ARDENT_TEMPORAL_ADDRESS)")
	fs.String("temporal-namespace", "", "Temporal namespace (ARDENT_TEMPORAL_NAMESPACE)")
	fs.String("task-queue", "", "task queue (ARDENT_TASK_QUEUE)")
	fs.String("http-address", "", "metrics and codec endpoint host:port (ARDENT_HTTP_ADDRESS)")
	fs.String("log-level", "", "debug, info, warn or error (ARDENT_LOG_LEVEL)")
	fs.Int("snapshot-max-concurrent", 0, "copies this worker runs at once; 0 or less: no bound (ARDENT_SNAPSHOT_MAX_CONCURRENT, default 2)")
	fs.Int("snapshot-max-per-source-host", 0, "copies of one source host:port across workers; 0 or less: no bound (ARDENT_SNAPSHOT_MAX_PER_SOURCE_HOST, default 2)")
	version := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *version {
		fmt.Println(buildinfo.Line("ardent-worker"))
		return nil
	}
	cfg, err := config.Load(fs, *cfgFile)
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	if err := cfg.ValidateWorker(); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	kr, err := secrets.LoadKeyring(cfg.MasterKey, cfg.MasterKeyFile, cfg.OldMasterKeys)
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}

	cat, err := catalog.Open(ctx, cfg.CatalogURL, log)
	if err != nil {
		return err
	}
	defer cat.Close()
	if err := cat.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate catalog: %w", err)
	}

	tc, err := client.DialContext(ctx, codec.ClientOptions(kr, client.Options{
		HostPort:  cfg.TemporalAddress,
		Namespace: cfg.TemporalNamespace,
		Logger:    quietCancels(tlog.NewStructuredLogger(log)), // a requested cancellation is no ERROR
		// Every payload is encrypted by the codec, so gzip cannot shrink
		// it; compressing each heartbeat request was 16% of an idle
		// fleet worker's heartbeat CPU (bench fleet, pprof).
		ConnectionOptions: client.ConnectionOptions{GrpcCompression: &client.GrpcCompressionNone{}},
	}))
	if err != nil {
		return fmt.Errorf("dial Temporal at %s (is the server running? `make dev` starts one): %w", cfg.TemporalAddress, err)
	}
	defer tc.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := activities.NewMetrics(reg)
	slotMetrics := activities.NewSlotMetrics(reg, metrics)

	sinks := map[string]activities.SinkFactory{
		activities.SinkPostgres: func(ctx context.Context, dst *pgurl.Conn, log *slog.Logger) (sink.Sink, error) {
			return pgsink.New(ctx, dst.Config, log)
		},
	}

	w := worker.New(tc, cfg.TaskQueue, worker.Options{
		// Long activities record a heartbeat every heartbeat_interval
		// (8 s), on a grid all of them share (internal/cadence). A
		// heartbeat is a Temporal action, and an idle connector must cost
		// at most 0.2 of them per second (issue 19); a cancellation
		// (pause, drop) reaches a running activity with a heartbeat's
		// answer, within 8 s. The SDK holds back a heartbeat that follows
		// the last one sent within this interval and sends it when the
		// interval ends, counted from that send's answer: at 8 s, that
		// timer, not the grid, set each send's moment, and every
		// connector's heartbeat woke the worker on its own. At 6 s the
		// window has closed when the next grid point comes, so each one
		// leaves at once, with the others.
		MaxHeartbeatThrottleInterval:     6 * time.Second,
		DefaultHeartbeatThrottleInterval: 6 * time.Second,
		// A workflow task for a killed worker's workflow (the timeout of
		// its Replicate attempt) first waits this long in the dead
		// worker's sticky queue, the server's default 5 s, before any
		// worker may take it: a third of the 15 s a replacement has to
		// stream (issue 19). A live worker takes its sticky tasks at
		// once; one too busy for 2 s only replays the history elsewhere.
		StickyScheduleToStartTimeout: 2 * time.Second,
		// On SIGTERM the activities end at once (stop.go); this bounds
		// one that does not, so a stop takes a few seconds at most.
		WorkerStopTimeout: 4 * time.Second,
		Interceptors:      []interceptor.WorkerInterceptor{&stopPromptly{}},
	})
	report := progressReporter(tc)
	// One session per held permit plus one to try with; unbounded
	// copies still share a bounded pool (a copy finding none waits).
	hosts, err := admission.NewHostLocks(ctx, cat.ConnConfig(), cfg.SnapshotMaxPerSourceHost, sessionsFor(cfg.SnapshotMaxConcurrent))
	if err != nil {
		return err
	}
	defer hosts.Close()
	sched := &admission.Scheduler{Worker: admission.NewSlots(cfg.SnapshotMaxConcurrent), Hosts: hosts}
	register(w, activityStructs{
		preflight:  &activities.Preflighter{Catalog: cat, Keyring: kr, EgressIP: cfg.EgressIP, Metrics: metrics, Log: log},
		connectors: &activities.Connectors{Catalog: cat, Keyring: kr, Sinks: sinks, Metrics: metrics, Log: log},
		snapshot: &activities.Snapshotter{Catalog: cat, Keyring: kr, Sinks: sinks, Parallelism: cfg.SnapshotParallelism,
			HeartbeatInterval: cfg.HeartbeatInterval, Report: report, Scheduler: sched, Metrics: metrics, Log: log},
		stream: &activities.Streamer{Catalog: cat, Keyring: kr, Sinks: sinks, HeartbeatInterval: cfg.HeartbeatInterval,
			IdleEmitInterval: cfg.IdleEmitInterval, Report: report, Metrics: metrics, Log: log},
		verify: &activities.Verifier{Catalog: cat, Keyring: kr, HeartbeatInterval: cfg.HeartbeatInterval, Metrics: metrics, Log: log},
		tables: &activities.Tables{Catalog: cat, Keyring: kr, Sinks: sinks, Parallelism: cfg.SnapshotParallelism,
			HeartbeatInterval: cfg.HeartbeatInterval, Report: report, Scheduler: sched, Metrics: metrics, Log: log},
		drift: &activities.DriftGuard{Catalog: cat, Keyring: kr, Metrics: metrics, Log: log},
	})

	srv, err := startHTTP(ctx, cfg, kr, reg, tc.WorkflowService(), log)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	stopSlotWatch := startSlotWatch(ctx, cfg.SlotCheckInterval, &slotwatch.Watcher{Catalog: cat, Keyring: kr,
		Recorder: slotMetrics, Log: log.With("component", "slotwatch")}, log)
	defer stopSlotWatch()

	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker on task queue %q: %w", cfg.TaskQueue, err)
	}
	log.Info("worker started", "version", buildinfo.String(), "task_queue", cfg.TaskQueue, "temporal", cfg.TemporalAddress, "namespace", cfg.TemporalNamespace, "http", cfg.HTTPAddress)
	<-ctx.Done()
	log.Info("shutting down")
	w.Stop()
	return nil
}

// sessionsFor is the size of the snapshot scheduler's catalog sessions
// pool for a worker running up to limit copies.
func sessionsFor(limit int) int {
	if limit <= 0 {
		return 64
	}
	return limit + 1
}

func newLogger(cfg config.Config) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
