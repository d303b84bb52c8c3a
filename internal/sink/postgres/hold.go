package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
)

// The verify hold (internal/verify) is how `ardent verify` reads the
// destination at the same LSN as the source without stopping the stream
// for longer than it takes to open a snapshot:
//
//  1. The verifier takes an exclusive advisory lock (HoldLockKeys) in a
//     session of its own, then writes the source LSN C it compares at into
//     _ardent.verify_hold, then emits a heartbeat message on the source,
//     which reaches this applier after every transaction committing before C.
//  2. The applier reads the hold with the checkpoint lock at the start of
//     every destination transaction (no extra round trip). Before it applies
//     the first source transaction committing after C, it commits what it
//     has (everything up to C) and waits for a shared lock on the same key:
//     the verifier sees the waiter in pg_locks, opens its snapshot and
//     unlocks. A source transaction split over several Writes re-reads the
//     hold before it commits.
//  3. A hold is served once (by id). The wait is bounded (holdWaitLimit):
//     a verifier that hangs never stops the stream for long; it then sees
//     the checkpoint beyond C in its snapshot and tries again.
//
// An applier that was already past C when the hold appeared just skips it;
// the verifier sees the checkpoint beyond C and tries again with a new C.

// HoldTableDDL creates the hold table; the verifier runs it too, for a
// destination whose applier predates it.
const HoldTableDDL = `CREATE TABLE IF NOT EXISTS _ardent.verify_hold (
	connector text PRIMARY KEY,
	lsn pg_lsn NOT NULL,
	id text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
)`

// holdWaitLimit bounds how long the apply waits for a verifier.
const holdWaitLimit = 10 * time.Second

// holdLockClass is the first key of the hold's advisory lock ("ARDV").
const holdLockClass int32 = 0x41524456

// HoldLockKeys returns the two int4 keys of the connector's hold lock, for
// pg_advisory_lock(int4, int4); in pg_locks they are classid and objid
// (as unsigned) with objsubid 2.
func HoldLockKeys(connector string) (int32, int32) {
	h := fnv.New32a()
	_, _ = h.Write([]byte(connector))
	return holdLockClass, int32(h.Sum32())
}

// hold is a verifier's request as the applier last read it.
type hold struct {
	lsn pglogrepl.LSN
	id  string
}

// pending reports whether the hold still has to be served before a source
// transaction committing at commit is applied.
func (a *applier) holdBefore(commit pglogrepl.LSN) bool {
	return a.hold.id != "" && a.hold.id != a.served && commit > a.hold.lsn
}

// setHold records the hold read with the checkpoint lock. A hold the
// applier is already past cannot be served: it is marked served (skipped).
func (a *applier) setHold(lsn *pglogrepl.LSN, id *string) {
	a.hold = hold{}
	if id == nil || lsn == nil {
		return
	}
	a.hold = hold{lsn: *lsn, id: *id}
	if a.durable > *lsn && a.served != *id {
		a.served = *id
	}
}

const readHold = `SELECT lsn, id FROM _ardent.verify_hold WHERE connector = $1`

// recheckHold reads the hold again inside the open destination transaction
// (a source transaction split over several Writes began before it).
func (a *applier) recheckHold(ctx context.Context, connector string) error {
	var lsn *pglogrepl.LSN
	var id *string
	err := a.tx.QueryRow(ctx, readHold, connector).Scan(&lsn, &id)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("read verify hold of connector %q: %w", connector, err)
	}
	a.setHold(lsn, id)
	return nil
}

// serve waits (bounded) for the verifier holding the connector's lock, on a
// connection of its own so a timeout cannot abort the open transaction.
// Everything up to the hold's LSN is committed when it is called.
func (s *Sink) serve(ctx context.Context, a *applier, connector string) {
	a.served = a.hold.id
	k1, k2 := HoldLockKeys(connector)
	wctx, cancel := context.WithTimeout(ctx, holdWaitLimit)
	defer cancel()
	t0 := time.Now()
	conn, err := s.pool.Acquire(wctx)
	if err == nil {
		defer conn.Release()
		_, err = conn.Exec(wctx, "SELECT pg_advisory_lock_shared($1, $2)", k1, k2)
		if err == nil {
			_, err = conn.Exec(ctx, "SELECT pg_advisory_unlock_shared($1, $2)", k1, k2)
		}
	}
	if err != nil {
		s.log.Warn("verify hold: stopped waiting for the verifier", "connector", connector, "lsn", a.hold.lsn.String(), "err", err)
		return
	}
	s.log.Info("verify hold served", "connector", connector, "lsn", a.hold.lsn.String(), "held", time.Since(t0))
}

// holdAt serves the hold before a source transaction committing after its
// LSN is applied. What the open destination transaction holds decides how:
// nothing or only transactions after the hold: serve now (the verifier's
// snapshot cannot see them); only transactions up to the hold: commit them
// first (w may be nil when nothing is queued) and report committed, so the
// caller begins again; both: the hold cannot be served exactly, so it is
// skipped and the verifier tries again.
func (s *Sink) holdAt(ctx context.Context, a *applier, w *writer, connector string) (committed bool, err error) {
	switch {
	case a.first == 0 || a.first > a.hold.lsn:
		s.serve(ctx, a, connector)
		return false, nil
	case a.last <= a.hold.lsn:
		if w == nil {
			w = &writer{s: s, a: a, tx: a.tx, batch: &pgx.Batch{}}
		}
		if err := a.commit(ctx, w, connector, a.last); err != nil {
			return false, err
		}
		s.serve(ctx, a, connector)
		return true, nil
	default:
		a.served = a.hold.id
		s.log.Info("verify hold skipped: the open transaction straddles it", "connector", connector, "lsn", a.hold.lsn.String())
		return false, nil
	}
}
