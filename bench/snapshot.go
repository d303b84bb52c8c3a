package main

import (
	"context"
	"fmt"
	"os/exec"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink/postgres"
	"github.com/ardent-cdc/ardent/internal/snapshot"
)

// snapshotTable is the shape of internal/snapshot's BenchmarkSnapshot2M, so
// the figures of the two can be compared.
const snapshotTable = `CREATE TABLE %s (
	id bigint NOT NULL, account int NOT NULL, status int, label text,
	created_at timestamptz NOT NULL, amount numeric(12,2)); ALTER TABLE %s ADD PRIMARY KEY (id)`

// benchSnapshot compares snapshot.Run (slot + exported snapshot + parallel
// chunked COPY into the real postgres sink) with the raw pipe
// `psql COPY TO STDOUT (binary) | psql COPY FROM STDIN (binary)` between
// the same two clusters. Both destination tables carry the same primary
// key, so both sides pay the same index upkeep; each run starts from an
// empty, checkpointed destination table.
func benchSnapshot(ctx context.Context, e *env, cfg config) Result {
	n := cfg.SnapshotRows
	res := Result{
		Workload: fmt.Sprintf("snapshot, %s-row table", human(float64(n))),
		RowShape: "t(id bigint PK, account int, status int, label text ~41 B, created_at timestamptz, amount numeric(12,2)); source and destination on two clusters",
		Target:   ">= 0.80 x baseline",
	}
	conf := pgtest.Options{ExtraConf: []string{"max_wal_size = 4GB"}}
	src, err := e.cluster(ctx, "snapshot-src", conf)
	if err != nil {
		return failed(res, err)
	}
	dst, err := e.cluster(ctx, "snapshot-dst", conf)
	if err != nil {
		return failed(res, err)
	}
	t0 := time.Now()
	if err := src.ExecContext(ctx, "postgres", fmt.Sprintf(snapshotTable, "t", "t")+fmt.Sprintf(`;
INSERT INTO t SELECT i, i %% 10007, i %% 7, 'customer-' || md5(i::text), timestamptz '2024-01-01' + i * interval '1 second', (i %% 100000) / 7.0
  FROM generate_series(1, %d) i`, n)); err != nil {
		return failed(res, err)
	}
	// Hint bits and the visibility map set once, so no run pays for them.
	if err := src.ExecContext(ctx, "postgres", "VACUUM (FREEZE, ANALYZE) t"); err != nil {
		return failed(res, err)
	}
	if err := dst.ExecContext(ctx, "postgres", fmt.Sprintf(snapshotTable, "t2", "t2")); err != nil {
		return failed(res, err)
	}
	e.log.Info("snapshot: source loaded", "rows", n, "took", time.Since(t0).Round(time.Millisecond))

	conn, err := pgx.Connect(ctx, src.URL("postgres"))
	if err != nil {
		return failed(res, err)
	}
	tables, err := schema.Discover(ctx, conn, schema.Selection{Tables: []string{"public.t"}})
	conn.Close(ctx)
	if err != nil {
		return failed(res, fmt.Errorf("discover: %w", err))
	}
	s, err := postgres.Open(ctx, dst.URL("postgres"), e.log.With("component", "sink"))
	if err != nil {
		return failed(res, fmt.Errorf("open sink: %w", err))
	}
	defer s.Close(context.WithoutCancel(ctx))
	if err := s.Prepare(ctx, "bench", tables); err != nil {
		return failed(res, fmt.Errorf("prepare sink: %w", err))
	}

	var baseCPU, ardCPU map[string]float64 // of the last run of each side
	baseline := func() (float64, error) {
		if err := dst.ExecContext(ctx, "postgres", "TRUNCATE t2; CHECKPOINT"); err != nil {
			return 0, err
		}
		m0 := markCPU(src, dst)
		start := time.Now()
		cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c",
			`"$PSQL" -X -q -d "$SRC" -c 'COPY t TO STDOUT (FORMAT binary)' | "$PSQL" -X -q -d "$DST" -c 'COPY t2 FROM STDIN (FORMAT binary)'`)
		cmd.Env = append(cmd.Environ(), "PSQL="+pgtest.Tool("psql"), "SRC="+src.URL("postgres"), "DST="+dst.URL("postgres"))
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("baseline psql | psql: %w: %s", err, out)
		}
		d := time.Since(start)
		baseCPU = cpuUse(m0, markCPU(src, dst), map[string]float64{
			"psql_pipe": (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()})
		return float64(n) / d.Seconds(), nil
	}
	var last snapshot.RunResult
	ardent := func() (float64, error) {
		if err := dst.ExecContext(ctx, "postgres", "TRUNCATE t; CHECKPOINT"); err != nil {
			return 0, err
		}
		m0 := markCPU(src, dst)
		start := time.Now()
		r, err := snapshot.Run(ctx, snapshot.RunOptions{
			Source: src.config("postgres"), Connector: "bench", Slot: "ardent_bench", Tables: tables, Copier: s,
			Logger: e.log.With("component", "snapshot"),
		})
		if err != nil {
			return 0, fmt.Errorf("snapshot.Run: %w", err)
		}
		if r.Copy.Rows != int64(n) {
			return 0, fmt.Errorf("snapshot.Run copied %d rows, want %d", r.Copy.Rows, n)
		}
		last = r
		d := time.Since(start)
		ardCPU = cpuUse(m0, markCPU(src, dst), nil)
		return float64(n) / d.Seconds(), nil
	}
	base, ard, err := alternate(cfg, "snapshot.cpu.prof", baseline, ardent)
	if err != nil {
		return failed(res, err)
	}
	var count int64
	if err := dst.QueryRowContext(ctx, "postgres", "SELECT count(*) FROM t", &count); err != nil {
		return failed(res, err)
	}
	if count != int64(n) {
		return failed(res, fmt.Errorf("destination holds %d rows after the snapshot, want %d", count, n))
	}
	res.Baseline, res.Ardent = newSeries("rows/s", base), newSeries("rows/s", ard)
	res.Ratio = res.Ardent.Median / res.Baseline.Median
	res.Met = res.Ratio >= 0.80
	res.Details = map[string]any{"parallelism": last.Copy.Parallelism, "chunks": last.Copy.Chunks, "bytes": last.Copy.Bytes,
		"baseline_cpu_cores": baseCPU, "ardent_cpu_cores": ardCPU}
	return res
}

// alternate runs one warm-up of each side, then cfg.Runs timed runs of
// each, in the order baseline-Ardent, then Ardent-baseline, and so on
// (ABBA): this machine's speed drifts by as much as half within minutes,
// and a fixed order would hand a steady drift to one side. The last
// Ardent run is profiled when profiling is on.
func alternate(cfg config, profName string, baseline, ardent func() (float64, error)) (base, ard []float64, err error) {
	for i := 0; i <= cfg.Runs; i++ {
		var b, a float64
		runBase := func() error { var err error; b, err = baseline(); return err }
		runArdent := func() error { var err error; a, err = ardent(); return err }
		if i == cfg.Runs {
			runArdent = func() error {
				return profile(cfg, profName, func() error { var err error; a, err = ardent(); return err })
			}
		}
		first, second := runBase, runArdent
		if i%2 == 1 {
			first, second = runArdent, runBase
		}
		if err := first(); err != nil {
			return nil, nil, err
		}
		if err := second(); err != nil {
			return nil, nil, err
		}
		if i == 0 {
			continue // warm-up
		}
		base, ard = append(base, b), append(ard, a)
	}
	return base, ard, nil
}
