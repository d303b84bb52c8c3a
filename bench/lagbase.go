package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ardent-cdc/ardent/internal/e2estack"
	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/replication"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// Lag baseline: pg_recvlogical with wal2json format-version 2 on its own
// slot, while Ardent's pipeline is paused, under the same pgbench load.
// Each line is timestamped as it arrives on pg_recvlogical's stdout (it
// writes every message as it receives it); a transaction's lag is the
// arrival of its COMMIT line minus the commit timestamp wal2json reports.
// This is the floor any consumer of the slot can reach on this machine:
// decoding, sending and reading, with nothing applied anywhere.

var (
	actionRe = regexp.MustCompile(`"action":"([A-Z])"`)
	tsRe     = regexp.MustCompile(`"timestamp":"([^"]+)"`)
)

// wal2jsonTime parses wal2json's timestamptz text, e.g.
// "2026-11-24 08:47:13.309123+00".
func wal2jsonTime(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04:05.999999-07", "2006-01-02 15:04:05.999999-07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("parse wal2json timestamp %q", s)
}

func (s *stack) lagBaselineOnce(ctx context.Context, run, secs int) (lagRun, error) {
	var r lagRun
	slot := fmt.Sprintf("bench_recv_lag_%d", run)
	if err := s.src.ExecContext(ctx, "app", fmt.Sprintf("SELECT pg_create_logical_replication_slot('%s', 'wal2json')", slot)); err != nil {
		return r, err
	}
	defer func() {
		_ = s.src.ExecContext(context.WithoutCancel(ctx), "app", fmt.Sprintf("SELECT pg_drop_replication_slot('%s')", slot))
	}()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The same plugin options as Ardent's stream, so both walsenders do
	// the same work.
	args := []string{"-d", s.src.URL("app"), "--slot", slot, "--start", "--no-loop", "-f", "-", "-s", "1"}
	for _, a := range replication.PluginArgs([]schema.Table{{Schema: "public", Name: "lag_events"}}) {
		name, value, _ := strings.Cut(a, " ")
		args = append(args, "-o", strings.Trim(name, `"`)+"="+strings.ReplaceAll(strings.Trim(value, "'"), "''", "'"))
	}
	cmd := exec.CommandContext(rctx, pgtest.Tool("pg_recvlogical"), args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return r, err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return r, fmt.Errorf("start pg_recvlogical: %w", err)
	}
	var mu sync.Mutex
	var lags []float64
	var parseErr error
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		changed := false
		for sc.Scan() {
			now := time.Now()
			line := sc.Bytes()
			m := actionRe.FindSubmatch(line)
			if m == nil {
				continue
			}
			switch m[1][0] {
			case 'B':
				changed = false
			case 'I':
				changed = true
			case 'C':
				if !changed {
					continue
				}
				t := tsRe.FindSubmatch(line)
				if t == nil {
					mu.Lock()
					parseErr = fmt.Errorf("COMMIT line without timestamp: %.200s", line)
					mu.Unlock()
					continue
				}
				ct, err := wal2jsonTime(string(t[1]))
				mu.Lock()
				if err != nil {
					parseErr = err
				} else {
					lags = append(lags, now.Sub(ct).Seconds())
				}
				mu.Unlock()
			}
		}
	}()
	// The slot exists and nothing else writes: every row after from is in
	// its stream.
	var from, wantRun int64
	if err := s.src.QueryRowContext(ctx, "app", "SELECT coalesce(max(id), 0) FROM lag_events", &from); err != nil {
		return r, err
	}
	tps, err := s.pgbench(ctx, secs)
	if err != nil {
		return r, err
	}
	r.tps = tps
	if err := s.src.QueryRowContext(ctx, "app", fmt.Sprintf("SELECT count(*) FROM lag_events WHERE id > %d", from), &wantRun); err != nil {
		return r, err
	}
	err = e2estack.Poll(ctx, 3*time.Minute, 100*time.Millisecond, "pg_recvlogical caught up", func() (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		if parseErr != nil {
			return false, parseErr
		}
		return int64(len(lags)) >= wantRun, nil
	})
	// Give the tail a moment to arrive, then stop.
	time.Sleep(time.Second)
	cancel()
	<-readDone
	_ = cmd.Wait()
	if err != nil {
		return r, fmt.Errorf("%w (pg_recvlogical: %s)", err, temporaltest.Tail(stderr.String(), 5))
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lags)
	r.rows = int64(len(lags))
	r.p50 = lags[len(lags)/2]
	r.p99 = lags[min(len(lags)-1, len(lags)*99/100)]
	r.max = lags[len(lags)-1]
	return r, nil
}
