package source

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ErrSlotLost: the slot was dropped behind Ardent's back or invalidated
// (wal_status lost). Changes since its last confirmed position are gone
// from the source; it is never retried by creating a new slot.
var ErrSlotLost = errors.New("replication slot lost")

// ErrSlotHeld: another role's session holds the slot and this role may not
// terminate it.
var ErrSlotHeld = errors.New("replication slot held by another role")

// SlotStatus is a slot's row of pg_replication_slots, with whether the
// session holding it runs as our role.
type SlotStatus struct {
	Name          string
	Plugin        string
	Database      string
	Active        bool
	ActivePID     int32
	ActiveOwnRole bool          // the holding session runs as current_user
	RestartLSN    pglogrepl.LSN // 0 when unknown
	// ConfirmedFlushLSN is what the slot's consumer acknowledged.
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

// TerminatePolicy says whose session may be terminated to free a slot.
type TerminatePolicy int

const (
	// TerminateOwnRole terminates only a session of our own role (a dead
	// worker's walsender, which lingers until wal_sender_timeout), or any
	// session when we are a superuser; another role's holder is ErrSlotHeld.
	// For taking a slot over while streaming: a slot held by someone else
	// is not ours to break.
	TerminateOwnRole TerminatePolicy = iota
	// TerminateAny terminates whichever session holds the slot (the server
	// still refuses without the privilege to signal it). For removing a
	// slot Ardent created and no longer wants: a drop, a failed snapshot
	// attempt.
	TerminateAny
)

// ReleaseSlot waits until the slot is free for at most timeout,
// terminating its holder as policy allows. A missing slot is ErrSlotLost.
func ReleaseSlot(ctx context.Context, conn *pgx.Conn, name string, timeout time.Duration, policy TerminatePolicy) error {
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
			if policy == TerminateOwnRole && !st.ActiveOwnRole {
				var super bool
				if err := conn.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil {
					return fmt.Errorf("release slot %q: %w", name, err)
				}
				if !super {
					return fmt.Errorf("release slot %q: %w (pid %d)", name, ErrSlotHeld, st.ActivePID)
				}
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
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// DropSlot drops the slot, first freeing it as policy allows. A missing
// slot is not an error; dropped says whether it existed.
func DropSlot(ctx context.Context, conn *pgx.Conn, name string, policy TerminatePolicy) (dropped bool, err error) {
	for attempt := 0; ; attempt++ {
		if err := ReleaseSlot(ctx, conn, name, 30*time.Second, policy); err != nil {
			if errors.Is(err, ErrSlotLost) {
				return false, nil
			}
			return false, fmt.Errorf("drop slot %q: %w", name, err)
		}
		tag, err := conn.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, name)
		if err == nil {
			return tag.RowsAffected() > 0, nil
		}
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "55006" || attempt >= 20 { // object_in_use
			return false, fmt.Errorf("drop slot %q: %w", name, err)
		}
		// The old holder exited but a new one grabbed the slot: go again.
	}
}
