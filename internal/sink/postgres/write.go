package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ardent-cdc/ardent/internal/sink"
)

// applier is the streaming state of one connector.
type applier struct {
	loaded  bool
	durable sink.LSN
	conn    *pgxpool.Conn
	tx      pgx.Tx // open while a source transaction spans several Writes
	// Statements sent but whose results are not read yet (see flush).
	pending      pgx.BatchResults
	pendingBatch *pgx.Batch
	// continued: the last Write ended inside a source transaction.
	continued bool
}

func (a *applier) abort(ctx context.Context) {
	if a.pending != nil {
		_ = a.pending.Close()
		a.pending, a.pendingBatch = nil, nil
	}
	if a.tx != nil {
		_ = a.tx.Rollback(ctx)
	}
	if a.conn != nil {
		a.conn.Release()
	}
	a.tx, a.conn = nil, nil
	a.continued = false
	// After a failure the caller restarts from the durable LSN; reading it
	// again costs one query and protects against any doubt.
	a.loaded = false
}

func (s *Sink) applierFor(connector string) *applier {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.appliers[connector]
	if a == nil {
		a = &applier{}
		s.appliers[connector] = a
	}
	return a
}

const upsertAppliedLSN = `INSERT INTO _ardent.applied_lsn (connector, lsn, updated_at) VALUES ($1, $2::pg_lsn, now())
ON CONFLICT (connector) DO UPDATE SET lsn = excluded.lsn, updated_at = excluded.updated_at`

// Write applies the batch in one destination transaction (or, with
// Batch.Continued, in one that stays open until the source transaction
// completes) and returns the LSN now durable. Writes for one connector must
// not run concurrently. After a Continued Write the destination may still be
// executing its last statements (their errors surface in the next Write), so
// ctx must stay alive until the source transaction's final Write.
func (s *Sink) Write(ctx context.Context, connector string, b sink.Batch) (lsn sink.LSN, err error) {
	a := s.applierFor(connector)
	defer func() {
		if err != nil {
			a.abort(context.WithoutCancel(ctx))
		}
	}()
	if a.continued && (len(b.Txs) == 0 || b.Txs[0].Part == 0) {
		// The stream restarted inside a split source transaction and
		// replays it from its start: drop what the abandoned attempt wrote.
		s.log.Info("rolling back an abandoned split transaction", "connector", connector)
		a.abort(ctx)
	}
	if len(b.Txs) > 0 && b.Txs[0].Part > 0 && !a.continued {
		return 0, fmt.Errorf("write batch of connector %q: continuation part %d of the transaction committing at %s without its start",
			connector, b.Txs[0].Part, b.Txs[0].CommitLSN)
	}
	if !a.loaded {
		d, err := s.DurableLSN(ctx, connector)
		if err != nil {
			return 0, err
		}
		a.durable, a.loaded = d, true
	}
	var last sink.LSN
	var w *writer
	for i := range b.Txs {
		tx := &b.Txs[i]
		if tx.CommitLSN <= a.durable {
			continue
		}
		if a.tx == nil {
			if a.conn, err = s.pool.Acquire(ctx); err != nil {
				return 0, fmt.Errorf("write batch of connector %q: acquire connection: %w", connector, err)
			}
			if a.tx, err = a.conn.Begin(ctx); err != nil {
				return 0, fmt.Errorf("write batch of connector %q: begin: %w", connector, err)
			}
		}
		if w == nil {
			w = &writer{s: s, a: a, tx: a.tx, batch: &pgx.Batch{}}
		}
		for j := range tx.Changes {
			if err := w.add(ctx, &tx.Changes[j]); err != nil {
				return 0, fmt.Errorf("write batch of connector %q: %w", connector, err)
			}
		}
		last = tx.CommitLSN
	}
	if a.tx == nil {
		// Everything was skipped; a skipped split transaction still has to
		// be followed through its parts.
		a.continued = b.Continued
		return a.durable, nil
	}
	if b.Continued {
		if err := w.flush(ctx, false); err != nil {
			return 0, fmt.Errorf("write batch of connector %q: %w", connector, err)
		}
		a.continued = true
		return a.durable, nil
	}
	if w == nil { // the continuation of a skipped-nothing chunk with no changes
		w = &writer{s: s, a: a, tx: a.tx, batch: &pgx.Batch{}}
	}
	if last == 0 {
		return 0, fmt.Errorf("write batch of connector %q: open transaction ended without a commit LSN", connector)
	}
	if err := w.closeGroup(ctx); err != nil {
		return 0, fmt.Errorf("write batch of connector %q: %w", connector, err)
	}
	w.batch.Queue(upsertAppliedLSN, connector, last.String())
	if err := w.flush(ctx, true); err != nil {
		return 0, fmt.Errorf("write batch of connector %q: %w", connector, err)
	}
	if err := a.tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("write batch of connector %q: commit at %s: %w", connector, last, err)
	}
	a.conn.Release()
	a.tx, a.conn = nil, nil
	a.continued = false
	a.durable = last
	return last, nil
}
