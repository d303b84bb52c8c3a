package source

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/naming"
)

// Removed says what RemoveConnector found and removed; false means it was
// already absent.
type Removed struct {
	Slot        bool
	Bookkeeping bool
}

// RemoveConnector removes what a connector created in the source: its
// replication slot (whichever session holds it is terminated: a worker's
// walsender that has not noticed the drop, or one left by a workflow that
// was terminated) and Ardent's bookkeeping schema. It then checks with the
// cleanup query of the generated SQL that neither is left. Idempotent: a
// repeated or interrupted removal finishes the job.
func RemoveConnector(ctx context.Context, conn *pgx.Conn, slot string) (Removed, error) {
	var r Removed
	var err error
	if r.Slot, err = DropSlot(ctx, conn, slot, TerminateAny); err != nil {
		return r, err
	}
	if r.Bookkeeping, err = DropBookkeeping(ctx, conn); err != nil {
		return r, err
	}
	var left int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", slot).Scan(&left); err != nil {
		return r, fmt.Errorf("verify slot %q is gone: %w", slot, err)
	}
	if left != 0 {
		return r, fmt.Errorf("slot %q still exists after it was dropped (a new session took it)", slot)
	}
	if there, err := bookkeepingExists(ctx, conn); err != nil || there {
		if err == nil {
			err = fmt.Errorf("bookkeeping schema %s still exists after it was dropped", naming.BookkeepingSchema)
		}
		return r, err
	}
	return r, nil
}
