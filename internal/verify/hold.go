package verify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/rowsum"
	"github.com/ardent-cdc/ardent/internal/sink/postgres"
)

// pollEvery is how often the verifier looks for the waiting apply; the
// apply's stall is at most this plus two round trips.
const pollEvery = 2 * time.Millisecond

// errMissed: the apply committed past the verify point before it saw the
// hold; the attempt starts over with a new slot.
var errMissed = errors.New("the apply passed the verify point before the hold")

// destination is the destination side: a session holding the connector's
// hold lock, and a read-only transaction in the snapshot taken while the
// apply waited.
type destination struct {
	lock *pgx.Conn
	conn *pgx.Conn
	tx   pgx.Tx
	k1   int32
	k2   int32
	id   string
	// locked while the lock is held; held while the hold row exists.
	locked, held bool
}

// openDestination connects twice and takes the hold lock, before any slot
// exists, so the time from the consistent point to the hold is one round
// trip.
func openDestination(ctx context.Context, base *pgx.ConnConfig, connector string) (*destination, error) {
	cfg := base.Copy()
	cfg.RuntimeParams["application_name"] = "ardent-verify-" + connector
	d := &destination{}
	var err error
	d.k1, d.k2 = postgres.HoldLockKeys(connector)
	if d.lock, err = pgx.ConnectConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("connect to destination: %w", redact(err))
	}
	if d.conn, err = pgx.ConnectConfig(ctx, cfg); err != nil {
		d.close(ctx, connector)
		return nil, fmt.Errorf("connect to destination: %w", redact(err))
	}
	var applied *pglogrepl.LSN
	if err := d.lock.QueryRow(ctx, `SELECT (SELECT lsn FROM _ardent.applied_lsn WHERE connector = $1)
		WHERE to_regclass('_ardent.applied_lsn') IS NOT NULL`, connector).Scan(&applied); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		d.close(ctx, connector)
		return nil, fmt.Errorf("read the checkpoint of connector %q: %w", connector, err)
	}
	if applied == nil {
		d.close(ctx, connector)
		return nil, fmt.Errorf("%w: connector %q has no checkpoint in the destination yet (its stream never committed)", ErrApplyNotReached, connector)
	}
	if _, err := d.lock.Exec(ctx, postgres.HoldTableDDL); err != nil {
		d.close(ctx, connector)
		return nil, fmt.Errorf("create _ardent.verify_hold: %w", err)
	}
	if _, err := d.conn.Exec(ctx, rowsum.Settings); err != nil {
		d.close(ctx, connector)
		return nil, fmt.Errorf("set up destination session: %w", err)
	}
	if _, err := d.lock.Exec(ctx, "SELECT pg_advisory_lock($1, $2)", d.k1, d.k2); err != nil {
		d.close(ctx, connector)
		return nil, fmt.Errorf("take the verify lock of connector %q: %w", connector, err)
	}
	d.locked = true
	return d, nil
}

// setHold asks the apply to stop after its last transaction at or before lsn.
func (d *destination) setHold(ctx context.Context, connector string, lsn pglogrepl.LSN) error {
	var b [8]byte
	_, _ = rand.Read(b[:])
	d.id = hex.EncodeToString(b[:])
	_, err := d.lock.Exec(ctx, `INSERT INTO _ardent.verify_hold (connector, lsn, id) VALUES ($1, $2::pg_lsn, $3)
		ON CONFLICT (connector) DO UPDATE SET lsn = excluded.lsn, id = excluded.id, created_at = now()`, connector, lsn, d.id)
	if err != nil {
		return fmt.Errorf("set the verify hold of connector %q: %w", connector, err)
	}
	d.held = true
	return nil
}

// snapshotWhenHeld waits for the apply to wait on the lock, opens the read
// transaction, then lets the apply go. It returns the checkpoint the
// snapshot shows and an upper bound of the apply's stall.
func (d *destination) snapshotWhenHeld(ctx context.Context, connector string, lsn pglogrepl.LSN, timeout time.Duration) (pglogrepl.LSN, time.Duration, error) {
	deadline := time.Now().Add(timeout)
	for {
		var waiting bool
		var applied pglogrepl.LSN
		err := d.lock.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
				AND classid = $1::bigint::oid AND objid = ($2::bigint & 4294967295)::oid AND objsubid = 2),
			(SELECT lsn FROM _ardent.applied_lsn WHERE connector = $3)`, d.k1, d.k2, connector).Scan(&waiting, &applied)
		if err != nil {
			return 0, 0, fmt.Errorf("wait for the apply of connector %q: %w", connector, err)
		}
		if applied > lsn {
			return 0, 0, errMissed
		}
		if waiting {
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("%w within %s (checkpoint %s, verify point %s): is the connector streaming? `ardent status %s` shows its lag",
				ErrApplyNotReached, timeout, applied, lsn, connector)
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
	seen := time.Now()
	var err error
	if d.tx, err = d.conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}); err != nil {
		return 0, 0, fmt.Errorf("begin destination snapshot: %w", err)
	}
	var applied pglogrepl.LSN
	// The first query of a repeatable-read transaction takes its snapshot.
	if err := d.tx.QueryRow(ctx, "SELECT lsn FROM _ardent.applied_lsn WHERE connector = $1", connector).Scan(&applied); err != nil {
		return 0, 0, fmt.Errorf("take destination snapshot: %w", err)
	}
	if err := d.release(ctx, connector); err != nil {
		return 0, 0, err
	}
	stall := time.Since(seen) + pollEvery
	if applied > lsn {
		// The apply stopped waiting (its wait is bounded) before the
		// snapshot was taken.
		return 0, 0, errMissed
	}
	return applied, stall, nil
}

// release lets the apply go and removes the hold row.
func (d *destination) release(ctx context.Context, connector string) error {
	if d.locked {
		if _, err := d.lock.Exec(ctx, "SELECT pg_advisory_unlock($1, $2)", d.k1, d.k2); err != nil {
			return fmt.Errorf("release the verify lock of connector %q: %w", connector, err)
		}
		d.locked = false
	}
	if d.held {
		if _, err := d.lock.Exec(ctx, "DELETE FROM _ardent.verify_hold WHERE connector = $1 AND id = $2", connector, d.id); err != nil {
			return fmt.Errorf("remove the verify hold of connector %q: %w", connector, err)
		}
		d.held = false
	}
	return nil
}

// close releases everything; closing the lock session frees the lock even
// when the release cannot run.
func (d *destination) close(ctx context.Context, connector string) {
	ctx = context.WithoutCancel(ctx)
	if d.lock != nil {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = d.release(rctx, connector)
		cancel()
		_ = d.lock.Close(ctx)
	}
	if d.tx != nil {
		_ = d.tx.Rollback(ctx)
	}
	if d.conn != nil {
		_ = d.conn.Close(ctx)
	}
}
