package sink

import (
	"context"
	"io"

	"github.com/jackc/pglogrepl"

	"github.com/ardent-cdc/ardent/internal/schema"
)

// Op is the kind of a row change.
type Op byte

// Row change kinds, as wal2json format-version 2 names them.
const (
	OpInsert   Op = 'I'
	OpUpdate   Op = 'U'
	OpDelete   Op = 'D'
	OpTruncate Op = 'T'
	// OpShape carries no row: Columns is the table's complete shape as the
	// source's catalog had it at this LSN (Ardent's own logical message,
	// emitted by the catalog poll), so DDL that no data change follows
	// (a quiet DROP COLUMN, a type change before the first write) reaches
	// the destination in stream order.
	OpShape Op = 'S'
)

// Value is one column value in PostgreSQL text form.
type Value struct {
	Name string
	Type string // as wal2json reports it (format_type), e.g. "integer", "text[]"
	Text string // text representation; meaningless when Null
	Null bool
	// The column's place in the table's shape as of this change (wal2json's
	// include-column-positions, include-type-oids, include-not-null): Pos
	// is its attnum, 0 when unknown (identity columns carry none).
	Pos     int
	TypeOID uint32
	NotNull bool
}

// Change is one row change of a source transaction.
type Change struct {
	Op     Op
	Schema string
	Table  string
	// Columns carries the new row for inserts and updates. For an update,
	// an unchanged TOASTed column is absent: absent means "keep", never NULL.
	Columns []Value
	// Identity carries the old key (or the whole old row under REPLICA
	// IDENTITY FULL) for updates and deletes.
	Identity []Value
	// PK names the table's primary key columns as of this change (wal2json's
	// include-pk); nil when not reported, empty when the table has none.
	PK []string
}

// Tx is one committed source transaction.
type Tx struct {
	XID       uint32
	CommitLSN pglogrepl.LSN // end LSN of the commit record; what is checkpointed
	// Part numbers the pieces of a source transaction split over several
	// Writes (see Batch.Continued): 0 for a whole transaction or its first
	// piece, 1, 2, ... for the continuations. A Part 0 arriving while a
	// previous transaction is still open means the stream restarted and
	// replays it from the start, so the sink rolls the open one back.
	Part    int
	Changes []Change
}

// Batch is several source transactions applied in one destination transaction.
type Batch struct {
	Txs []Tx
	// Continued means the last Tx is incomplete: more of its changes follow
	// in the next Write, and its CommitLSN is already known (wal2json
	// reports it at BEGIN) but not yet durable. The sink keeps its
	// destination transaction open across such Writes and commits, with the
	// applied LSN, only on the Write that completes the source transaction.
	// This keeps memory bounded for source transactions of any size.
	Continued bool
}

// Sink is a destination.
type Sink interface {
	// Prepare creates (idempotently) the destination tables for the
	// discovered source tables, and the sink's own bookkeeping.
	Prepare(ctx context.Context, connector string, tables []schema.Table) error
	// DurableLSN is the last LSN committed for the connector (0 if none).
	DurableLSN(ctx context.Context, connector string) (pglogrepl.LSN, error)
	// Write applies the batch atomically together with its last commit LSN
	// and returns that LSN once durable. Transactions at or below the
	// durable LSN must be skipped by the caller or the sink.
	Write(ctx context.Context, connector string, b Batch) (pglogrepl.LSN, error)
	Close(ctx context.Context) error
}

// Copier is implemented by sinks that accept a bulk initial copy.
type Copier interface {
	// Truncate empties the destination tables before a (re)started snapshot.
	Truncate(ctx context.Context, connector string, tables []schema.Table) error
	// CopyFrom streams rows in PostgreSQL COPY format (binary when binary
	// is true, else text) into the table and returns the rows written.
	CopyFrom(ctx context.Context, table schema.Table, r io.Reader, binary bool) (int64, error)
}
