package replication

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/sink/postgres"
)

// BenchmarkEndToEnd compares Ardent's end-to-end apply rate with the raw
// decoding rate of pg_recvlogical + wal2json format-version 2 writing the
// same WAL to a file. Two slots are created at the same point before the
// workload (N inserts, then N updates, then N deletes), so both decode
// identical WAL; each consumer then runs alone on the machine.
//
// Run with: ARDENT_BENCH_ROWS=1000000 go test ./internal/replication -run '^$' -bench EndToEnd -benchtime 1x
// ARDENT_BENCH_TX_ROWS sets rows per source transaction (default: all in one).
func BenchmarkEndToEnd(b *testing.B) {
	rows := envInt("ARDENT_BENCH_ROWS", 100000)
	txRows := envInt("ARDENT_BENCH_TX_ROWS", rows)
	ctx := context.Background()
	src := pgtest.Start(b, pgtest.Options{ExtraConf: []string{"max_wal_size = 4GB", "logical_decoding_work_mem = 256MB"}})
	dst := pgtest.Start(b, pgtest.Options{ExtraConf: []string{"max_wal_size = 4GB"}})
	src.Exec(b, "postgres", `CREATE TABLE bench (id int PRIMARY KEY, v int NOT NULL, t text NOT NULL);
		CREATE TABLE marker (id int PRIMARY KEY)`)
	conn := src.Connect(b, "postgres")
	tables := discover(b, conn)
	for _, slot := range []string{"bench_recv", "bench_ardent"} {
		src.Exec(b, "postgres", fmt.Sprintf("SELECT pg_create_logical_replication_slot('%s', 'wal2json')", slot))
	}

	start := time.Now()
	for lo := 1; lo <= rows; lo += txRows {
		hi := min(lo+txRows-1, rows)
		src.Exec(b, "postgres", fmt.Sprintf(`INSERT INTO bench SELECT i, i, md5(i::text) FROM generate_series(%d, %d) i`, lo, hi))
	}
	for lo := 1; lo <= rows; lo += txRows {
		src.Exec(b, "postgres", fmt.Sprintf(`UPDATE bench SET v = v + 1 WHERE id BETWEEN %d AND %d`, lo, min(lo+txRows-1, rows)))
	}
	for lo := 1; lo <= rows; lo += txRows {
		src.Exec(b, "postgres", fmt.Sprintf(`DELETE FROM bench WHERE id BETWEEN %d AND %d`, lo, min(lo+txRows-1, rows)))
	}
	src.Exec(b, "postgres", "SET synchronous_commit = on; INSERT INTO marker VALUES (1)")
	var endStr string
	require.NoError(b, conn.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&endStr))
	end, err := pglogrepl.ParseLSN(endStr)
	require.NoError(b, err)
	b.Logf("workload: %d rows x 3 in transactions of %d, %s, WAL end %s", rows, txRows, time.Since(start).Round(time.Millisecond), end)
	total := float64(3 * rows)

	// Baseline: pg_recvlogical with the same plugin options.
	out := filepath.Join(b.TempDir(), "recv.jsonl")
	args := []string{"-d", src.URL("postgres"), "--slot", "bench_recv", "--start", "--no-loop", "-f", out,
		"--endpos", end.String(), "-s", "1"}
	for _, a := range PluginArgs(tables) {
		name, value, _ := strings.Cut(a, " ")
		args = append(args, "-o", strings.Trim(name, `"`)+"="+strings.ReplaceAll(strings.Trim(value, "'"), "''", "'"))
	}
	b.ResetTimer()
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, filepath.Join(src.BinDir, "pg_recvlogical"), args...)
	if outb, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("pg_recvlogical: %v: %s", err, outb)
	}
	baseline := time.Since(t0)
	lines := countLines(b, out)

	// Ardent.
	s, err := postgres.Open(ctx, dst.URL("postgres"), nil)
	require.NoError(b, err)
	defer s.Close(ctx)
	require.NoError(b, s.Prepare(ctx, "bench", tables))
	st, err := New(Options{Source: connConfig(b, src.URL("postgres")), Slot: "bench_ardent", Connector: "bench", Tables: tables,
		Sink: s, HeartbeatInterval: time.Hour})
	require.NoError(b, err)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	if v := envInt("ARDENT_BENCH_GOGC", 0); v > 0 { // what the worker may set
		defer debug.SetGCPercent(debug.SetGCPercent(v))
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(100 << 20))
	}
	cpu0 := cpuTime()
	t1 := time.Now()
	go func() { done <- st.Run(sctx) }()
	received := make(chan time.Duration, 1)
	go func() {
		for sctx.Err() == nil && st.Stats().ReceivedLSN < end {
			time.Sleep(2 * time.Millisecond)
		}
		received <- time.Since(t1)
	}()
	phases := make(chan []time.Duration, 1)
	go func() { // when the inserts, then the updates, were applied
		var marks []time.Duration
		for len(marks) < 2 && sctx.Err() == nil {
			if x := st.Stats(); x.RowsApplied >= uint64((len(marks)+1)*rows) {
				marks = append(marks, time.Since(t1))
				b.Logf("phase %d done: writes %d taking %s", len(marks), x.Writes, x.WriteTime.Round(time.Millisecond))
				continue
			}
			time.Sleep(2 * time.Millisecond)
		}
		phases <- marks
	}()
	for st.Stats().DurableLSN < end {
		select {
		case err := <-done:
			b.Fatalf("stream stopped: %v", err)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Since(t1) > 30*time.Minute {
			b.Fatalf("stream did not reach %s: %+v", end, st.Stats())
		}
	}
	ardent := time.Since(t1)
	b.Logf("ardent process CPU while streaming: %s", (cpuTime() - cpu0).Round(time.Millisecond))
	b.StopTimer()
	cancel()
	<-done
	b.Logf("ardent received everything after %s", (<-received).Round(time.Millisecond))
	b.Logf("sink writes: %d taking %s", st.Stats().Writes, st.Stats().WriteTime.Round(time.Millisecond))
	if marks := <-phases; len(marks) == 2 {
		b.Logf("ardent phases: inserts %s, updates %s, deletes %s", marks[0].Round(time.Millisecond),
			(marks[1] - marks[0]).Round(time.Millisecond), (ardent - marks[1]).Round(time.Millisecond))
	}

	var n int
	dconn := dst.Connect(b, "postgres")
	require.NoError(b, dconn.QueryRow(ctx, "SELECT count(*) FROM bench").Scan(&n))
	require.Zero(b, n)
	require.NoError(b, dconn.QueryRow(ctx, "SELECT count(*) FROM marker").Scan(&n))
	require.Equal(b, 1, n)

	br, ar := total/baseline.Seconds(), total/ardent.Seconds()
	b.ReportMetric(br, "baseline-rows/s")
	b.ReportMetric(ar, "ardent-rows/s")
	b.ReportMetric(ar/br, "ratio")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MB")
	fmt.Printf("end-to-end %d inserts+updates+deletes (tx of %d rows): pg_recvlogical %s (%.0f rows/s, %d lines), ardent %s (%.0f rows/s), ratio %.2f, peak RSS %d MB\n",
		rows, txRows, baseline.Round(time.Millisecond), br, lines, ardent.Round(time.Millisecond), ar, ar/br, peakRSS()>>20)
}

func countLines(b *testing.B, path string) int {
	f, err := os.Open(path)
	require.NoError(b, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	n := 0
	for sc.Scan() {
		n++
	}
	return n
}

// peakRSS is this process's VmHWM in bytes (0 if unknown).
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
