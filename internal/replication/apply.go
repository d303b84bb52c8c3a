package replication

import (
	"context"
	"fmt"
	"time"

	"github.com/ardent-cdc/ardent/internal/sink"
)

// apply writes items to the sink. It takes whatever has queued up while the
// previous Write ran (group commit): one item when the source is slow, many
// when it is fast, so latency stays low and throughput high.
func (s *Streamer) apply(ctx context.Context, items <-chan item, bud *budget) error {
	o := s.opts
	var batch []item
	for {
		var first item
		var ok bool
		select {
		case first, ok = <-items:
			if !ok {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
		batch = append(batch[:0], first)
		changes := len(first.tx.Changes)
		for !batch[len(batch)-1].continued && changes < o.MaxBatchChanges {
			select {
			case it, ok := <-items:
				if !ok {
					goto write
				}
				batch = append(batch, it)
				changes += len(it.tx.Changes)
				continue
			default:
			}
			break
		}
	write:
		if err := s.write(ctx, batch); err != nil {
			return err
		}
		weight, finals := 0, 0
		for i := range batch {
			weight += batch[i].weight
			if batch[i].final && !batch[i].commit.IsZero() {
				finals++
			}
			batch[i] = item{} // let the GC have the rows
		}
		bud.release(weight)
		s.c.pending.pop(finals)
	}
}

func (s *Streamer) write(ctx context.Context, batch []item) error {
	b := sink.Batch{Txs: make([]sink.Tx, len(batch)), Continued: batch[len(batch)-1].continued}
	rows, txs := 0, 0
	var commit time.Time
	for i := range batch {
		b.Txs[i] = batch[i].tx
		rows += len(batch[i].tx.Changes)
		if batch[i].final && !batch[i].commit.IsZero() {
			txs++
			commit = batch[i].commit
		}
	}
	t0 := time.Now()
	lsn, err := s.opts.Sink.Write(ctx, s.opts.Connector, b)
	s.c.writeNanos.Add(uint64(time.Since(t0)))
	s.c.writes.Add(1)
	if err != nil {
		return fmt.Errorf("apply %d changes to the destination: %w", rows, err)
	}
	if uint64(lsn) > s.c.durable.Load() {
		s.c.durable.Store(uint64(lsn))
	}
	s.c.lastWriteNanos.Store(time.Now().UnixNano())
	s.c.rows.Add(uint64(rows))
	s.c.txs.Add(uint64(txs))
	if !commit.IsZero() {
		s.c.lastCommitNanos.Store(commit.UnixNano())
	}
	return nil
}
