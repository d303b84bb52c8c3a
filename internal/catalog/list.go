package catalog

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// List returns every connector, dropped ones included (DroppedAt set), by
// name, without their discovered schemas or credentials: one read of the
// table, cheap enough for a worker to repeat every few seconds. A catalog
// no worker has migrated yet has none.
func (s *Store) List(ctx context.Context) ([]Connector, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+connectorColumns+` FROM ardent.connectors ORDER BY name`)
	if notMigrated(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list connectors: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Connector, error) { return scanConnector(row) })
	if notMigrated(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list connectors: %w", err)
	}
	return out, nil
}
