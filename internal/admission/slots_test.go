package admission

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSlotsTryAcquire(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit int
		take  int // TryAcquire calls
		want  int // of them granted
	}{
		{"unlimited (0)", 0, 5, 5},
		{"unlimited (negative)", -1, 5, 5},
		{"one", 1, 3, 1},
		{"two", 2, 5, 2},
		{"under the limit", 4, 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSlots(tc.limit)
			got := 0
			for range tc.take {
				if _, ok := s.TryAcquire(); ok {
					got++
				}
			}
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.want, s.Running())
		})
	}
}

// grant order is what each waiter reports when it gets its slot.
func TestSlotsFIFO(t *testing.T) {
	s := NewSlots(1)
	first, ok := s.TryAcquire()
	require.True(t, ok)
	const n = 5
	order := make(chan int, n)
	rels := make(chan func(), n)
	for i := range n {
		go func() {
			rel, err := s.Acquire(context.Background())
			if err != nil {
				panic(err)
			}
			order <- i
			rels <- rel
		}()
		// Queue them one after the other, so arrival order is i.
		require.Eventually(t, func() bool { return s.Waiting() == i+1 }, testWait, pollEvery)
	}
	_, ok = s.TryAcquire()
	require.False(t, ok, "a newcomer overtook the queue")
	first()
	for i := range n {
		require.Equal(t, i, <-order)
		require.Equal(t, 1, s.Running())
		(<-rels)()
	}
	require.Equal(t, 0, s.Running())
	require.Equal(t, 0, s.Waiting())
}

func TestSlotsCancelledWaitHoldsNothing(t *testing.T) {
	s := NewSlots(1)
	rel, ok := s.TryAcquire()
	require.True(t, ok)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := s.Acquire(ctx)
		errc <- err
	}()
	require.Eventually(t, func() bool { return s.Waiting() == 1 }, testWait, pollEvery)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	require.Equal(t, 0, s.Waiting())
	rel()
	rel() // twice is once
	require.Equal(t, 0, s.Running())
	_, ok = s.TryAcquire()
	require.True(t, ok, "the cancelled waiter kept a slot")
}
