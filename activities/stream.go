package activities

import (
	"context"
	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"log/slog"
	"time"
)

// Streamer runs continuous replication.
type Streamer struct {
	Catalog           *catalog.Store
	Keyring           *secrets.Keyring
	Sinks             map[string]SinkFactory
	HeartbeatInterval time.Duration
	IdleEmitInterval  time.Duration
	Metrics           *Metrics
	Log               *slog.Logger
}

// Replicate streams changes from the slot into the destination.
func (s *Streamer) Replicate(ctx context.Context, in ReplicateInput) (*ReplicateResult, error) {
	panic("wired in the next commit")
}
