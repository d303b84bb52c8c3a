package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/naming"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/internal/sink"
	"github.com/ardent-cdc/ardent/internal/snapshot"
)

// Connectors creates and drops connectors.
type Connectors struct {
	Catalog *catalog.Store
	Keyring *secrets.Keyring
	Sinks   map[string]SinkFactory
	Metrics *Metrics
	Log     *slog.Logger
}

// CreateConnector stores the connector (credentials sealed), discovers the
// schema, creates Ardent's bookkeeping schema in the source and the tables
// in the destination. Idempotent: every step is "create if missing", and
// the catalog accepts the same name for the same source again.
func (c *Connectors) CreateConnector(ctx context.Context, in CreateConnectorInput) (*CreateConnectorResult, error) {
	var err error
	if in.SourceURL, err = revealURL(c.Keyring, in.SourceURL); err != nil {
		return nil, boundary(err, site{activity: CreateConnectorName, connector: in.Name, metrics: c.Metrics})
	}
	if in.DestinationURL, err = revealURL(c.Keyring, in.DestinationURL); err != nil {
		return nil, boundary(err, site{activity: CreateConnectorName, connector: in.Name, metrics: c.Metrics})
	}
	res, err := c.create(ctx, in)
	return res, boundary(err, site{activity: CreateConnectorName, connector: in.Name, metrics: c.Metrics,
		passwords: []string{passwordOf(in.SourceURL), passwordOf(in.DestinationURL)}})
}

func (c *Connectors) create(ctx context.Context, in CreateConnectorInput) (*CreateConnectorResult, error) {
	if err := naming.ValidateName(in.Name); err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidInput, err)
	}
	src, conn, err := openSource(ctx, in.SourceURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	sysid, err := systemIdentity(ctx, src)
	if err != nil {
		return nil, err
	}
	tables, err := schema.Discover(ctx, conn, schemaSelection(in.Selection))
	if err != nil {
		return nil, fmt.Errorf("discover schema of %s: %w", src.Display(), err)
	}
	var usable []schema.Table
	for _, t := range tables {
		if t.Identity == schema.IdentityNone {
			// Preflight blocks these; a table that lost its key since is
			// reported rather than replicated with lost updates.
			return nil, fmt.Errorf("%w: table %s has no replica identity: exclude it, add a key or choose REPLICA IDENTITY FULL, then onboard again",
				errInvalidInput, t.FullName())
		}
		usable = append(usable, t)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{naming.BookkeepingSchema}.Sanitize()); err != nil {
		return nil, fmt.Errorf("create bookkeeping schema %s in %s: %w", naming.BookkeepingSchema, src.Display(), err)
	}
	activity.RecordHeartbeat(ctx)

	err = c.Catalog.CreateConnector(ctx, catalog.Connector{
		Name: in.Name, SystemIdentifier: sysid, Database: src.Config.Database,
		SourceURL: secrets.Secret(in.SourceURL), DestinationURL: secrets.Secret(in.DestinationURL),
		Selection: catalog.Selection{Schemas: in.Selection.Schemas, Tables: in.Selection.Tables,
			ExcludeTables: in.Selection.ExcludeTables, ReplicaIdentityFull: in.Selection.ReplicaIdentityFull},
		Schema: usable, SlotName: naming.SlotName(in.Name), Stage: "creating_connector",
	}, c.Keyring)
	if err != nil {
		return nil, fmt.Errorf("store connector %s: %w", in.Name, err)
	}
	// A retry after a schema change picks up the current schema.
	if err := c.Catalog.SetSchema(ctx, in.Name, usable); err != nil {
		return nil, err
	}

	dst, err := openSink(ctx, c.Sinks, in.DestinationURL, c.Log)
	if err != nil {
		return nil, err
	}
	defer dst.Close(context.WithoutCancel(ctx))
	if err := dst.Prepare(ctx, in.Name, usable); err != nil {
		return nil, fmt.Errorf("prepare destination tables: %w", err)
	}
	if err := c.Catalog.SetStage(ctx, in.Name, "created", ""); err != nil {
		return nil, err
	}
	c.log().Info("connector created", "connector", in.Name, "source", src.Display(), "tables", len(usable))
	return &CreateConnectorResult{SourceDisplay: src.Display(), Tables: len(usable), Slot: naming.SlotName(in.Name)}, nil
}

