package verify

import (
	"log/slog"
	"time"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/jackc/pgx/v5"
)

// Options say what to verify and where.
type Options struct {
	// Source must allow a replication connection (the connector's role);
	// Destination is the connector's PostgreSQL destination. Both parsed
	// once by the caller.
	Source, Destination *pgx.ConnConfig
	// Connector names the connector: its checkpoint row and hold row in the
	// destination's _ardent schema.
	Connector string
	// Tables are the connector's tables; Only, when not empty, narrows them
	// to these "schema.table" names (an unknown one is an
	// *UnknownTableError before anything is created).
	Tables []schema.Table
	Only   []string
	// Target maps the source's schemas to the destination's
	// (--target-schema); the zero value keeps them.
	Target schema.Target
	// HoldTimeout bounds the wait for the apply to reach the verify point.
	HoldTimeout time.Duration
	// Attempts bounds the tries at taking the two snapshots.
	Attempts int
	// ChunkRows is the target number of rows per key range.
	ChunkRows int
	// Progress, when set, is called after each table.
	Progress func(done, total int, table string)
	Log      *slog.Logger
}

// Defaults.
const (
	DefaultHoldTimeout = 2 * time.Minute
	DefaultAttempts    = 5
	DefaultChunkRows   = 10000
	maxChunks          = 1000
	maxRanges          = 10 // ranges drilled into and reported per table
	maxExamples        = 10
)

func (o Options) withDefaults() Options {
	if o.HoldTimeout <= 0 {
		o.HoldTimeout = DefaultHoldTimeout
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.ChunkRows <= 0 {
		o.ChunkRows = DefaultChunkRows
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}
