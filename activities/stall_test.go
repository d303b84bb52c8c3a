package activities

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/replication"
)

func TestStallWatch(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	// Quiet or slow but never reconnecting: not a stall, however long.
	w := newStallWatch(t0, time.Minute)
	require.NoError(t, w.check(replication.Stats{}, at(time.Hour)))

	// Writes keep coming while it reconnects now and then: not a stall.
	w = newStallWatch(t0, time.Minute)
	require.NoError(t, w.check(replication.Stats{Reconnects: 1, LastWriteTime: at(50 * time.Second)}, at(55*time.Second)))
	require.NoError(t, w.check(replication.Stats{Reconnects: 1, LastWriteTime: at(100 * time.Second)}, at(105*time.Second)))

	// Reconnecting with nothing applied: a stall once the limit passes.
	w = newStallWatch(t0, time.Minute)
	require.NoError(t, w.check(replication.Stats{Reconnects: 3, LastError: "connection refused"}, at(59*time.Second)))
	err := w.check(replication.Stats{Reconnects: 4, LastError: "connection refused"}, at(61*time.Second))
	require.True(t, errors.Is(err, errStalled))
	require.ErrorContains(t, err, "nothing applied for 1m1s")
	require.ErrorContains(t, err, "reconnected 4 times")
	require.ErrorContains(t, err, "connection refused")

	// The clock starts again at each accepted write.
	w = newStallWatch(t0, time.Minute)
	require.NoError(t, w.check(replication.Stats{Reconnects: 2, LastWriteTime: at(30 * time.Second)}, at(31*time.Second)))
	require.NoError(t, w.check(replication.Stats{Reconnects: 2}, at(85*time.Second)), "no reconnect since the last write")
	require.Error(t, w.check(replication.Stats{Reconnects: 3}, at(91*time.Second)))

	// Disabled.
	w = newStallWatch(t0, -1)
	require.NoError(t, w.check(replication.Stats{Reconnects: 9}, at(time.Hour)))
}
