package activities

import (
	"context"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
)

// heartbeater records the latest progress every interval, so a long step
// that reports nothing for a while (slot creation waiting for running
// transactions, a huge chunk) still heartbeats, and the SDK's throttling
// sees one steady caller.
type heartbeater[T any] struct {
	mu     sync.Mutex
	latest T
	stop   chan struct{}
	done   chan struct{}
}

func startHeartbeat[T any](ctx context.Context, every time.Duration, initial T) *heartbeater[T] {
	if every <= 0 {
		every = 5 * time.Second
	}
	h := &heartbeater[T]{latest: initial, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			h.mu.Lock()
			v := h.latest
			h.mu.Unlock()
			activity.RecordHeartbeat(ctx, v)
			select {
			case <-ctx.Done():
				return
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heartbeater[T]) set(v T) {
	h.mu.Lock()
	h.latest = v
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
