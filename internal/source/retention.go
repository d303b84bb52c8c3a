package source

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// SlotRetention is what a replication slot holds back on its source, as an
// operator alerts on it: whether it exists and streams, how much WAL it
// keeps, and how close it is to being invalidated.
type SlotRetention struct {
	// Exists is false when the source has no slot of that name (dropped
	// behind Ardent's back, or not created yet); the other fields are then
	// zero.
	Exists bool
	// Active: a session (a stream) holds the slot.
	Active bool
	// WALStatus is reserved, extended, unreserved or lost; "" when the
	// server reports none.
	WALStatus string
	// RetainedBytes is the WAL between the source's current position and
	// the slot's restart_lsn; nil when the slot has no restart_lsn (lost).
	RetainedBytes *float64
	// SafeWALSize is how many more bytes of WAL can be written before the
	// slot is at risk of invalidation; nil when max_slot_wal_keep_size is
	// -1 (no limit) or the slot is lost.
	SafeWALSize *int64
}

// retentionQuery is one cheap read of pg_replication_slots: no lock, no
// join, readable by any role.
const retentionQuery = `SELECT active, coalesce(wal_status, ''), safe_wal_size,
	(pg_current_wal_lsn() - restart_lsn)::float8
FROM pg_replication_slots WHERE slot_name = $1`

// ReadSlotRetention reads slot's retention on the source conn is connected
// to (a primary: pg_current_wal_lsn fails during recovery). A missing slot
// is not an error: Exists says so.
func ReadSlotRetention(ctx context.Context, conn *pgx.Conn, slot string) (SlotRetention, error) {
	r := SlotRetention{Exists: true}
	err := conn.QueryRow(ctx, retentionQuery, slot).Scan(&r.Active, &r.WALStatus, &r.SafeWALSize, &r.RetainedBytes)
	if errors.Is(err, pgx.ErrNoRows) {
		return SlotRetention{}, nil
	}
	if err != nil {
		return SlotRetention{}, fmt.Errorf("read retention of slot %q: %w", slot, err)
	}
	return r, nil
}
