package admission

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	testWait  = 30 * time.Second
	pollEvery = 10 * time.Millisecond
)

// waits records what Acquire reported, safely across goroutines.
type waits struct {
	mu  sync.Mutex
	all []Wait
}

func (w *waits) add(x Wait) { w.mu.Lock(); w.all = append(w.all, x); w.mu.Unlock() }
func (w *waits) get() []Wait {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Wait(nil), w.all...)
}

func TestSchedulerNilGrants(t *testing.T) {
	var s *Scheduler
	rel, err := s.Acquire(context.Background(), "h:5432", func(Wait) { t.Fatal("a nil scheduler made a copy wait") })
	require.NoError(t, err)
	rel()
}

func TestSchedulerWorkerBound(t *testing.T) {
	s := &Scheduler{Worker: NewSlots(1)}
	ctx := context.Background()
	var w1 waits
	rel1, err := s.Acquire(ctx, "a:5432", w1.add)
	require.NoError(t, err)
	require.Empty(t, w1.get(), "the first copy waited")

	var w2 waits
	got := make(chan func(), 1)
	go func() {
		rel, err := s.Acquire(ctx, "b:5432", w2.add)
		if err == nil {
			got <- rel
		}
	}()
	require.Eventually(t, func() bool { return len(w2.get()) == 1 }, testWait, pollEvery)
	w := w2.get()[0]
	require.Equal(t, ReasonWorker, w.Reason)
	require.Equal(t, "b:5432", w.Host)
	require.Equal(t, 1, w.Running)
	require.Equal(t, 1, w.Limit)
	require.False(t, w.Since.IsZero())
	select {
	case <-got:
		t.Fatal("the second copy started while the first held the only slot")
	default:
	}
	rel1()
	rel2 := <-got
	rel2()
	require.Equal(t, 0, s.Worker.Running())
}

func TestSchedulerCancelWhileQueued(t *testing.T) {
	s := &Scheduler{Worker: NewSlots(1)}
	rel, err := s.Acquire(context.Background(), "a:5432", nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	queued := make(chan struct{})
	go func() {
		_, err := s.Acquire(ctx, "a:5432", func(Wait) { close(queued) })
		errc <- err
	}()
	<-queued
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	rel()
	require.Equal(t, 0, s.Worker.Running())
	require.Equal(t, 0, s.Worker.Waiting())
}
