package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/backfill"
	"github.com/ardent-cdc/ardent/internal/e2estack"
	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/replication"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
	"github.com/ardent-cdc/ardent/internal/sink/postgres"
	"github.com/ardent-cdc/ardent/internal/snapshot"
)

// benchBackfill compares a per-table backfill (internal/backfill: temporary
// slot, copy under its snapshot, catch-up, handover) of a table joining a
// connector with the initial snapshot (snapshot.Run) of the same table into
// the same destination: issue 16 asks the backfill for at least 0.8 of the
// snapshot's rows/s. The snapshot is the baseline here. While each copy
// runs (both sides), pgbench writes backfillLagRate single-row transactions
// per second into another table of the same connector, whose stream keeps
// applying them; during the backfill, their lag p99 (the lag workload's method: the destination's commit
// timestamp minus the source row's clock_timestamp) must stay under 2 s.
func benchBackfill(ctx context.Context, e *env, cfg config) Result {
	n := cfg.SnapshotRows
	res := Result{
		Workload: fmt.Sprintf("backfill of a new %s-row table vs its initial snapshot", human(float64(n))),
		RowShape: "the snapshot workload's table; source and destination on two clusters; baseline = snapshot.Run of the same table",
		Target:   ">= 0.80 x baseline",
	}
	conf := pgtest.Options{ExtraConf: []string{"max_wal_size = 4GB"}}
	src, err := e.cluster(ctx, "backfill-src", conf)
	if err != nil {
		return failed(res, err)
	}
	dst, err := e.cluster(ctx, "backfill-dst", pgtest.Options{ExtraConf: []string{"max_wal_size = 4GB", "track_commit_timestamp = on"}})
	if err != nil {
		return failed(res, err)
	}
	if err := src.ExecContext(ctx, "postgres", fmt.Sprintf(snapshotTable, "t", "t")+fmt.Sprintf(`;
INSERT INTO t SELECT i, i %% 10007, i %% 7, 'customer-' || md5(i::text), timestamptz '2024-01-01' + i * interval '1 second', (i %% 100000) / 7.0
  FROM generate_series(1, %d) i`, n)); err != nil {
		return failed(res, err)
	}
	if err := src.ExecContext(ctx, "postgres", "VACUUM (FREEZE, ANALYZE) t"); err != nil {
		return failed(res, err)
	}
	if err := src.ExecContext(ctx, "postgres", `CREATE TABLE lag_events (id bigserial PRIMARY KEY, ts timestamptz NOT NULL, pad text)`); err != nil {
		return failed(res, err)
	}
	if err := src.ExecContext(ctx, "postgres", `SELECT pg_create_logical_replication_slot('ardent_bench_main', 'wal2json')`); err != nil {
		return failed(res, err)
	}
	conn, err := pgx.Connect(ctx, src.URL("postgres"))
	if err != nil {
		return failed(res, err)
	}
	tables, err := schema.Discover(ctx, conn, schema.Selection{Tables: []string{"public.t"}})
	if err != nil {
		conn.Close(ctx)
		return failed(res, fmt.Errorf("discover: %w", err))
	}
	lagTables, err := schema.Discover(ctx, conn, schema.Selection{Tables: []string{"public.lag_events"}})
	conn.Close(ctx)
	if err != nil {
		return failed(res, fmt.Errorf("discover: %w", err))
	}
	s, err := postgres.Open(ctx, dst.URL("postgres"), e.log.With("component", "sink"))
	if err != nil {
		return failed(res, fmt.Errorf("open sink: %w", err))
	}
	defer s.Close(context.WithoutCancel(ctx))
	if err := s.Prepare(ctx, "bench", append(slices.Clone(tables), lagTables...)); err != nil {
		return failed(res, fmt.Errorf("prepare sink: %w", err))
	}
	// The connector's stream: lag_events streams, t joins by backfill.
	if err := s.ResetCheckpoint(ctx, "bench", 0); err != nil {
		return failed(res, err)
	}
	if err := s.ReplaceTableStates(ctx, "bench", []sink.TableState{{Schema: "public", Name: "lag_events", State: sink.TableStreaming}}); err != nil {
		return failed(res, err)
	}
	st, err := replication.New(replication.Options{Source: src.config("postgres"), Slot: "ardent_bench_main", Connector: "bench",
		Schemas: []string{"public"}, Sink: s, Log: e.log.With("component", "stream")})
	if err != nil {
		return failed(res, err)
	}
	sctx, stopStream := context.WithCancel(ctx)
	streamDone := make(chan error, 1)
	go func() { streamDone <- st.Run(sctx) }()
	defer func() { stopStream(); <-streamDone }()
	count := func() error {
		var got int64
		if err := dst.QueryRowContext(ctx, "postgres", "SELECT count(*) FROM t", &got); err != nil {
			return err
		}
		if got != int64(n) {
			return fmt.Errorf("destination holds %d rows, want %d", got, n)
		}
		return dst.ExecContext(ctx, "postgres", "CHECKPOINT")
	}
	snap := func() (float64, error) {
		// The same load as during the backfill: both sides copy on a
		// source and a destination that are busy with it.
		load, stopLoad := context.WithCancel(ctx)
		loadDone := make(chan struct{})
		go func() { defer close(loadDone); backfillLoad(load, e, src) }()
		start := time.Now()
		_, err := snapshot.Run(ctx, snapshot.RunOptions{Source: src.config("postgres"), Connector: "bench", Slot: "ardent_bench",
			Tables: tables, Copier: s, Logger: e.log.With("component", "snapshot")})
		d := time.Since(start)
		stopLoad()
		<-loadDone
		if err != nil {
			return 0, fmt.Errorf("snapshot.Run: %w", err)
		}
		if err := src.ExecContext(ctx, "postgres", "SELECT pg_drop_replication_slot('ardent_bench')"); err != nil {
			return 0, err
		}
		return float64(n) / d.Seconds(), count()
	}
	var last backfill.Result
	var p99s []float64
	fill := func() (float64, error) {
		var from int64
		if err := src.QueryRowContext(ctx, "postgres", "SELECT coalesce(max(id), 0) FROM lag_events", &from); err != nil {
			return 0, err
		}
		load, stopLoad := context.WithCancel(ctx)
		loadDone := make(chan struct{})
		go func() { defer close(loadDone); backfillLoad(load, e, src) }()
		start := time.Now()
		r, err := backfill.Run(ctx, backfill.Options{Source: src.config("postgres"), Connector: "bench", Table: tables[0], Sink: s, Parallelism: backfillParallelism,
			Log: e.log.With("component", "backfill")})
		d := time.Since(start)
		stopLoad()
		<-loadDone
		if err != nil {
			return 0, fmt.Errorf("backfill.Run: %w", err)
		}
		last = r
		p99, err := lagP99(ctx, src, dst, from)
		if err != nil {
			return 0, err
		}
		p99s = append(p99s, p99)
		e.log.Info("backfill run", "rows_per_s", float64(n)/d.Seconds(), "other_table_lag_p99_s", p99)
		return float64(n) / d.Seconds(), count()
	}
	base, ard, err := alternate(cfg, "backfill.cpu.prof", snap, fill)
	if err != nil {
		return failed(res, err)
	}
	res.Baseline, res.Ardent = newSeries("rows/s", base), newSeries("rows/s", ard)
	res.Ratio = res.Ardent.Median / res.Baseline.Median
	worst := slices.Max(p99s)
	res.Met = res.Ratio >= 0.80 && worst < 2
	res.Details = map[string]any{"bytes": last.Bytes, "consistent_lsn": last.Consistent.String(), "handed_over_lsn": last.HandedOver.String(),
		"other_table_tps": backfillLagRate, "other_table_lag_p99_s_per_run": p99s, "other_table_lag_p99_target_s": 2}
	res.Target = fmt.Sprintf(">= 0.80 x baseline; other table's lag p99 < 2 s at %d TPS (worst run: %.2f s)", backfillLagRate, worst)
	return res
}

