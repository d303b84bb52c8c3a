package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ardent-cdc/ardent/internal/sink"
)

// applier is the streaming state of one connector.
type applier struct {
	loaded  bool
	durable pglogrepl.LSN
	conn    *pgxpool.Conn
	tx      pgx.Tx // open while a source transaction spans several Writes
	// Statements sent but whose results are not read yet (see flush).
	pending       pgx.BatchResults
	pendingBatch  *pgx.Batch
	pendingTables []*tableInfo // per statement of pendingBatch, see writer.batchTables
	// continued: the last Write ended inside a source transaction.
	continued bool
	// first and last are the commit LSNs of the first and last source
	// transactions in the open destination transaction (0 when none).
	first, last pglogrepl.LSN
	hold        hold   // the verify hold read with the checkpoint lock
	served      string // the id of the last hold served (or skipped)
	// gates are the table states (tablestate.go) as of gatesVersion, the
	// registry version read with the checkpoint lock.
	gates        map[tableKey]gate
	gatesVersion int64
	gatesLoaded  bool
	gated        bool // the registry was ever set (tables_version > 0)
	// skipped are tables without a state whose changes arrived (guarded:
	// SkippedTables reads it from another goroutine).
	skipMu  sync.Mutex
	skipped map[tableKey]bool
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

// upsertAppliedLSN moves the checkpoint forward only: a writer that lost
// the race (see lockCheckpoint) can never move it back.
const upsertAppliedLSN = `INSERT INTO _ardent.applied_lsn AS a (connector, lsn, updated_at) VALUES ($1, $2::pg_lsn, now())
ON CONFLICT (connector) DO UPDATE SET lsn = excluded.lsn, updated_at = excluded.updated_at WHERE a.lsn < excluded.lsn`

// lockCheckpoint is the fence against a second writer: a worker cut off
// from Temporal but not from the databases may still be applying while its
// replacement applies the same changes. Every destination transaction first
// locks the connector's checkpoint row and reads it, so the two serialize
// on that row and each skips what the other already committed.
// The verify hold (hold.go) is read with it, at no extra round trip.
const lockCheckpoint = `SELECT a.lsn, h.lsn, h.id, a.tables_version FROM _ardent.applied_lsn a
LEFT JOIN _ardent.verify_hold h ON h.connector = a.connector WHERE a.connector = $1 FOR UPDATE OF a`

const insertCheckpoint = `INSERT INTO _ardent.applied_lsn (connector, lsn) VALUES ($1, '0/0') ON CONFLICT (connector) DO NOTHING`

// begin opens the destination transaction and takes the checkpoint lock,
// raising a.durable to what is committed (by this writer or another).
func (a *applier) begin(ctx context.Context, s *Sink, connector string) error {
	var err error
	if a.conn, err = s.pool.Acquire(ctx); err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	if a.tx, err = a.conn.Begin(ctx); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	var l pglogrepl.LSN
	var holdLSN *pglogrepl.LSN
	var holdID *string
	var version int64
	err = a.tx.QueryRow(ctx, lockCheckpoint, connector).Scan(&l, &holdLSN, &holdID, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err = a.tx.Exec(ctx, insertCheckpoint, connector); err == nil {
			err = a.tx.QueryRow(ctx, lockCheckpoint, connector).Scan(&l, &holdLSN, &holdID, &version)
		}
	}
	if err != nil {
		return fmt.Errorf("lock the checkpoint of connector %q: %w", connector, err)
	}
	if err := a.loadGates(ctx, s, connector, version); err != nil {
		return err
	}
	if l > a.durable {
		s.log.Warn("another writer advanced the checkpoint: skipping what it applied", "connector", connector,
			"ours", a.durable.String(), "committed", l.String())
		a.durable = l
	}
	a.first, a.last = 0, 0
	a.setHold(holdLSN, holdID)
	return nil
}

// Write applies the batch in one destination transaction (or, with
// Batch.Continued, in one that stays open until the source transaction
// completes) and returns the LSN now durable. Writes for one connector must
// not run concurrently. After a Continued Write the destination may still be
// executing its last statements (their errors surface in the next Write), so
// ctx must stay alive until the source transaction's final Write.
func (s *Sink) Write(ctx context.Context, connector string, b sink.Batch) (lsn pglogrepl.LSN, err error) {
	a := s.applierFor(connector)
	defer func() {
		if err != nil {
			a.abort(context.WithoutCancel(ctx))
			// The failure may be a destination table that changed (or must
			// be changed by the operator before a retry): read the tables'
			// shapes again next time.
			s.forget()
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
	if a.tx == nil && len(b.Txs) > 0 && b.Txs[len(b.Txs)-1].CommitLSN > a.durable {
		if err := a.begin(ctx, s, connector); err != nil {
			return 0, fmt.Errorf("write batch of connector %q: %w", connector, err)
		}
	} else if a.tx != nil && a.continued && !b.Continued {
		// This Write completes a source transaction whose destination
		// transaction began in an earlier one: a verifier may have asked
		// for a hold since. (Once per split transaction, so its earlier
		// parts keep their pipelining.)
		if err := a.finish(); err != nil {
			return 0, fmt.Errorf("write batch of connector %q: %w", connector, err)
		}
		if err := a.recheckHold(ctx, connector); err != nil {
			return 0, fmt.Errorf("write batch of connector %q: %w", connector, err)
		}
	}
	var last pglogrepl.LSN
	var w *writer
	for i := range b.Txs {
		tx := &b.Txs[i]
		if tx.CommitLSN <= a.durable {
			continue
		}
		if tx.Part == 0 && a.holdBefore(tx.CommitLSN) {
			committed, err := s.holdAt(ctx, a, w, connector)
			if err != nil {
				return 0, fmt.Errorf("write batch of connector %q: %w", connector, err)
			}
			if committed {
				w, last = nil, 0
				if err := a.begin(ctx, s, connector); err != nil {
					return 0, fmt.Errorf("write batch of connector %q: %w", connector, err)
				}
				if tx.CommitLSN <= a.durable {
					continue
				}
			}
		}
		if w == nil {
			w = &writer{s: s, a: a, tx: a.tx, batch: &pgx.Batch{}, connector: connector}
		}
		w.lsn = tx.CommitLSN
		for j := range tx.Changes {
			if c := &tx.Changes[j]; !a.applies(c.Schema, c.Table, tx.CommitLSN) {
				continue
			}
			if err := w.add(ctx, &tx.Changes[j]); err != nil {
				return 0, fmt.Errorf("write batch of connector %q: %w", connector, err)
			}
		}
		last = tx.CommitLSN
		if a.first == 0 {
			a.first = last
		}
		a.last = last
	}
	if a.tx == nil || (last == 0 && !a.continued) {
		// Everything was skipped (maybe after the checkpoint lock showed
		// another writer got there first); a skipped split transaction
		// still has to be followed through its parts.
		if a.tx != nil {
			_ = a.tx.Rollback(ctx)
			a.conn.Release()
			a.tx, a.conn = nil, nil
		}
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
		w = &writer{s: s, a: a, tx: a.tx, batch: &pgx.Batch{}, connector: connector}
	}
	if last == 0 {
		return 0, fmt.Errorf("write batch of connector %q: open transaction ended without a commit LSN", connector)
	}
	if a.holdBefore(last) {
		// The hold appeared while this transaction was open.
		if _, err := s.holdAt(ctx, a, nil, connector); err != nil {
			return 0, fmt.Errorf("write batch of connector %q: %w", connector, err)
		}
	}
	if err := a.commit(ctx, w, connector, last); err != nil {
		return 0, fmt.Errorf("write batch of connector %q: %w", connector, err)
	}
	return last, nil
}

// commit ends the open destination transaction with the checkpoint last.
func (a *applier) commit(ctx context.Context, w *writer, connector string, last pglogrepl.LSN) error {
	if err := w.closeGroup(ctx); err != nil {
		return err
	}
	w.batch.Queue(upsertAppliedLSN, connector, last)
	if err := w.flush(ctx, true); err != nil {
		return err
	}
	if err := a.tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit at %s: %w", last, err)
	}
	a.conn.Release()
	a.tx, a.conn = nil, nil
	a.continued = false
	a.durable = last
	return nil
}
