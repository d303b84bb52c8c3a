package activities

import (
	"context"
	"log/slog"

	"github.com/ardent-cdc/ardent/internal/sink"
)

// SinkFactory opens a destination from its URL. The worker wires one per URL
// scheme in an explicit map.
type SinkFactory func(ctx context.Context, url string, log *slog.Logger) (sink.Sink, error)
