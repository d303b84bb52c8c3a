package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ardent-cdc/ardent/internal/naming"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var (
	// ErrNotFound means no connector has that name.
	ErrNotFound = errors.New("connector not found")
	// ErrNameTaken means a live connector of that name exists for another
	// source database.
	ErrNameTaken = errors.New("connector name already used for another source")
	// ErrDuplicateSource means another live connector replicates the same
	// source database (same system identifier and database name).
	ErrDuplicateSource = errors.New("source database already has a connector")
)

// Selection is what the operator chose to replicate.
type Selection struct {
	Schemas             []string `json:"schemas,omitempty"`
	Tables              []string `json:"tables,omitempty"`         // schema.table
	ExcludeTables       []string `json:"exclude_tables,omitempty"` // schema.table
	ReplicaIdentityFull []string `json:"replica_identity_full,omitempty"`
	// TargetSchema maps the source's schemas to the destination's
	// (schema.Target); the snapshot limits cap the initial copy's load on
	// the source (0: the worker's default, no byte cap).
	TargetSchema              string `json:"target_schema,omitempty"`
	SnapshotParallelism       int    `json:"snapshot_parallelism,omitempty"`
	SnapshotMaxBytesPerSecond int64  `json:"snapshot_max_bytes_per_second,omitempty"`
	// PartitionSchemas are schemas outside the selection that hold leaf
	// partitions of selected partitioned tables (a table of another schema
	// attached as a partition): table discovery records them, and the
	// stream receives their changes too.
	PartitionSchemas []string `json:"partition_schemas,omitempty"`
	// DropColumns ("keep" or "drop", "" keep) and its per-table
	// ("schema.table") overrides: what the destination does with a column
	// dropped on the source.
	DropColumns       string            `json:"drop_columns,omitempty"`
	DropColumnsTables map[string]string `json:"drop_columns_tables,omitempty"`
}

