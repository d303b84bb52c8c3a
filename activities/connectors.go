package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/activity"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/naming"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/internal/sink"
	"github.com/ardent-cdc/ardent/internal/source"
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
	at := site{activity: CreateConnectorName, connector: in.Name, metrics: c.Metrics}
	src, dst, err := parseConns(in.SourceURL, in.DestinationURL, &at.passwords)
	if err == nil {
		var res *CreateConnectorResult
		res, err = c.create(ctx, in, src, dst)
		if err == nil {
			return res, nil
		}
	}
	return nil, boundary(err, at)
}

func (c *Connectors) create(ctx context.Context, in CreateConnectorInput, src, dstConn *pgurl.Conn) (*CreateConnectorResult, error) {
	if err := naming.ValidateName(in.Name); err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidInput, err)
	}
	if src == nil || dstConn == nil {
		return nil, fmt.Errorf("%w: a source and a destination URL are required", errInvalidInput)
	}
	log := activityLog(ctx, c.log())
	conn, err := connectSource(ctx, src)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	sysid, err := source.SystemIdentifier(ctx, &src.Config.Config)
	if err != nil {
		return nil, fmt.Errorf("identify source %s: %w", src.Display(), err)
	}
	tables, err := schema.Discover(ctx, conn, schemaSelection(in.Selection))
	if err != nil {
		return nil, fmt.Errorf("discover schema of %s: %w", src.Display(), err)
	}
	dropDefault, dropTables, err := in.Options.DropColumnsPolicies()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidInput, err)
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
	// The destination is judged before anything is created anywhere: a
	// refused onboarding leaves nothing behind.
	dst, err := openTargetSink(ctx, c.Sinks, dstConn, in.Options.TargetSchema, log)
	if err != nil {
		return nil, err
	}
	defer dst.Close(context.WithoutCancel(ctx))
	owner := sink.Owner{Connector: in.Name, Source: sink.SourceIdentity(sysid, src.Config.Database)}
	takeover, err := destinationGuard{cat: c.Catalog, me: owner, target: in.Options.TargetSchema,
		replace: in.Options.ReplaceExisting}.check(ctx, conn, dst, usable)
	if err != nil {
		return nil, err
	}
	if err := source.CreateBookkeeping(ctx, conn); err != nil {
		return nil, fmt.Errorf("on %s: %w", src.Display(), err)
	}
	activity.RecordHeartbeat(ctx)

	err = c.Catalog.CreateConnector(ctx, catalog.Connector{
		Name: in.Name, SystemIdentifier: sysid, Database: src.Config.Database,
		SourceURL: secrets.Secret(in.SourceURL), DestinationURL: secrets.Secret(in.DestinationURL),
		Selection: catalog.Selection{Schemas: in.Selection.Schemas, Tables: in.Selection.Tables,
			ExcludeTables: in.Selection.ExcludeTables, ReplicaIdentityFull: in.Selection.ReplicaIdentityFull,
			TargetSchema: in.Options.TargetSchema, SnapshotParallelism: in.Options.SnapshotParallelism,
			SnapshotMaxBytesPerSecond: in.Options.SnapshotMaxBytesPerSecond,
			DropColumns:               dropDefault, DropColumnsTables: dropTables},
		Schema: usable, SlotName: naming.SlotName(in.Name),
	}, c.Keyring)
	if err != nil {
		return nil, fmt.Errorf("store connector %s: %w", in.Name, err)
	}
	// A retry after a schema change picks up the current schema.
	if err := c.Catalog.SetSchema(ctx, in.Name, usable); err != nil {
		return nil, err
	}

	if owners, ok := dst.(sink.Owners); ok {
		if err := owners.Claim(ctx, owner, usable, takeover); err != nil {
			return nil, fmt.Errorf("claim destination tables: %w", err)
		}
	}
	if err := dst.Prepare(ctx, in.Name, usable); err != nil {
		return nil, fmt.Errorf("prepare destination tables: %w", err)
	}
	log.Info("connector created", "connector", in.Name, "source", src.Display(), "tables", len(usable))
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
		return nil, boundary(err, site{activity: DropConnectorName, connector: in.Name, metrics: c.Metrics})
	}
	if raw == "" {
		return &DropConnectorResult{Verified: true}, nil // nothing was ever created
	}
	at := site{activity: DropConnectorName, connector: in.Name, metrics: c.Metrics}
	src, _, err := parseConns(raw, "", &at.passwords)
	if err != nil {
		return nil, boundary(err, at)
	}
	res, err := c.drop(ctx, in.Name, src)
	if err == nil && found {
		err = c.Catalog.MarkDropped(ctx, in.Name)
		res.CatalogDropped = err == nil
	}
	return res, boundary(err, at)
}

func (c *Connectors) drop(ctx context.Context, name string, src *pgurl.Conn) (*DropConnectorResult, error) {
	conn, err := connectSource(ctx, src)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	// The operator drops the connector: whoever holds its slot (a worker's
	// walsender that has not noticed yet) is terminated.
	removed, err := source.RemoveConnector(ctx, conn, naming.SlotName(name))
	if err != nil {
		return nil, fmt.Errorf("on %s: %w", src.Display(), err)
	}
	activityLog(ctx, c.log()).Info("connector dropped", "connector", name, "source", src.Display(),
		"slot_dropped", removed.Slot, "bookkeeping_dropped", removed.Bookkeeping)
	return &DropConnectorResult{SlotDropped: removed.Slot, BookkeepingDropped: removed.Bookkeeping, Verified: true}, nil
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
