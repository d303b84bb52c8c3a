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

// PutSchemaTable adds t to the connector's discovered schema, replacing a
// table of the same name, in one statement (a backfill finishing while
// discovery removes another table loses neither change).
func (s *Store) PutSchemaTable(ctx context.Context, name string, t schema.Table) error {
	b, err := json.Marshal([]schema.Table{t})
	if err != nil {
		return fmt.Errorf("add table to the schema of connector %q: encode: %w", name, err)
	}
	return s.update(ctx, "add "+t.FullName()+" to the schema of", name, `UPDATE ardent.connectors SET discovered_schema =
	COALESCE((SELECT jsonb_agg(e) FROM jsonb_array_elements(COALESCE(discovered_schema, '[]')) e
	          WHERE NOT (e->>'schema' = $3 AND e->>'name' = $4)), '[]'::jsonb) || $2::jsonb, updated_at = now()
	WHERE name = $1`, b, t.Schema, t.Name)
}

// RemoveSchemaTables removes the tables ("schema.table") from the
// connector's discovered schema, in one statement.
func (s *Store) RemoveSchemaTables(ctx context.Context, name string, tables []string) error {
	if len(tables) == 0 {
		return nil
	}
	return s.update(ctx, "remove tables from the schema of", name, `UPDATE ardent.connectors SET discovered_schema =
	COALESCE((SELECT jsonb_agg(e) FROM jsonb_array_elements(COALESCE(discovered_schema, '[]')) e
	          WHERE NOT ((e->>'schema') || '.' || (e->>'name') = ANY($2))), '[]'::jsonb), updated_at = now()
	WHERE name = $1`, tables)
}

// SetSelection stores the connector's selection (tables added or removed
// after onboarding). It bumps the credentials version too: a running
// stream then starts a new session, whose wal2json filter covers the new
// selection (see activities' watchCredentials).
func (s *Store) SetSelection(ctx context.Context, name string, sel Selection) error {
	b, err := json.Marshal(sel)
	if err != nil {
		return fmt.Errorf("set selection of connector %q: encode: %w", name, err)
	}
	return s.update(ctx, "set selection of", name, `UPDATE ardent.connectors SET selection = $2, credentials_version = credentials_version + 1, updated_at = now() WHERE name = $1`, b)
}
