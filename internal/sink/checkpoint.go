package sink

import (
	"context"

	"github.com/jackc/pglogrepl"
)

// Checkpointer is implemented by sinks whose checkpoint can be set outright.
// A completed snapshot sets it to the slot's consistent point, so a
// connector re-created under the same name never skips changes because of
// an older checkpoint left in the destination.
type Checkpointer interface {
	ResetCheckpoint(ctx context.Context, connector string, lsn pglogrepl.LSN) error
}