// backfillLagRate is the other table's write rate during a backfill.
const backfillLagRate = 1000

// backfillLoad drives backfillLagRate single-row transactions per second
// into lag_events with pgbench until ctx ends.
func backfillLoad(ctx context.Context, e *env, src *cluster) {
	script := filepath.Join(e.root, "backfill-lag.sql")
	if err := os.WriteFile(script, []byte(lagScript), 0o644); err != nil {
		e.log.Warn("backfill lag load", "err", err)
		return
	}
	cmd := exec.CommandContext(ctx, pgtest.Tool("pgbench"), "-n", "-h", "127.0.0.1", "-p", fmt.Sprint(src.Port), "-U", "postgres",
		"-c", "2", "-j", "2", "-R", fmt.Sprint(backfillLagRate), "-T", "3600", "-f", script, "postgres")
	cmd.Env = append(os.Environ(), "PGSSLMODE=disable")
	_ = cmd.Run() // ends when ctx does
}

// lagP99 waits until the destination has every lag_events row after from
// and returns their lag p99 in seconds.
func lagP99(ctx context.Context, src, dst *cluster, from int64) (float64, error) {
	var want int64
	if err := src.QueryRowContext(ctx, "postgres", fmt.Sprintf("SELECT count(*) FROM lag_events WHERE id > %d", from), &want); err != nil {
		return 0, err
	}
	if want == 0 {
		return 0, fmt.Errorf("pgbench wrote no rows during the backfill")
	}
	err := e2estack.Poll(ctx, 3*time.Minute, 100*time.Millisecond, "the other table caught up", func() (bool, error) {
		var got int64
		if err := dst.QueryRowContext(ctx, "postgres", fmt.Sprintf("SELECT count(*) FROM lag_events WHERE id > %d", from), &got); err != nil {
			return false, err
		}
		return got >= want, nil
	})
	if err != nil {
		return 0, err
	}
	var p99 float64
	err = dst.QueryRowContext(ctx, "postgres", fmt.Sprintf(`SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY
		extract(epoch FROM pg_xact_commit_timestamp(xmin) - ts)::float8) FROM lag_events WHERE id > %d`, from), &p99)
	return p99, err
}

// backfillParallelism is the backfill's copy sessions in this workload
// (0: the product's default, backfill.DefaultParallelism).
var backfillParallelism = envInt("BENCH_BACKFILL_PARALLELISM", 0)
