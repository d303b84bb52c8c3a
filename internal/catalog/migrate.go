package catalog

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// migrateLockID is the advisory lock taken while migrating ("ardentca" in
// ASCII), so two workers starting together apply each migration once.
const migrateLockID int64 = 0x617264656e746361

type migration struct {
	version int
	name    string
	sql     string
}

// migrations are applied in order. Never edit a released one.
var migrations = []migration{
	{1, "connectors", `
CREATE TABLE ardent.connectors (
    name              text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_-]{0,39}$'),
    source_display    text NOT NULL,
    system_identifier numeric(20,0) NOT NULL,
    database          text NOT NULL,
    source_key_id     text NOT NULL,
    source_sealed     bytea NOT NULL,
    dest_key_id       text,
    dest_sealed       bytea,
    selection         jsonb NOT NULL DEFAULT '{}',
    discovered_schema jsonb,
    slot_name         text NOT NULL,
    stage             text NOT NULL,
    status_message    text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    dropped_at        timestamptz,
    CHECK ((dest_key_id IS NULL) = (dest_sealed IS NULL))
);
CREATE UNIQUE INDEX connectors_live_source
    ON ardent.connectors (system_identifier, database) WHERE dropped_at IS NULL;
`},
	// The workflow is where a connector's stage lives (status, list, the
	// Web UI); the copy here was written and never read.
	{2, "drop stage", `
ALTER TABLE ardent.connectors DROP COLUMN IF EXISTS stage, DROP COLUMN IF EXISTS status_message;
`},
	// A running stream polls credentials_version to take new credentials
	// (SetCredentials) without waiting for its next attempt.
	{3, "credentials version", `
ALTER TABLE ardent.connectors
    ADD COLUMN credentials_version bigint NOT NULL DEFAULT 1,
    ADD COLUMN credentials_changed_at timestamptz;
`},
}

// Migrate creates schema ardent and applies the migrations not yet applied.
// It is idempotent and safe to run concurrently.
func (s *Store) Migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockID); err != nil {
			return fmt.Errorf("migrate catalog: advisory lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `
CREATE SCHEMA IF NOT EXISTS ardent;
CREATE TABLE IF NOT EXISTS ardent.schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)`); err != nil {
			return fmt.Errorf("migrate catalog: create schema ardent: %w", err)
		}
		applied := map[int]bool{}
		rows, err := tx.Query(ctx, `SELECT version FROM ardent.schema_migrations`)
		if err != nil {
			return fmt.Errorf("migrate catalog: read applied migrations: %w", err)
		}
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return fmt.Errorf("migrate catalog: read applied migrations: %w", err)
		}
		for _, v := range versions {
			applied[int(v)] = true
		}
		for _, m := range migrations {
			if applied[m.version] {
				continue
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migrate catalog: apply %d_%s: %w", m.version, m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO ardent.schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return fmt.Errorf("migrate catalog: record %d_%s: %w", m.version, m.name, err)
			}
			s.log.Info("catalog migration applied", "version", m.version, "name", m.name)
		}
		return nil
	})
}
