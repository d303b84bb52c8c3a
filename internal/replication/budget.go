package replication

import (
	"context"
	"time"

	"golang.org/x/sync/semaphore"
)

// budget bounds the data held between receiver and applier, in bytes of
// wal2json messages.
type budget struct {
	sem *semaphore.Weighted
	max int
}

func newBudget(max int) *budget { return &budget{sem: semaphore.NewWeighted(int64(max)), max: max} }

// weigh is what an item of n bytes holds: at least 1, at most the whole
// budget, so a single item larger than the budget is admitted when nothing
// else is in flight.
func (b *budget) weigh(n int) int { return min(max(1, n), b.max) }

// acquire waits for room for n (weighed) bytes until ctx ends. While it
// waits (the destination is slow), idle runs every interval: the receiver
// answers the walsender there, which otherwise ends the stream after
// wal_sender_timeout and restarts a large transaction from its beginning.
func (b *budget) acquire(ctx context.Context, n int, every time.Duration, idle func(context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, every)
		err := b.sem.Acquire(actx, int64(n))
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := idle(ctx); err != nil {
			return err
		}
	}
}

func (b *budget) release(n int) { b.sem.Release(int64(n)) }
