package catalog

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ardent-cdc/ardent/internal/schema"
)

// SetSchema stores the discovered schema of a connector.
func (s *Store) SetSchema(ctx context.Context, name string, tables []schema.Table) error {
	if tables == nil {
		tables = []schema.Table{}
	}
	b, err := json.Marshal(tables)
	if err != nil {
		return fmt.Errorf("set schema of connector %q: encode: %w", name, err)
	}
	return s.update(ctx, "set schema of", name,
		`UPDATE ardent.connectors SET discovered_schema = $2, updated_at = now() WHERE name = $1`, b)
}

// MarkDropped marks a connector dropped, freeing its source for a new
// connector. It is idempotent: the first drop time is kept. The sealed
// credentials stay (and keep rotating) so a repeated cleanup can still reach
// the source.
func (s *Store) MarkDropped(ctx context.Context, name string) error {
	return s.update(ctx, "mark dropped", name, `UPDATE ardent.connectors
SET dropped_at = coalesce(dropped_at, now()), updated_at = now() WHERE name = $1`)
}

func (s *Store) update(ctx context.Context, op, name, sql string, args ...any) error {
	tag, err := s.pool.Exec(ctx, sql, append([]any{name}, args...)...)
	if err != nil {
		return fmt.Errorf("%s connector %q: %w", op, name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%s connector %q: %w", op, name, ErrNotFound)
	}
	return nil
}
