package source

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// SnapshotApplicationName tags every source session of a snapshot attempt
// for slot (its workers and its replication connection), so that the next
// attempt can find and end a previous attempt that is still running (a
// worker that lost its activity but not its process). It fits in
// PostgreSQL's 63-byte application_name for any connector name.
func SnapshotApplicationName(slot string) string {
	if slot == "" {
		return "ardent_snapshot"
	}
	return "ardent_snapshot:" + slot
}

// EndSnapshotAttempt terminates the source sessions of any earlier
// snapshot attempt for slot, waiting (PostgreSQL >= 14) up to 5 s for each
// to exit. A role may terminate its own role's backends, so no superuser is
// needed.
func EndSnapshotAttempt(ctx context.Context, conn *pgconn.PgConn, slot string) error {
	q := `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`
	if major, err := ServerMajor(conn); err == nil && major >= 14 {
		q = `SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`
	}
	if err := conn.ExecParams(ctx, q, [][]byte{[]byte(SnapshotApplicationName(slot))}, nil, nil, nil).Read().Err; err != nil {
		return fmt.Errorf("end earlier snapshot attempt for slot %q: %w", slot, err)
	}
	return nil
}
