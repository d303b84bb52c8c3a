package postgres

import (
	"context"
	"fmt"

	"github.com/ardent-cdc/ardent/internal/sink"
	"github.com/jackc/pglogrepl"
)

var _ sink.Checkpointer = (*Sink)(nil)

const resetAppliedLSN = `INSERT INTO _ardent.applied_lsn (connector, lsn, updated_at) VALUES ($1, $2::pg_lsn, now())
ON CONFLICT (connector) DO UPDATE SET lsn = excluded.lsn, updated_at = excluded.updated_at`

// ResetCheckpoint sets the connector's applied LSN outright (not "the
// greater of"): a new snapshot restarts the connector's history.
func (s *Sink) ResetCheckpoint(ctx context.Context, connector string, lsn pglogrepl.LSN) error {
	if err := s.ensureBookkeeping(ctx); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, resetAppliedLSN, connector, lsn); err != nil {
		return fmt.Errorf("reset applied LSN of connector %q to %s: %w", connector, lsn, err)
	}
	s.mu.Lock()
	if a := s.appliers[connector]; a != nil {
		a.abort(ctx) // release a destination transaction a stream left open
	}
	delete(s.appliers, connector)
	s.mu.Unlock()
	return nil
}
