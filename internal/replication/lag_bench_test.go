package replication

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/sink/postgres"
)

// BenchmarkLag drives ARDENT_BENCH_TPS (default 5000) single-row
// transactions per second with pgbench for ARDENT_BENCH_SECONDS (default
// 20) and samples the stream's lag every 20 ms; it reports p50/p99/max.
//
// Run with: go test ./internal/replication -run '^$' -bench Lag -benchtime 1x
func BenchmarkLag(b *testing.B) {
	tps := envInt("ARDENT_BENCH_TPS", 5000)
	secs := envInt("ARDENT_BENCH_SECONDS", 20)
	ctx := context.Background()
	src := pgtest.Start(b, pgtest.Options{})
	dst := pgtest.Start(b, pgtest.Options{})
	src.Exec(b, "postgres", `CREATE TABLE lagt (id bigserial PRIMARY KEY, v int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())`)
	src.Exec(b, "postgres", `SELECT pg_create_logical_replication_slot('bench_lag', 'wal2json')`)
	tables := discover(b, src.Connect(b, "postgres"))
	s, err := postgres.Open(ctx, dst.URL("postgres"), nil)
	require.NoError(b, err)
	defer s.Close(ctx)
	require.NoError(b, s.Prepare(ctx, "lag", tables))
	st, err := New(Options{Source: connConfig(b, src.URL("postgres")), Slot: "bench_lag", Connector: "lag", Tables: tables, Sink: s})
	require.NoError(b, err)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = st.Run(sctx) }()
	require.Eventually(b, func() bool { return st.Stats().Connected }, 30*time.Second, 10*time.Millisecond)

	script := filepath.Join(b.TempDir(), "insert.sql")
	require.NoError(b, os.WriteFile(script, []byte("INSERT INTO lagt (v) VALUES (1);\n"), 0o644))
	cmd := exec.CommandContext(ctx, filepath.Join(src.BinDir, "pgbench"), "-n", "-h", src.Host, "-p", strconv.Itoa(src.Port),
		"-U", "postgres", "-c", "4", "-j", "2", "-R", strconv.Itoa(tps), "-T", strconv.Itoa(secs), "-f", script, "postgres")
	var pgbenchOut strings.Builder
	cmd.Stdout, cmd.Stderr = &pgbenchOut, &pgbenchOut
	b.ResetTimer()
	require.NoError(b, cmd.Start())
	var lags []float64
	start := st.Stats().RowsApplied
	t0 := time.Now()
	waitDone := make(chan error, 1)
	go func() { waitDone <- cmd.Wait() }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case err := <-waitDone:
			require.NoError(b, err, "pgbench")
			break loop
		case <-tick.C:
			x := st.Stats()
			lags = append(lags, x.LagSeconds)
			if os.Getenv("ARDENT_BENCH_VERBOSE") != "" && len(lags)%25 == 0 {
				fmt.Printf("t=%.1fs lag=%.3f recv=%s durable=%s walend=%s writes=%d wtime=%s txs=%d\n", time.Since(t0).Seconds(), x.LagSeconds,
					x.ReceivedLSN, x.DurableLSN, x.ServerWALEnd, x.Writes, x.WriteTime.Round(time.Millisecond), x.TxsApplied)
			}
		}
	}
	elapsed := time.Since(t0)
	b.StopTimer()
	var srcLSN string
	require.NoError(b, src.Connect(b, "postgres").QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&srcLSN))
	x := st.Stats()
	b.Logf("at pgbench end: source WAL %s, received %s, durable %s, txs %d, writes %d taking %s", srcLSN, x.ReceivedLSN, x.DurableLSN,
		x.TxsApplied, x.Writes, x.WriteTime.Round(time.Millisecond))
	for _, line := range strings.Split(pgbenchOut.String(), "\n") {
		if strings.Contains(line, "tps") || strings.Contains(line, "lag") || strings.Contains(line, "processed") {
			b.Log("pgbench: " + line)
		}
	}
	slices.Sort(lags)
	pct := func(p float64) float64 { return lags[min(len(lags)-1, int(p*float64(len(lags))))] }
	applied := st.Stats().RowsApplied - start
	b.ReportMetric(pct(0.5), "lag-p50-s")
	b.ReportMetric(pct(0.99), "lag-p99-s")
	b.ReportMetric(lags[len(lags)-1], "lag-max-s")
	b.ReportMetric(float64(applied)/elapsed.Seconds(), "applied-rows/s")
	fmt.Printf("lag at %d tps for %ds: p50 %.3fs p99 %.3fs max %.3fs, applied %.0f rows/s (%d samples)\n",
		tps, secs, pct(0.5), pct(0.99), lags[len(lags)-1], float64(applied)/elapsed.Seconds(), len(lags))
}
