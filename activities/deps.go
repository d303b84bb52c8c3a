package activities

import (
	"context"
	"log/slog"

	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/sink"
)

// SinkFactory opens a destination from its parsed connection. The worker
// wires one per destination kind in an explicit map.
type SinkFactory func(ctx context.Context, dst *pgurl.Conn, log *slog.Logger) (sink.Sink, error)

// SinkPostgres is the key of the PostgreSQL destination's factory.
const SinkPostgres = "postgres"
