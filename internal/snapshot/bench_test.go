package snapshot

import (
	"context"
	"flag"
	"fmt"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink/postgres"
)

var (
	benchRows        = flag.Int("snapshot.rows", 2_000_000, "rows in BenchmarkSnapshot2M's table")
	benchRuns        = flag.Int("snapshot.runs", 3, "timed runs of each side after one warm-up")
	benchParallelism = flag.Int("snapshot.parallelism", 0, "Copy parallelism (0: the default)")
	benchNoKey       = flag.Bool("snapshot.nokey", false, "tables without a primary key on both sides (measures the pipe, not index upkeep)")
)

const benchTableSQL = `CREATE TABLE %s (
	id bigint NOT NULL, account int NOT NULL, status int, label text,
	created_at timestamptz NOT NULL, amount numeric(12,2))`

// benchTable is the table's DDL; both destinations get the same key as the
// source (the sink creates the source's key), so both sides do the same
// index upkeep.
func benchTable(name string) string {
	ddl := fmt.Sprintf(benchTableSQL, name)
	if !*benchNoKey {
		ddl += fmt.Sprintf("; ALTER TABLE %s ADD PRIMARY KEY (id)", name)
	}
	return ddl
}

// BenchmarkSnapshot2M compares the snapshot copy with the raw baseline
// `psql COPY TO STDOUT (binary) | psql COPY FROM STDIN (binary)` between
// the same two clusters, alternating the two (one warm-up each, then
// -snapshot.runs timed runs) and printing the medians and their ratio.
// The whole protocol runs once whatever b.N is: use -benchtime=1x.
func BenchmarkSnapshot2M(b *testing.B) {
	ctx := context.Background()
	src := pgtest.Start(b, pgtest.Options{})
	dst := pgtest.Start(b, pgtest.Options{})
	b.Logf("source %s, destination %s", src, dst)
	src.Exec(b, "postgres", benchTable("t")+fmt.Sprintf(`;
INSERT INTO t SELECT i, i %% 10007, i %% 7, 'customer-' || md5(i::text), timestamptz '2024-01-01' + i * interval '1 second', (i %% 100000) / 7.0
  FROM generate_series(1, %d) i`, *benchRows))
	// Hint bits and the visibility map set once, so no run pays for them.
	src.Exec(b, "postgres", "VACUUM (FREEZE, ANALYZE) t")
	dst.Exec(b, "postgres", benchTable("t2"))

	conn := src.Connect(b, "postgres")
	tables, err := schema.Discover(ctx, conn, schema.Selection{Tables: []string{"public.t"}})
	require.NoError(b, err)
	s, err := postgres.Open(ctx, dst.URL("postgres"), nil)
	require.NoError(b, err)
	defer s.Close(ctx)
	require.NoError(b, s.Prepare(ctx, "bench", tables))

	baseline := func() time.Duration {
		dst.Exec(b, "postgres", "TRUNCATE t2; CHECKPOINT")
		start := time.Now()
		cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c",
			fmt.Sprintf(`psql -X -q -d '%s' -c 'COPY t TO STDOUT (FORMAT binary)' | psql -X -q -d '%s' -c 'COPY t2 FROM STDIN (FORMAT binary)'`,
				src.URL("postgres"), dst.URL("postgres")))
		out, err := cmd.CombinedOutput()
		require.NoError(b, err, "baseline: %s", out)
		return time.Since(start)
	}
	ardent := func() time.Duration {
		dst.Exec(b, "postgres", "TRUNCATE t; CHECKPOINT")
		start := time.Now()
		res, err := Run(ctx, RunOptions{
			Source: mustConfig(b, src.URL("postgres")), Connector: "bench", Slot: "ardent_bench", Tables: tables, Copier: s,
			Parallelism: *benchParallelism,
		})
		require.NoError(b, err)
		require.Equal(b, int64(*benchRows), res.Copy.Rows)
		d := time.Since(start)
		b.Logf("ardent: %d chunks, parallelism %d, copy %s of %s (the rest: slot, truncate, connections)",
			res.Copy.Chunks, res.Copy.Parallelism, res.Copy.Duration.Round(time.Millisecond), d.Round(time.Millisecond))
		return d
	}

	b.ResetTimer()
	for range b.N {
		baseline()
		ardent()
		var base, ard []time.Duration
		for range *benchRuns {
			base = append(base, baseline())
			ard = append(ard, ardent())
		}
		mb, ma := median(base), median(ard)
		rb, ra := float64(*benchRows)/mb.Seconds(), float64(*benchRows)/ma.Seconds()
		fmt.Printf("snapshot bench: %d rows, primary key %v, %d runs each after a warm-up (median)\n", *benchRows, !*benchNoKey, *benchRuns)
		fmt.Printf("  baseline psql|psql binary COPY: %8.0f rows/s  (%s)  runs %v\n", rb, mb.Round(time.Millisecond), base)
		fmt.Printf("  ardent snapshot.Run:            %8.0f rows/s  (%s)  runs %v\n", ra, ma.Round(time.Millisecond), ard)
		fmt.Printf("  ratio ardent/baseline: %.2f (target >= 0.80)\n", ra/rb)
		b.ReportMetric(rb, "baseline_rows/s")
		b.ReportMetric(ra, "ardent_rows/s")
		b.ReportMetric(ra/rb, "ratio")
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
