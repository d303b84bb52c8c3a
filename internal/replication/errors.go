package replication

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// isObjectInUse: "replication slot ... is active for PID ...".
func isObjectInUse(err error) bool { return pgCode(err) == "55006" }

// isSlotGone: the slot does not exist (42704) or can no longer be read
// because required WAL was removed (55000 "can no longer get changes from
// replication slot", or "... has been invalidated").
func isSlotGone(err error) bool {
	switch pgCode(err) {
	case "42704":
		return true
	case "55000":
		var pe *pgconn.PgError
		errors.As(err, &pe)
		return containsAny(pe.Message, "can no longer get changes", "invalidated", "does not exist")
	}
	return false
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// ErrDestinationBehind: the destination's checkpoint is behind what the
// slot has already confirmed, so the destination lost commits that the
// source no longer keeps (restored from a backup, or a crash with commits
// not flushed). Resuming would skip those changes silently.
var ErrDestinationBehind = errors.New("destination checkpoint is behind the slot's confirmed position")
