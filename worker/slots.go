package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/ardent-cdc/ardent/internal/slotwatch"
)

// startSlotWatch runs w every interval (ARDENT_SLOT_CHECK_INTERVAL; 0 or
// negative: never) until stop is called. stop waits for the round in
// flight, so the catalog outlives the watcher's last query. One watcher
// per worker process: several workers export the same values, each under
// its own scrape target.
func startSlotWatch(ctx context.Context, interval time.Duration, w *slotwatch.Watcher, log *slog.Logger) (stop func()) {
	if interval <= 0 {
		log.Info("slot metrics off (slot_check_interval <= 0)")
		return func() {}
	}
	w.Interval = interval
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}
