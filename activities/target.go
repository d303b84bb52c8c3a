package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
)

// openTargetSink opens the destination writing into the schemas target
// maps the source's to. A destination that cannot map schemas is refused
// when a mapping is asked for, rather than writing to the source's names.
func openTargetSink(ctx context.Context, sinks map[string]SinkFactory, dst *pgurl.Conn, target string, log *slog.Logger) (sink.Sink, error) {
	t, err := schema.ParseTarget(target)
	if err != nil {
		return nil, fmt.Errorf("%w: --target-schema: %w", errInvalidInput, err)
	}
	s, err := openSink(ctx, sinks, dst, log)
	if err != nil {
		return nil, err
	}
	if t == "" {
		return s, nil
	}
	ts, ok := s.(sink.Targeted)
	if !ok {
		_ = s.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("%w: this destination cannot map schemas (--target-schema)", errInvalidInput)
	}
	ts.SetTarget(t)
	return s, nil
}

// destinationGuard is sink.Guard with the catalog's knowledge of which
// connectors are live.
type destinationGuard struct {
	cat     *catalog.Store
	me      sink.Owner
	target  string
	replace bool
}

func (g destinationGuard) check(ctx context.Context, src *pgx.Conn, dst sink.Sink, tables []schema.Table) (takeover []string, err error) {
	t, err := schema.ParseTarget(g.target)
	if err != nil {
		return nil, fmt.Errorf("%w: --target-schema: %w", errInvalidInput, err)
	}
	var srcID string
	if err := src.QueryRow(ctx, sink.ServerIdentitySQL).Scan(&srcID); err != nil {
		return nil, fmt.Errorf("identify source database: %w", err)
	}
	takeover, err = sink.Guard(ctx, dst, sink.GuardOptions{SourceIdentity: srcID, Me: g.me, Tables: tables,
		Target: t, Replace: g.replace, Live: liveConnector(g.cat)})
	if errors.Is(err, sink.ErrSameDatabase) {
		return nil, fmt.Errorf("%w: %w: give another database as --destination", errInvalidInput, err)
	}
	return takeover, err
}

// liveConnector asks the catalog whether a connector is live (nil catalog:
// every owner is).
func liveConnector(cat *catalog.Store) func(context.Context, string) (bool, error) {
	if cat == nil {
		return nil
	}
	return func(ctx context.Context, name string) (bool, error) {
		c, err := cat.Get(ctx, name)
		if errors.Is(err, catalog.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return c.DroppedAt == nil, nil
	}
}
