package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ardent-cdc/ardent/internal/e2estack"
	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/replication"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
	"github.com/ardent-cdc/ardent/internal/sink/postgres"
	"github.com/ardent-cdc/ardent/internal/verify"
)

// verifyTable is loaded on both clusters by the same deterministic INSERT,
// so the destination equals the source without a copy; the key is added
// after the load (one sorted index build instead of 10M inserts into it).
const verifyTable = `CREATE TABLE t (id bigint NOT NULL, n int NOT NULL, h text NOT NULL, at timestamptz NOT NULL);
INSERT INTO t SELECT i, i %% 1000003, md5(i::text), timestamptz '2024-01-01' + i * interval '1 second'
  FROM generate_series(1, %d) i;
ALTER TABLE t ADD PRIMARY KEY (id)`

// The baseline forms: the plain one first; the nested one when the plain
// one's aggregate passes PostgreSQL's 1 GB limit.
const (
	baselinePlain  = `SELECT md5(string_agg(t::text, '')) FROM public.t t`
	baselineNested = `SELECT md5(string_agg(md5(t::text), '')) FROM public.t t`
)

// verifyWriteRate is the light write load kept on the source during the
// runs: single-row UPDATEs of random keys, through one connection.
const verifyWriteRate = 200

// benchVerify times verify.Run over one table of a connector that streams
// for real (replication.Streamer in-process, applying to the postgres sink)
// while the source takes verifyWriteRate UPDATEs/s, against the plain
// whole-table md5(string_agg) run on both sides at once, as verify reads
// both at once. The baseline is what one would otherwise run, and it
// compares nothing under writes: its two reads are not at one LSN, and
// string_agg without ORDER BY follows the physical order, which the
// UPDATEs change. Every verify run must say Equal.
func benchVerify(ctx context.Context, e *env, cfg config) Result {
	n := cfg.VerifyRows
	res := Result{
		Workload: fmt.Sprintf("verify, %s-row table", human(float64(n))),
		RowShape: fmt.Sprintf("t(id bigint PK, n int, h text md5 32 B, at timestamptz); source and destination on two clusters, streaming in-process; %d single-row UPDATEs/s on the source during the runs; time in seconds, ratio = baseline / verify", verifyWriteRate),
		Target:   ">= 0.50 x baseline (verify ≤ 2× md5(string_agg)), apply stall < 100 ms",
	}
	conf := pgtest.Options{ExtraConf: []string{"max_wal_size = 4GB"}}
	src, err := e.cluster(ctx, "verify-src", conf)
	if err != nil {
		return failed(res, err)
	}
	dst, err := e.cluster(ctx, "verify-dst", conf)
	if err != nil {
		return failed(res, err)
	}
	t0 := time.Now()
	if err := onBoth(src, dst, func(c *cluster) error {
		if err := c.ExecContext(ctx, "postgres", fmt.Sprintf(verifyTable, n)); err != nil {
			return err
		}
		// Hint bits and the visibility map set once, so no run pays for them.
		return c.ExecContext(ctx, "postgres", "VACUUM (FREEZE, ANALYZE) t")
	}); err != nil {
		return failed(res, err)
	}
	e.log.Info("verify: both sides loaded", "rows", n, "took", time.Since(t0).Round(time.Millisecond))

	tables, stop, err := startStream(ctx, e, src, dst)
	if err != nil {
		return failed(res, err)
	}
	defer stop()
	load := startWriteLoad(ctx, src, n)
	defer load.stop()

	srcConn, err := pgx.Connect(ctx, src.URL("postgres"))
	if err != nil {
		return failed(res, err)
	}
	defer srcConn.Close(context.WithoutCancel(ctx))
	dstConn, err := pgx.Connect(ctx, dst.URL("postgres"))
	if err != nil {
		return failed(res, err)
	}
	defer dstConn.Close(context.WithoutCancel(ctx))

	form, formNote := baselinePlain, ""
	var single []float64
	var hashesEqual []bool
	var baseCPU, ardCPU map[string]float64 // of the last run of each side
	baseline := func() (float64, error) {
		var hs, hd string
		m0 := markCPU(src, dst)
		start := time.Now()
		err := onBoth(src, dst, func(c *cluster) error {
			conn, h := srcConn, &hs
			if c == dst {
				conn, h = dstConn, &hd
			}
			return conn.QueryRow(ctx, form).Scan(h)
		})
		if err != nil && form == baselinePlain && overLimit(err) {
			formNote = fmt.Sprintf("md5(string_agg(t::text, '')) failed (%v): nested md5 per row instead", err)
			e.log.Warn("verify: the plain baseline passes PostgreSQL's limit, using the nested form", "error", err)
			form = baselineNested
			return 0, errRetry
		}
		if err != nil {
			return 0, fmt.Errorf("baseline: %w", err)
		}
		d := time.Since(start)
		baseCPU = cpuUse(m0, markCPU(src, dst), nil)
		hashesEqual = append(hashesEqual, hs == hd)
		// The same query on one side alone, for scale (not timed).
		start = time.Now()
		if err := srcConn.QueryRow(ctx, form).Scan(&hs); err != nil {
			return 0, fmt.Errorf("baseline, source alone: %w", err)
		}
		single = append(single, time.Since(start).Seconds())
		e.log.Info("verify: baseline run", "both_s", d.Seconds(), "source_alone_s", single[len(single)-1], "hashes_equal", hs == hd)
		return d.Seconds(), nil
	}
	var runs []map[string]any
	var stalls []time.Duration
	var last *verify.Report
	ardent := func() (float64, error) {
		m0 := markCPU(src, dst)
		start := time.Now()
		rep, err := verify.Run(ctx, verify.Options{Source: src.config("postgres"), Destination: dst.config("postgres"),
			Connector: "bench", Tables: tables, Log: e.log.With("component", "verify")})
		if err != nil {
			return 0, fmt.Errorf("verify.Run: %w", err)
		}
		d := time.Since(start)
		ardCPU = cpuUse(m0, markCPU(src, dst), nil)
		if !rep.Equal || len(rep.Tables) != 1 {
			return 0, fmt.Errorf("verify.Run reported a difference on an equal table under writes: %+v", rep.Tables)
		}
		tr := rep.Tables[0]
		stalls = append(stalls, rep.Stall)
		runs = append(runs, map[string]any{"wall_s": round3(d.Seconds()), "stall_ms": round3(ms(rep.Stall)), "attempts": rep.Attempts,
			"lsn": rep.LSN, "destination_lsn": rep.DestinationLSN, "chunks": tr.Chunks, "source_rows": tr.SourceRows,
			"destination_rows": tr.DestinationRows, "compare_s": round3(tr.Duration.Seconds()),
			"snapshots_s": round3((d - tr.Duration).Seconds())})
		last = rep
		e.log.Info("verify: verify run", "took", d.Round(time.Millisecond), "stall", rep.Stall, "attempts", rep.Attempts,
			"lsn", rep.LSN, "chunks", tr.Chunks, "compare", tr.Duration.Round(time.Millisecond))
		return d.Seconds(), nil
	}
	base, ard, err := alternate(cfg, "verify.cpu.prof", retrying(baseline), ardent)
	if err != nil {
		return failed(res, err)
	}
	phases, err := verifyPhases(ctx, e, src, tables[0])
	if err != nil {
		return failed(res, err)
	}
	updates, rate, loadErr := load.stop()
	if loadErr != nil {
		return failed(res, fmt.Errorf("write load: %w", loadErr))
	}

	res.Baseline, res.Ardent = newSeries("s", base), newSeries("s", ard)
	res.Ratio = res.Baseline.Median / res.Ardent.Median
	var maxStall time.Duration
	stallMS := make([]float64, len(stalls))
	for i, s := range stalls {
		maxStall, stallMS[i] = max(maxStall, s), round3(ms(s))
	}
	res.Met = res.Ratio >= 0.50 && maxStall < 100*time.Millisecond
	form = strings.TrimPrefix(form, "SELECT ")
	res.Details = map[string]any{
		"baseline_form": form, "baseline_source_alone_s": single, "baseline_hashes_equal": hashesEqual,
		"stall_ms": stallMS, "stall_max_ms": round3(ms(maxStall)), "runs": runs, "chunk_rows": verify.DefaultChunkRows,
		"attempts": last.Attempts, "lsn": last.LSN, "chunks": last.Tables[0].Chunks, "rows": last.Tables[0].SourceRows,
		"write_load_updates": updates, "write_load_per_s": round3(rate), "phases_source_alone": phases,
		"baseline_cpu_cores": baseCPU, "ardent_cpu_cores": ardCPU,
		"note": "every per-run list includes the warm-up (first); snapshots_s is verify's wall time outside the table comparison (connections, slot, hold, snapshots); compare_s is thresholds sampling + bucket scans on both sides",
	}
	if formNote != "" {
		res.Details["baseline_form_note"] = formNote
	}
	return res
}

