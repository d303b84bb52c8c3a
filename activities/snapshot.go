package activities

import "context"

// Snapshotter takes the initial snapshot.
type Snapshotter struct{}

// Snapshot creates the slot with an exported snapshot and copies every table.
func (s *Snapshotter) Snapshot(ctx context.Context, in SnapshotInput) (*SnapshotResult, error) {
	panic("wired in the next commit")
}
