package snapshot

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/ardent-cdc/ardent/internal/source"
	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
)

// OutputPlugin is the logical decoding plugin of every slot Ardent creates.
const OutputPlugin = "wal2json"

// slotNameRE is PostgreSQL's own rule for slot names; checking it here lets
// the name be spliced into replication commands without quoting.
var slotNameRE = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)

// ErrInvalidSlotName is returned for a slot name PostgreSQL would reject;
// it is a permanent error.
var ErrInvalidSlotName = errors.New("invalid slot name (want [a-z0-9_]{1,63})")

// SlotSnapshot is a freshly created slot and the snapshot it exported.
type SlotSnapshot struct {
	Name string
	// ConsistentLSN is the slot's consistent point: the change stream
	// delivers exactly the transactions committed after the snapshot.
	ConsistentLSN pglogrepl.LSN
	// SnapshotName is valid only while the replication connection that
	// created the slot stays open and runs no other command.
	SnapshotName string
}

// CreateSlotWithSnapshot creates a logical slot with the wal2json plugin on
// replConn (a replication=database connection) and exports its snapshot.
// The caller must keep replConn open and idle until Copy has imported the
// snapshot in every worker. Slot creation waits for the transactions
// running at that moment to end, so bound ctx.
func CreateSlotWithSnapshot(ctx context.Context, replConn *pgconn.PgConn, slot string) (SlotSnapshot, error) {
	if !slotNameRE.MatchString(slot) {
		return SlotSnapshot{}, fmt.Errorf("create slot %q: %w", slot, ErrInvalidSlotName)
	}
	major, err := source.ServerMajor(replConn)
	if err != nil {
		return SlotSnapshot{}, fmt.Errorf("create slot %q: %w", slot, err)
	}
	res, err := pglogrepl.ParseCreateReplicationSlot(replConn.Exec(ctx, createSlotSQL(slot, major)))
	if err != nil {
		return SlotSnapshot{}, fmt.Errorf("create slot %q: %w", slot, err)
	}
	lsn, err := pglogrepl.ParseLSN(res.ConsistentPoint)
	if err != nil {
		return SlotSnapshot{}, fmt.Errorf("create slot %q: consistent point: %w", slot, err)
	}
	if res.SnapshotName == "" {
		return SlotSnapshot{}, fmt.Errorf("create slot %q: server exported no snapshot", slot)
	}
	return SlotSnapshot{Name: res.SlotName, ConsistentLSN: pglogrepl.LSN(lsn), SnapshotName: res.SnapshotName}, nil
}

// createSlotSQL picks the option syntax: PostgreSQL 15 introduced the
// parenthesised form and deprecated the EXPORT_SNAPSHOT keyword.
func createSlotSQL(slot string, major int) string {
	if major >= 15 {
		return fmt.Sprintf("CREATE_REPLICATION_SLOT %s LOGICAL %s (SNAPSHOT 'export')", slot, OutputPlugin)
	}
	return fmt.Sprintf("CREATE_REPLICATION_SLOT %s LOGICAL %s EXPORT_SNAPSHOT", slot, OutputPlugin)
}

// dropOwnSlot drops the slot only while it is still the one created with
// consistent point lsn and nobody holds it: the failure path of an attempt
// must never drop the slot of a newer attempt that ended it (a newer slot
// always has a later consistent point, because creating the older one
// wrote WAL).
func dropOwnSlot(ctx context.Context, conn *pgconn.PgConn, slot string, lsn pglogrepl.LSN) error {
	const q = `
SELECT pg_drop_replication_slot(slot_name)
  FROM pg_replication_slots
 WHERE slot_name = $1 AND confirmed_flush_lsn = $2::pg_lsn AND NOT active`
	if err := conn.ExecParams(ctx, q, [][]byte{[]byte(slot), []byte(lsn.String())}, nil, nil, nil).Read().Err; err != nil {
		return fmt.Errorf("drop slot %q of a failed attempt: %w", slot, err)
	}
	return nil
}

// checkSlot fails unless the slot exists (and, when lsn is set, still has
// that consistent point): Copy checks it at the end, because a slot
// dropped or replaced during the copy means the changes that follow the
// snapshot are not kept for it.
func checkSlot(ctx context.Context, conn *pgconn.PgConn, slot string, lsn pglogrepl.LSN) error {
	res := conn.ExecParams(ctx, `SELECT coalesce(confirmed_flush_lsn::text, '') FROM pg_replication_slots WHERE slot_name = $1`,
		[][]byte{[]byte(slot)}, nil, nil, nil).Read()
	if res.Err != nil {
		return fmt.Errorf("check slot %q: %w", slot, res.Err)
	}
	if len(res.Rows) == 0 {
		return fmt.Errorf("slot %q vanished during the copy", slot)
	}
	if got := string(res.Rows[0][0]); lsn != 0 && got != lsn.String() {
		return fmt.Errorf("slot %q was replaced during the copy (consistent point %s, expected %s)", slot, got, lsn)
	}
	return nil
}