// DropConnector removes the slot and the bookkeeping schema from the
// source, verifies with the cleanup query, and marks the connector dropped.
// The destination's tables and rows are left as they are: they are the
// customer's data now. Idempotent.
func (c *Connectors) DropConnector(ctx context.Context, in DropConnectorInput) (*DropConnectorResult, error) {
	raw, err := revealURL(c.Keyring, in.SourceURL)
	if err != nil {
		return nil, boundary(err, site{activity: DropConnectorName, connector: in.Name, metrics: c.Metrics})
	}
	found := false
	if u, err := c.Catalog.SourceURL(ctx, in.Name, c.Keyring); err == nil {
		raw, found = u, true
	} else if !errors.Is(err, catalog.ErrNotFound) {
		return nil, boundary(err, site{activity: DropConnectorName, connector: in.Name, metrics: c.Metrics, passwords: []string{passwordOf(raw)}})
	}
	if raw == "" {
		return &DropConnectorResult{Verified: true}, nil // nothing was ever created
	}
	res, err := c.drop(ctx, in.Name, raw)
	if err == nil && found {
		err = c.Catalog.MarkDropped(ctx, in.Name)
	}
	return res, boundary(err, site{activity: DropConnectorName, connector: in.Name, metrics: c.Metrics, passwords: []string{passwordOf(raw)}})
}

func (c *Connectors) drop(ctx context.Context, name, raw string) (*DropConnectorResult, error) {
	src, conn, err := openSource(ctx, raw)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	slot := naming.SlotName(name)
	res := &DropConnectorResult{}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)", slot).Scan(&exists); err != nil {
		return nil, fmt.Errorf("look up slot %q on %s: %w", slot, src.Display(), err)
	}
	if exists {
		if err := snapshot.DropSlot(ctx, conn.PgConn(), slot); err != nil {
			return nil, err
		}
		res.SlotDropped = true
	}
	tag, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{naming.BookkeepingSchema}.Sanitize()+" CASCADE")
	if err != nil {
		return nil, fmt.Errorf("drop bookkeeping schema %s on %s: %w", naming.BookkeepingSchema, src.Display(), err)
	}
	res.BookkeepingDropped = tag.String() == "DROP SCHEMA"
	// The cleanup query of the generated SQL: it must return no rows.
	var left int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", slot).Scan(&left); err != nil {
		return nil, fmt.Errorf("verify slot %q is gone: %w", slot, err)
	}
	if left != 0 {
		return nil, fmt.Errorf("slot %q still exists on %s after drop", slot, src.Display())
	}
	res.Verified = true
	c.log().Info("connector dropped", "connector", name, "source", src.Display(), "slot_dropped", res.SlotDropped)
	return res, nil
}

func (c *Connectors) log() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

func schemaSelection(s Selection) schema.Selection {
	return schema.Selection{Schemas: s.Schemas, Tables: s.Tables, Exclude: s.ExcludeTables}
}

// openSink opens the destination with the factory wired for its URL scheme.
func openSink(ctx context.Context, sinks map[string]SinkFactory, raw string, log *slog.Logger) (sink.Sink, error) {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		scheme = "postgres" // key=value connection strings are PostgreSQL's
	}
	f, ok := sinks[strings.ToLower(scheme)]
	if !ok {
		return nil, fmt.Errorf("%w: no destination of kind %q (supported: postgres)", errInvalidInput, scheme)
	}
	// The destination gets the source's transport rule: sslmode defaults to
	// verify-full with a root certificate, require otherwise, unless the URL
	// says. PostgreSQL destinations only: other kinds parse their own URLs.
	if dst, err := pgurl.Parse(raw); err == nil {
		raw = dst.ConnString()
	}
	s, err := f(ctx, raw, log)
	if err != nil {
		return nil, fmt.Errorf("open destination: %w", err)
	}
	return s, nil
}

// passwordOf extracts the password of a URL or DSN, for scrubbing.
func passwordOf(raw string) string {
	if raw == "" {
		return ""
	}
	if src, err := pgurl.Parse(raw); err == nil {
		return src.Password()
	}
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		p, _ := u.User.Password()
		return p
	}
	return ""
}
