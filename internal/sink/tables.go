package sink

import (
	"context"
	"time"

	"github.com/jackc/pglogrepl"
)

// Per-table states: a connector's tables do not all stream at once. A table
// found after onboarding is backfilled while the others stream; a table
// whose changes cannot be applied is quarantined while the others stream;
// a resync backfills one table again. The destination keeps each table's
// state beside the checkpoint, so which changes apply to it is decided in
// the same transaction as the changes themselves.
const (
	// TableStreaming: its changes committing after ApplyAfter are applied.
	TableStreaming = "streaming"
	// TableBackfilling: its rows are being copied; the stream leaves its
	// changes to the backfill until the handover.
	TableBackfilling = "backfilling"
	// TableQuarantined: its changes from Since on could not be applied and
	// are left out until a resync (Cause and Remedy say why and how).
	TableQuarantined = "quarantined"
	// TableRemoved: the operator removed it from the connector; its
	// destination table keeps the rows it had.
	TableRemoved = "removed"
	// TableDropped: dropped (or renamed away) on the source; its
	// destination table keeps the rows it had.
	TableDropped = "dropped"
)

// TableState is one source table's state in a connector.
type TableState struct {
	Schema, Name string // the source's names
	State        string
	// ApplyAfter: a streaming table's changes committing at or before it
	// are not applied (a backfill's handover point).
	ApplyAfter pglogrepl.LSN
	// Since is when the state began, as a source LSN (quarantined,
	// dropped) when known.
	Since         pglogrepl.LSN
	Cause, Remedy string
	UpdatedAt     time.Time
}

// FullName is "schema.table".
func (t TableState) FullName() string { return t.Schema + "." + t.Name }

// Registry is implemented by destinations that keep per-table states. A
// connector with no states recorded applies every change it receives (as
// before per-table states existed); once it has any, it applies only the
// changes of its streaming tables, after each one's ApplyAfter.
type Registry interface {
	// TableStates lists the connector's tables.
	TableStates(ctx context.Context, connector string) ([]TableState, error)
	// SetTableStates records the states, in one transaction ordered with
	// the connector's apply (no destination transaction of the stream is
	// open across it). With onlyNew, a table that has a state keeps it.
	SetTableStates(ctx context.Context, connector string, states []TableState, onlyNew bool) error
	// ReplaceTableStates makes states the connector's only ones (a new
	// initial snapshot starts its history again).
	ReplaceTableStates(ctx context.Context, connector string, states []TableState) error
	// Handover makes a backfilled table stream: if the connector's
	// checkpoint is at or before upTo (everything the backfill applied),
	// the table streams with ApplyAfter upTo, atomically with respect to
	// the stream, and ok is true; otherwise nothing changes and at is the
	// checkpoint to catch up with.
	Handover(ctx context.Context, connector, schema, name string, upTo pglogrepl.LSN) (ok bool, at pglogrepl.LSN, err error)
	// SetStreamSchemas records the schemas the connector's stream session
	// receives changes of (its wal2json filter), before it starts: a
	// handover waits until the table's schema is among them, so the stream
	// that takes the table over does receive its changes.
	SetStreamSchemas(ctx context.Context, connector string, schemas []string) error
	// SkippedTables returns (and forgets) the tables the connector's stream
	// received changes of and did not apply because they have no state:
	// tables that appeared on the source since the last discovery.
	SkippedTables(connector string) []string
}
