package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/activities"
	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/internal/slotwatch"
)

// countingCatalog has no connectors and counts the watcher's rounds.
type countingCatalog struct{ lists atomic.Int64 }

func (c *countingCatalog) List(context.Context) ([]catalog.Connector, error) {
	c.lists.Add(1)
	return nil, nil
}

func (c *countingCatalog) SourceURL(context.Context, string, *secrets.Keyring) (string, error) {
	return "", nil
}

// TestSlotWatchRunsUntilStopped: the worker's watcher runs a round at once
// and then every interval; stop returns once it has ended; a zero
// interval starts none.
func TestSlotWatchRunsUntilStopped(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	rec := activities.NewSlotMetrics(prometheus.NewRegistry(), nil)

	off := &countingCatalog{}
	startSlotWatch(context.Background(), 0, &slotwatch.Watcher{Catalog: off, Recorder: rec}, log)()
	require.Never(t, func() bool { return off.lists.Load() > 0 }, 100*time.Millisecond, 5*time.Millisecond,
		"slot_check_interval 0: no reading")

	cat := &countingCatalog{}
	stop := startSlotWatch(context.Background(), 20*time.Millisecond, &slotwatch.Watcher{Catalog: cat, Recorder: rec}, log)
	require.Eventually(t, func() bool { return cat.lists.Load() >= 3 }, 5*time.Second, 5*time.Millisecond)
	stop()
	n := cat.lists.Load()
	require.Never(t, func() bool { return cat.lists.Load() != n }, 100*time.Millisecond, 5*time.Millisecond,
		"no round after stop returned")
}
