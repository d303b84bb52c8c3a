package replication

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
)

// ErrSlotLost means the replication slot no longer exists or was
// invalidated (WAL it needed was removed). Changes may be lost, so the
// connector must stop and the operator choose: re-snapshot or drop.
var ErrSlotLost = errors.New("replication slot lost")

// ErrSlotHeld means another role's walsender holds the slot and Ardent may
// not terminate it.
var ErrSlotHeld = errors.New("replication slot held by another role")

// SlotStatus describes a replication slot.
type SlotStatus struct {
	Name              string
	Plugin            string
	Database          string
	Active            bool
	ActivePID         int32         // 0 when inactive
	ActiveOwnRole     bool          // the holder runs as the current role
	RestartLSN        pglogrepl.LSN // 0 when unknown
	ConfirmedFlushLSN pglogrepl.LSN
	WALStatus         string // reserved, extended, unreserved, lost; "" when unknown
}

// Lost reports whether the slot can no longer stream.
func (s SlotStatus) Lost() bool { return s.WALStatus == "lost" }

const slotQuery = `SELECT s.slot_name::text, coalesce(s.plugin::text, ''), coalesce(s.database::text, ''), s.active,
	coalesce(s.active_pid, 0), coalesce(a.usename = current_user, false),
	coalesce(s.restart_lsn, '0/0'), coalesce(s.confirmed_flush_lsn, '0/0'), coalesce(s.wal_status, '')
FROM pg_replication_slots s LEFT JOIN pg_stat_activity a ON a.pid = s.active_pid
WHERE s.slot_name = $1`

// SlotInfo reads the slot's status. A missing slot is ErrSlotLost.
func SlotInfo(ctx context.Context, conn *pgx.Conn, name string) (SlotStatus, error) {
	var st SlotStatus
	err := conn.QueryRow(ctx, slotQuery, name).Scan(&st.Name, &st.Plugin, &st.Database, &st.Active,
		&st.ActivePID, &st.ActiveOwnRole, &st.RestartLSN, &st.ConfirmedFlushLSN, &st.WALStatus)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, fmt.Errorf("read slot %q: %w: it does not exist", name, ErrSlotLost)
	}
	if err != nil {
		return st, fmt.Errorf("read slot %q: %w", name, err)
	}
	return st, nil
}

// releaseSlot terminates the walsender holding the slot (a dead worker's
// session lingers until wal_sender_timeout) and waits until the slot is
// free. Only a backend of our own role is terminated, unless we are a
// superuser.
func releaseSlot(ctx context.Context, conn *pgx.Conn, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		st, err := SlotInfo(ctx, conn, name)
		if err != nil {
			return err
		}
		if !st.Active {
			return nil
		}
		if st.ActivePID != 0 {
			var super bool
			if err := conn.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil {
				return fmt.Errorf("release slot %q: %w", name, err)
			}
			if !st.ActiveOwnRole && !super {
				return fmt.Errorf("release slot %q: %w (pid %d)", name, ErrSlotHeld, st.ActivePID)
			}
			if _, err := conn.Exec(ctx, "SELECT pg_terminate_backend($1)", st.ActivePID); err != nil {
				return fmt.Errorf("release slot %q: terminate pid %d: %w", name, st.ActivePID, err)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("release slot %q: still active after %s", name, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// DropSlot drops the slot, terminating a walsender that holds it first. A
// missing slot is not an error.
func DropSlot(ctx context.Context, conn *pgx.Conn, name string) error {
	for attempt := 0; ; attempt++ {
		if err := releaseSlot(ctx, conn, name, 30*time.Second); err != nil {
			if errors.Is(err, ErrSlotLost) {
				return nil
			}
			return fmt.Errorf("drop slot %q: %w", name, err)
		}
		_, err := conn.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, name)
		if err == nil {
			return nil
		}
		if !isObjectInUse(err) || attempt >= 20 {
			return fmt.Errorf("drop slot %q: %w", name, err)
		}
		// The old walsender exited but a new one grabbed the slot: go again.
	}
}
