package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/preflight"
)

// benchPreflight times preflight.Run against a database with cfg.Tables
// tables (each with a serial primary key, so every set-based catalog query
// has real rows), over SSL as in production. There is no baseline: the
// target is absolute (<= 2 s), compared with the median run.
func benchPreflight(ctx context.Context, e *env, cfg config) Result {
	res := Result{
		Workload: fmt.Sprintf("preflight, %d tables", cfg.Tables),
		RowShape: "tables t<i>(id serial PRIMARY KEY, v text, n numeric(10,2)), empty; superuser over SSL",
		Target:   "<= 2 s",
	}
	c, err := e.cluster(ctx, "preflight", pgtest.Options{SSL: true,
		ExtraConf: []string{"max_locks_per_transaction = 1024"}})
	if err != nil {
		return failed(res, err)
	}
	t0 := time.Now()
	if err := c.ExecContext(ctx, "postgres", fmt.Sprintf(`DO $$ BEGIN
  FOR i IN 1..%d LOOP
    EXECUTE format('CREATE TABLE t%%s (id serial PRIMARY KEY, v text, n numeric(10,2))', i);
  END LOOP; END $$; ANALYZE`, cfg.Tables)); err != nil {
		return failed(res, err)
	}
	e.log.Info("preflight: tables created", "tables", cfg.Tables, "took", time.Since(t0).Round(time.Millisecond))

	opts := preflight.Options{SourceURL: c.URL("postgres"), ProbeTimeout: 10 * time.Second, Logger: e.log.With("component", "preflight")}
	once := func() (float64, error) {
		start := time.Now()
		rep := preflight.Run(ctx, opts)
		d := time.Since(start)
		if len(rep.Tables) != cfg.Tables {
			return 0, fmt.Errorf("preflight reported %d tables, want %d", len(rep.Tables), cfg.Tables)
		}
		for _, ch := range rep.Checks {
			if ch.Status == preflight.StatusFail || ch.Status == preflight.StatusUnverified {
				return 0, fmt.Errorf("preflight check %s: %s: %s", ch.ID, ch.Status, ch.Message)
			}
		}
		return d.Seconds(), nil
	}
	if _, err := once(); err != nil { // warm-up
		return failed(res, err)
	}
	var runs []float64
	for range cfg.Runs {
		s, err := once()
		if err != nil {
			return failed(res, err)
		}
		runs = append(runs, s)
	}
	res.Ardent = newSeries("s", runs)
	res.Met = res.Ardent.Median <= 2
	res.Details = map[string]any{"worst_s": res.Ardent.Max}
	return res
}
