package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/ardent-cdc/ardent/internal/cadence"
)

// heartbeater records the latest progress every interval, so a long step
// that reports nothing for a while (slot creation waiting for running
// transactions, a huge chunk) still heartbeats, and the SDK's throttling
// sees one steady caller.
//
// The first heartbeat waits for the first progress (or the first
// interval): the SDK holds back whatever follows a heartbeat for its
// throttle window, so an empty heartbeat at the start would keep the
// position a Replicate attempt resumed from away from the server for a
// whole interval. A worker killed in that interval would then look like an
// attempt without progress, and the workflow would back off longer before
// the next one (workflows/retry.go).
type heartbeater[T any] struct {
	mu      sync.Mutex
	latest  T
	started bool
	first   chan struct{} // closed by the first set
	stop    chan struct{}
	done    chan struct{}
}

func startHeartbeat[T any](ctx context.Context, every time.Duration, initial T) *heartbeater[T] {
	every = heartbeatPeriod(every, activity.GetInfo(ctx).HeartbeatTimeout)
	h := &heartbeater[T]{latest: initial, first: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		// On the period's grid: a worker's heartbeats leave together
		// (internal/cadence).
		t := cadence.NewTimer(every)
		defer t.Stop()
		first := h.first
		for {
			select {
			case <-ctx.Done():
				return
			case <-h.stop:
				return
			case <-first:
				first = nil
			case now := <-t.C:
				t.Reset(now)
			}
			h.mu.Lock()
			v := h.latest
			h.mu.Unlock()
			activity.RecordHeartbeat(ctx, v)
		}
	}()
	return h
}

// heartbeatPeriod is every (default 5 s), but at most two thirds of the
// activity's heartbeat timeout: a period configured longer than a short
// timeout would time out a healthy attempt. Two thirds, not half: the
// Replicate activity's 12 s timeout then allows a heartbeat every 8 s: 7.5
// Temporal actions a minute per connector, against 10 every 6 s. The
// worker's SDK throttle (6 s) is shorter than the period, so each one the
// heartbeater records on its grid is sent at once.
func heartbeatPeriod(every, timeout time.Duration) time.Duration {
	if every <= 0 {
		every = 5 * time.Second
	}
	if timeout > 0 {
		every = min(every, timeout*2/3)
	}
	return every
}

func (h *heartbeater[T]) set(v T) {
	h.mu.Lock()
	h.latest = v
	if !h.started {
		h.started = true
		close(h.first)
	}
	h.mu.Unlock()
}

func (h *heartbeater[T]) get() T {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.latest
}

func (h *heartbeater[T]) close() {
	close(h.stop)
	<-h.done
}
