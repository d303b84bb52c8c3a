package activities

import (
	"context"
	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"log/slog"
	"time"
)

// Snapshotter takes the initial snapshot.
type Snapshotter struct {
	Catalog           *catalog.Store
	Keyring           *secrets.Keyring
	Sinks             map[string]SinkFactory
	Parallelism       int
	HeartbeatInterval time.Duration
	Metrics           *Metrics
	Log               *slog.Logger
}

// Snapshot creates the slot with an exported snapshot and copies every table.
func (s *Snapshotter) Snapshot(ctx context.Context, in SnapshotInput) (*SnapshotResult, error) {
	panic("wired in the next commit")
}
