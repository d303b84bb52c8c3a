package snapshot

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"

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

// ReplicationConfig parses a source URL into a config for a logical
// replication connection (replication=database).
func ReplicationConfig(sourceURL string) (*pgconn.Config, error) {
	cfg, err := pgconn.ParseConfig(sourceURL)
	if err != nil {
		return nil, fmt.Errorf("parse source URL: %w", redactParseError(err))
	}
	cfg.RuntimeParams["replication"] = "database"
	return cfg, nil
}

// redactParseError drops the details of a URL parse error, which may quote
// the URL and its password.
func redactParseError(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("malformed connection string")
	}
	return err
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
	major, err := serverMajor(replConn)
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

func serverMajor(conn *pgconn.PgConn) (int, error) {
	return parseMajor(conn.ParameterStatus("server_version"))
}

// parseMajor reads the major version from server_version, e.g.
// "15.4 (Debian 15.4-1)" or "14beta1".
func parseMajor(v string) (int, error) {
	end := 0
	for end < len(v) && v[end] >= '0' && v[end] <= '9' {
		end++
	}
	major, err := strconv.Atoi(v[:end])
	if err != nil {
		return 0, fmt.Errorf("parse server_version %q: %w", v, err)
	}
	return major, nil
}

// DropSlot drops the slot if it exists, terminating the backend that holds
// it first (a walsender of a dead worker may keep a slot active until
// wal_sender_timeout, design.md 4.8). conn is an ordinary SQL connection to
// the slot's database. Dropping a slot that does not exist is not an error,
// so a retried attempt can always start with DropSlot.
func DropSlot(ctx context.Context, conn *pgconn.PgConn, slot string) error {
	const q = `
SELECT pg_terminate_backend(active_pid)
  FROM pg_replication_slots
 WHERE slot_name = $1 AND active_pid IS NOT NULL AND active_pid <> pg_backend_pid()`
	const drop = `
SELECT pg_drop_replication_slot(slot_name)
  FROM pg_replication_slots
 WHERE slot_name = $1`
	for attempt := 0; ; attempt++ {
		if err := conn.ExecParams(ctx, q, [][]byte{[]byte(slot)}, nil, nil, nil).Read().Err; err != nil {
			return fmt.Errorf("drop slot %q: terminate holder: %w", slot, err)
		}
		err := conn.ExecParams(ctx, drop, [][]byte{[]byte(slot)}, nil, nil, nil).Read().Err
		if err == nil {
			return nil
		}
		// 55006 object_in_use: the terminated walsender has not exited yet.
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "55006" || attempt >= 50 {
			return fmt.Errorf("drop slot %q: %w", slot, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("drop slot %q: %w", slot, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
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

// ApplicationName tags every source session of a snapshot attempt for
// slot (its workers and its replication connection), so that the next
// attempt can find and end a previous attempt that is still running (a
// worker that lost its activity but not its process). It fits in
// PostgreSQL's 63-byte application_name for any connector name.
func ApplicationName(slot string) string {
	if slot == "" {
		return "ardent_snapshot"
	}
	return "ardent_snapshot:" + slot
}

// EndAttempt terminates the source sessions of any earlier snapshot
// attempt for slot, waiting (PostgreSQL >= 14) up to 5 s for each to exit.
// A role may terminate its own role's backends, so no superuser is needed.
func EndAttempt(ctx context.Context, conn *pgconn.PgConn, slot string) error {
	q := `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`
	if major, err := serverMajor(conn); err == nil && major >= 14 {
		q = `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`
	}
	if err := conn.ExecParams(ctx, q, [][]byte{[]byte(ApplicationName(slot))}, nil, nil, nil).Read().Err; err != nil {
		return fmt.Errorf("end earlier snapshot attempt for slot %q: %w", slot, err)
	}
	return nil
}
