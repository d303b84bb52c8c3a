package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ardent-cdc/ardent/internal/e2estack"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// rss streams one source transaction of cfg.RSSRows rows through the real
// worker per run and records the worker's peak resident set (VmHWM),
// reset at the start of each run so every run is measured on its own. The
// resident set before the run is reported too: the peak includes what the
// process already held (Go runtime, Temporal client, pools).
func (s *stack) rss(ctx context.Context, res Result) Result {
	pid := s.worker.Pid()
	full := int64(s.cfg.RSSRows)
	var peaks, before []float64
	for run := 0; run <= s.cfg.Runs; run++ {
		// The warm-up (run 0) only needs to warm pools and code paths: a
		// tenth of the rows keeps make bench within its time budget.
		n := full
		if run == 0 {
			n = max(full/10, 1)
		}
		lo, hi := int64(run)*full+1, int64(run)*full+n
		if _, err := s.probe(ctx, s.dst, stackDestDB, time.Minute); err != nil {
			return failed(res, err)
		}
		if err := resetPeakRSS(pid); err != nil {
			return failed(res, fmt.Errorf("reset VmHWM of the worker: %w", err))
		}
		rssKB, err := procStatus(pid, "VmRSS")
		if err != nil {
			return failed(res, err)
		}
		var mu sync.Mutex
		var peakKB int64
		sample := func() {
			if v, err := procStatus(pid, "VmHWM"); err == nil {
				mu.Lock()
				peakKB = max(peakKB, v)
				mu.Unlock()
			}
		}
		sctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sctx.Err() == nil {
				sample()
				select {
				case <-sctx.Done():
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
		start := time.Now()
		err = s.src.ExecContext(ctx, "app", fmt.Sprintf("INSERT INTO big SELECT i, md5(i::text) FROM generate_series(%d, %d) i", lo, hi))
		if err == nil {
			err = e2estack.Poll(ctx, 10*time.Minute, 250*time.Millisecond, fmt.Sprintf("%d-row transaction applied", n), func() (bool, error) {
				if s.worker.Exited() {
					return false, fmt.Errorf("worker exited: %s", temporaltest.Tail(s.worker.Output(), 20))
				}
				var got int64
				if err := s.dst.QueryRowContext(ctx, stackDestDB, fmt.Sprintf("SELECT count(*) FROM big WHERE id BETWEEN %d AND %d", lo, hi), &got); err != nil {
					return false, err
				}
				return got == n, nil
			})
		}
		stop()
		wg.Wait()
		sample()
		if err != nil {
			return failed(res, err)
		}
		s.e.log.Info("rss run", "run", run, "rss_before_mb", rssKB>>10, "peak_mb", peakKB>>10, "took", time.Since(start).Round(time.Millisecond))
		if run == 0 {
			continue // warm-up
		}
		peaks, before = append(peaks, float64(peakKB)/1024), append(before, float64(rssKB)/1024)
	}
	res.Ardent = newSeries("MB", peaks)
	res.Met = res.Ardent.Max < 100
	res.Details = map[string]any{"peak_mb_max": res.Ardent.Max, "rss_before_mb": before, "worker_pid": pid}
	return res
}

// procStatus reads a field in kB (VmHWM, VmRSS) of /proc/<pid>/status.
func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d", &kb); err != nil {
				return 0, fmt.Errorf("parse %s of %d: %w", field, pid, err)
			}
			return kb, nil
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux >= 4.0),
// so one process can be measured over several runs.
func resetPeakRSS(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0o200)
}
