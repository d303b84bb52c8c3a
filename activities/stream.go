package activities

import "context"

// Streamer runs continuous replication.
type Streamer struct{}

// Replicate streams changes from the slot into the destination.
func (s *Streamer) Replicate(ctx context.Context, in ReplicateInput) (*ReplicateResult, error) {
	panic("wired in the next commit")
}