// Connector is one row of ardent.connectors.
type Connector struct {
	Name string `json:"name"`
	// SourceDisplay is host:port/db, computed by CreateConnector from
	// SourceURL; never credentials.
	SourceDisplay    string `json:"source_display"`
	SystemIdentifier uint64 `json:"system_identifier"`
	Database         string `json:"database"`
	// SourceURL and DestinationURL are inputs to CreateConnector only: they
	// are stored sealed, Get and List leave them empty, and SourceURL and
	// DestinationURL (the methods) open them.
	SourceURL      secrets.Secret `json:"-"`
	DestinationURL secrets.Secret `json:"-"`
	Selection      Selection      `json:"selection"`
	// Schema is the discovered schema.
	Schema   []schema.Table `json:"-"`
	SlotName string         `json:"slot_name"`
	// KeyID is the id of the key the source credentials are sealed under.
	KeyID     string     `json:"key_id"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	DroppedAt *time.Time `json:"dropped_at,omitempty"`
}

// aad binds a sealed column to its row, so a ciphertext copied to another
// connector or column fails to open.
func aad(name, column string) []byte { return []byte("ardent.connectors/" + name + "/" + column) }

const (
	colSource = "source_url"
	colDest   = "destination_url"
)

// CreateConnector stores c with its URLs sealed by kr. It is idempotent on
// retry: when a live connector of that name already exists for the same
// source database (system identifier and database) it returns nil and
// changes nothing, so the first write wins. A live connector of that name for
// another source is ErrNameTaken; another live connector for this source is
// ErrDuplicateSource. A dropped connector of that name is replaced.
//
// SlotName defaults to naming.SlotName(Name), Stage to StageCreating,
// Database to the URL's database.
func (s *Store) CreateConnector(ctx context.Context, c Connector, kr *secrets.Keyring) error {
	if err := naming.ValidateName(c.Name); err != nil {
		return fmt.Errorf("create connector: %w", err)
	}
	if c.SourceURL == "" {
		return fmt.Errorf("create connector %q: no source URL", c.Name)
	}
	if c.SystemIdentifier == 0 {
		return fmt.Errorf("create connector %q: no system identifier", c.Name)
	}
	cfg, err := pgconn.ParseConfig(c.SourceURL.Reveal())
	if err != nil {
		return fmt.Errorf("create connector %q: source URL is not a valid connection string", c.Name)
	}
	c.SourceDisplay = pgurl.Display(cfg)
	if c.Database == "" {
		c.Database = cfg.Database
	}
	if c.SlotName == "" {
		c.SlotName = naming.SlotName(c.Name)
	}
	src, err := kr.Seal([]byte(c.SourceURL.Reveal()), aad(c.Name, colSource))
	if err != nil {
		return fmt.Errorf("create connector %q: seal source URL: %w", c.Name, err)
	}
	var destKeyID *string
	var destSealed []byte
	if c.DestinationURL != "" {
		d, err := kr.Seal([]byte(c.DestinationURL.Reveal()), aad(c.Name, colDest))
		if err != nil {
			return fmt.Errorf("create connector %q: seal destination URL: %w", c.Name, err)
		}
		destKeyID, destSealed = &d.KeyID, d.Ciphertext
	}
	sel, err := json.Marshal(c.Selection)
	if err != nil {
		return fmt.Errorf("create connector %q: encode selection: %w", c.Name, err)
	}
	var sch any // NULL until discovered
	if c.Schema != nil {
		if sch, err = json.Marshal(c.Schema); err != nil {
			return fmt.Errorf("create connector %q: encode schema: %w", c.Name, err)
		}
	}
	args := pgx.NamedArgs{
		"name": c.Name, "display": c.SourceDisplay, "sysid": strconv.FormatUint(c.SystemIdentifier, 10),
		"db": c.Database, "skey": src.KeyID, "ssealed": src.Ciphertext, "dkey": destKeyID, "dsealed": destSealed,
		"sel": sel, "schema": sch, "slot": c.SlotName,
	}

	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
INSERT INTO ardent.connectors (name, source_display, system_identifier, database,
    source_key_id, source_sealed, dest_key_id, dest_sealed, selection, discovered_schema,
    slot_name)
VALUES (@name, @display, @sysid::numeric, @db, @skey, @ssealed, @dkey, @dsealed, @sel, @schema,
    @slot)
ON CONFLICT (name) DO NOTHING`, args)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		var sysid, db, display string
		var dropped bool
		if err := tx.QueryRow(ctx, `
SELECT system_identifier::text, database, source_display, dropped_at IS NOT NULL
FROM ardent.connectors WHERE name = $1 FOR UPDATE`, c.Name).Scan(&sysid, &db, &display, &dropped); err != nil {
			return err
		}
		if !dropped {
			if sysid == args["sysid"] && db == c.Database {
				return nil
			}
			return fmt.Errorf("%w: %q replicates %s (system identifier %s, database %q), not system identifier %d database %q",
				ErrNameTaken, c.Name, display, sysid, db, c.SystemIdentifier, c.Database)
		}
		_, err = tx.Exec(ctx, `
UPDATE ardent.connectors SET source_display = @display, system_identifier = @sysid::numeric,
    database = @db, source_key_id = @skey, source_sealed = @ssealed, dest_key_id = @dkey,
    dest_sealed = @dsealed, selection = @sel, discovered_schema = @schema, slot_name = @slot,
    created_at = now(), updated_at = now(), dropped_at = NULL
WHERE name = @name`, args)
		return err
	})
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNameTaken) {
		return fmt.Errorf("create connector: %w", err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "connectors_live_source" {
		other, found, lerr := s.LookupSource(ctx, c.SystemIdentifier, c.Database)
		if lerr == nil && found {
			return fmt.Errorf("create connector %q: %w: connector %q already replicates %s", c.Name, ErrDuplicateSource, other, c.SourceDisplay)
		}
		return fmt.Errorf("create connector %q: %w: %s", c.Name, ErrDuplicateSource, c.SourceDisplay)
	}
	return fmt.Errorf("create connector %q: %w", c.Name, err)
}

const connectorColumns = `name, source_display, system_identifier::text, database, selection,
    slot_name, source_key_id, created_at, updated_at, dropped_at`

func scanConnector(row pgx.Row, extra ...any) (Connector, error) {
	var c Connector
	var sysid string
	var sel []byte
	dest := append([]any{&c.Name, &c.SourceDisplay, &sysid, &c.Database, &sel, &c.SlotName,
		&c.KeyID, &c.CreatedAt, &c.UpdatedAt, &c.DroppedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return Connector{}, err
	}
	var err error
	if c.SystemIdentifier, err = strconv.ParseUint(sysid, 10, 64); err != nil {
		return Connector{}, fmt.Errorf("system identifier %q: %w", sysid, err)
	}
	if err := json.Unmarshal(sel, &c.Selection); err != nil {
		return Connector{}, fmt.Errorf("decode selection: %w", err)
	}
	return c, nil
}

// Get returns the connector named name, dropped or not, with its discovered
// schema and without its credentials.
func (s *Store) Get(ctx context.Context, name string) (Connector, error) {
	var sch []byte
	c, err := scanConnector(s.pool.QueryRow(ctx, `SELECT `+connectorColumns+`, discovered_schema
FROM ardent.connectors WHERE name = $1`, name), &sch)
	if errors.Is(err, pgx.ErrNoRows) || notMigrated(err) {
		return Connector{}, fmt.Errorf("get connector %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Connector{}, fmt.Errorf("get connector %q: %w", name, err)
	}
	if sch != nil {
		if err := json.Unmarshal(sch, &c.Schema); err != nil {
			return Connector{}, fmt.Errorf("get connector %q: decode schema: %w", name, err)
		}
	}
	return c, nil
}

// LookupSource returns the live connector replicating the source database
// identified by sysid (pg_control_system().system_identifier) and db. A
// catalog no worker has migrated yet has no connectors: not found.
func (s *Store) LookupSource(ctx context.Context, sysid uint64, db string) (name string, found bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT name FROM ardent.connectors
WHERE system_identifier = $1::numeric AND database = $2 AND dropped_at IS NULL`,
		strconv.FormatUint(sysid, 10), db).Scan(&name)
	if errors.Is(err, pgx.ErrNoRows) || notMigrated(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("look up connector for source %d/%q: %w", sysid, db, err)
	}
	return name, true, nil
}

// notMigrated: the catalog database exists but no worker has created
// schema ardent or its connectors table yet (workers migrate, the CLI
// does not). Such a catalog has no connectors, which is what a read that
// only looks connectors up must say.
func notMigrated(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000") // undefined_table, invalid_schema_name
}
