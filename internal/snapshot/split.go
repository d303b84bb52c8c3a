package snapshot

import (
	"context"
	"fmt"

	"github.com/ardent-cdc/ardent/internal/sink"
)

// SharedLoader is a Copier that knows whether several sessions loading
// one of its tables at once go faster than one.
type SharedLoader interface {
	// SharedTableLoads reports whether concurrent COPYs into one
	// destination table scale. PostgreSQL before 16 extends a table one
	// page at a time under its relation extension lock, so a second
	// session loading the same table mostly queues on that lock (wait
	// event Lock:extend), interleaves its pages with the first's, and
	// leaves the key build an unordered heap to sort. Measured on
	// PostgreSQL 15, 2 cores, a 10M-row table copied and keyed by
	// snapshot.Run in process, 6 rounds alternating: 9.8 s median as one
	// COPY on one session against 11.1 s as 13 chunks on two sessions
	// (faster in 5 of 6 rounds), with a core-second less on each of the
	// source and the destination.
	SharedTableLoads(ctx context.Context) (bool, error)
}

// splitTables decides whether a table larger than one chunk is split into
// CTID ranges that several workers copy at once. Splitting needs TID range
// scans on the source (PostgreSQL 14); a fixed chunk size (Options.ChunkPages)
// always splits; otherwise a Copier that is a SharedLoader decides, and
// one that is not gets split tables. Unsplit, every table is one COPY and
// workers share out whole tables, largest first.
func splitTables(ctx context.Context, c sink.Copier, fixedChunk bool, sourceMajor int) (bool, error) {
	if sourceMajor < tidRangeMajor {
		return false, nil
	}
	if fixedChunk {
		return true, nil
	}
	l, ok := c.(SharedLoader)
	if !ok {
		return true, nil
	}
	split, err := l.SharedTableLoads(ctx)
	if err != nil {
		return false, fmt.Errorf("ask the destination whether tables load on several sessions: %w", err)
	}
	return split, nil
}