// errRetry: the baseline changed its form; run it again at once.
var errRetry = errors.New("retry")

func retrying(fn func() (float64, error)) func() (float64, error) {
	return func() (float64, error) {
		v, err := fn()
		if errors.Is(err, errRetry) {
			return fn()
		}
		return v, err
	}
}

// overLimit: string_agg's buffer or a text value passed 1 GB.
func overLimit(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.Code == "54000" || pe.Code == "53200" || strings.Contains(pe.Message, "alloc request size")
}

// onBoth runs fn for both clusters at once.
func onBoth(a, b *cluster, fn func(*cluster) error) error {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, c := range []*cluster{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = fn(c) }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// startStream makes the destination a streaming connector "bench" of the
// source as an onboarding would leave it: tables prepared (they exist
// already, equal), a slot created after the load, the checkpoint at the
// slot's LSN, and the Streamer running. stop ends the Streamer.
func startStream(ctx context.Context, e *env, src, dst *cluster) ([]schema.Table, func(), error) {
	conn, err := pgx.Connect(ctx, src.URL("postgres"))
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tables, err := schema.Discover(ctx, conn, schema.Selection{Tables: []string{"public.t"}})
	if err != nil {
		return nil, nil, fmt.Errorf("discover: %w", err)
	}
	s, err := postgres.Open(ctx, dst.URL("postgres"), e.log.With("component", "sink"))
	if err != nil {
		return nil, nil, fmt.Errorf("open sink: %w", err)
	}
	fail := func(err error) ([]schema.Table, func(), error) {
		_ = s.Close(context.WithoutCancel(ctx))
		return nil, nil, err
	}
	// The harness loaded the destination table itself (as a snapshot
	// would have): the connector takes it over, as --replace-existing
	// does, before it may stream into it.
	if err := s.Claim(ctx, sink.Owner{Connector: "bench"}, tables, []string{"public.t"}); err != nil {
		return fail(fmt.Errorf("claim the destination table: %w", err))
	}
	if err := s.Prepare(ctx, "bench", tables); err != nil {
		return fail(fmt.Errorf("prepare sink: %w", err))
	}
	var lsn string
	if err := conn.QueryRow(ctx, "SELECT lsn::text FROM pg_create_logical_replication_slot('ardent_bench', 'wal2json')").Scan(&lsn); err != nil {
		return fail(fmt.Errorf("create slot: %w", err))
	}
	l, err := pglogrepl.ParseLSN(lsn)
	if err != nil {
		return fail(err)
	}
	if err := s.ResetCheckpoint(ctx, "bench", l); err != nil {
		return fail(err)
	}
	st, err := replication.New(replication.Options{Source: src.config("postgres"), Slot: "ardent_bench", Connector: "bench",
		Tables: tables, Sink: s, Log: e.log.With("component", "replication")})
	if err != nil {
		return fail(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- st.Run(sctx) }()
	stop := func() {
		cancel()
		<-done
		_ = s.Close(context.WithoutCancel(ctx))
	}
	err = e2estack.Poll(ctx, time.Minute, 10*time.Millisecond, "stream connected", func() (bool, error) {
		select {
		case err := <-done:
			done <- err
			return false, fmt.Errorf("stream stopped: %w", err)
		default:
		}
		return st.Stats().Connected, nil
	})
	if err != nil {
		stop()
		return nil, nil, err
	}
	return tables, stop, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func round3(v float64) float64 { return float64(int64(v*1000+0.5)) / 1000 }
