package activities

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ardent-cdc/ardent/internal/replication"
)

// The stream's health: healthy while writes are accepted, even with an
// error a reconnect fixed at once; unhealthy once it has reconnected with
// nothing applied for the grace; reported at once on each change and
// every interval otherwise.
func TestHealthWatch(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	w := newHealthWatch(t0, 20*time.Second, time.Minute)
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	h, send := w.observe(replication.Stats{LastWriteTime: at(time.Second), LagBytes: 10}, at(time.Second))
	assert.True(t, h.Healthy)
	assert.True(t, send, "the first observation is reported")
	assert.Equal(t, int64(10), h.LagBytes)

	_, send = w.observe(replication.Stats{LastWriteTime: at(5 * time.Second)}, at(5*time.Second))
	assert.False(t, send, "nothing changed: no report before the interval")

	h, send = w.observe(replication.Stats{LastWriteTime: at(5 * time.Second), LastError: "connection refused"}, at(15*time.Second))
	assert.True(t, h.Healthy, "within the grace a reconnect is no stage change")
	assert.False(t, send)

	h, send = w.observe(replication.Stats{LastWriteTime: at(5 * time.Second), LastError: "connection refused"}, at(26*time.Second))
	assert.False(t, h.Healthy, "reconnecting with nothing applied past the grace")
	assert.Equal(t, "connection refused", h.Error)
	assert.True(t, send, "a change is reported at once")

	_, send = w.observe(replication.Stats{LastWriteTime: at(5 * time.Second), LastError: "connection refused"}, at(40*time.Second))
	assert.False(t, send)

	h, send = w.observe(replication.Stats{LastWriteTime: at(41 * time.Second)}, at(42*time.Second))
	assert.True(t, h.Healthy)
	assert.Empty(t, h.Error)
	assert.True(t, send, "back to healthy at once")

	_, send = w.observe(replication.Stats{LastWriteTime: at(90 * time.Second)}, at(103*time.Second))
	assert.True(t, send, "every interval otherwise: lag and position for the status")

	quiet := newHealthWatch(t0, 20*time.Second, time.Minute)
	h, _ = quiet.observe(replication.Stats{}, at(5*time.Minute))
	assert.True(t, h.Healthy, "a quiet stream without errors is healthy: idle is not broken")
}
