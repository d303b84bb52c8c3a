package preflight_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/preflight"
)

// BenchmarkPreflight10kTables measures a full preflight of a database with
// 10,000 tables (issue 3: at most 2 s). Each table has a primary key and a
// serial sequence, so every set-based query has real rows to chew on.
func BenchmarkPreflight10kTables(b *testing.B) {
	c := pgtest.Start(b, pgtest.Options{SSL: true, ExtraConf: []string{"max_locks_per_transaction = 1024"}})
	for i := 0; i < 10; i++ {
		c.Exec(b, "postgres", fmt.Sprintf(`DO $$ BEGIN
  FOR i IN %d..%d LOOP
    EXECUTE format('CREATE TABLE t%%s (id serial PRIMARY KEY, v text, n numeric(10,2))', i);
  END LOOP; END $$`, i*1000+1, i*1000+1000))
	}
	c.Exec(b, "postgres", "ANALYZE")
	// ARDENT_BENCH_DEBUG=1 logs each step's duration.
	level := slog.LevelWarn
	if os.Getenv("ARDENT_BENCH_DEBUG") != "" {
		level = slog.LevelDebug
	}
	opts := preflight.Options{SourceURL: c.URL("postgres"), ProbeTimeout: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))}
	ctx := context.Background()
	var worst time.Duration
	for b.Loop() {
		start := time.Now()
		rep := preflight.Run(ctx, opts)
		worst = max(worst, time.Since(start))
		if len(rep.Tables) != 10000 {
			b.Fatalf("want 10000 tables, got %d", len(rep.Tables))
		}
		for _, ch := range rep.Checks {
			if ch.Status == preflight.StatusFail || ch.Status == preflight.StatusUnverified {
				b.Fatalf("check %s: %s %s", ch.ID, ch.Status, ch.Message)
			}
		}
	}
	b.ReportMetric(worst.Seconds(), "worst-s")
	b.Logf("preflight of 10,000 tables: worst %s (limit 2s)", worst)
	if worst > 2*time.Second {
		b.Errorf("preflight of 10,000 tables took %s, over the 2 s budget", worst)
	}
}
