package contract

import "time"

// The live table set: tables found after onboarding are backfilled while
// the others stream, and the operator adds, removes and resyncs tables one
// at a time. Each table's state lives in the destination beside the
// checkpoint (internal/sink.TableState); the replication workflow discovers
// new and dropped tables every DiscoverInterval and runs one Backfill
// activity at a time beside the Replicate activity.

// Table states, as `ardent tables` shows them.
const (
	TableSnapshot    = "snapshot" // in the initial snapshot
	TableBackfilling = "backfilling"
	TableStreaming   = "streaming"
	TableQuarantined = "quarantined"
	TableRemoved     = "removed"
	TableDropped     = "dropped"
	// TableQueued: waiting for its backfill (the workflow's queue).
	TableQueued = "queued"
)

// DefaultDiscoverInterval is how often the replication workflow looks for
// tables created, dropped or renamed on the source, and for tables that
// lost their identity, whatever else happened: a backstop. The running
// stream reads the source's catalog every CatalogCheckInterval on the
// session it already holds, and asks for a discovery at once when what it
// reads changed (ProgressReport.CatalogChanged). A discovery is a timer,
// an activity, two workflow tasks and two new sessions (source and
// destination): once a minute for every connector, they were a quarter of
// an idle hundred-connector worker's CPU (issue 19).
const DefaultDiscoverInterval = 10 * time.Minute

// CatalogCheckInterval is how often a running stream reads the source's
// catalog for the connector's selection (one query on its own session).
const CatalogCheckInterval = time.Minute

// Activities of the live table set.
const (
	ActivityDiscoverTables = "DiscoverTables"
	ActivityBackfill       = "Backfill"
	ActivityListTables     = "ListTables"
)

// TablesSignal names tables ("schema.table") for the resync, tables-add
// and tables-remove signals; an empty list in resync means every table.
type TablesSignal struct {
	Tables []string `json:"tables,omitempty"`
}

// Signals of the live table set: plain JSON, so `temporal workflow signal`
// works too.
var (
	SignalResync       = Signal[TablesSignal]{Name: "resync"}
	SignalTablesAdd    = Signal[TablesSignal]{Name: "tables-add"}
	SignalTablesRemove = Signal[TablesSignal]{Name: "tables-remove"}
)

// UpdateTables returns every table of the connector with its state.
var UpdateTables = Update[TablesRequest, *TablesReport]{Name: "tables"}

// TablesRequest is the tables update's argument (nothing yet).
type TablesRequest struct{}

// TableInfo is one table of a connector.
type TableInfo struct {
	Table string `json:"table"` // schema.table on the source
	State string `json:"state"`
	// Rows is the destination table's estimated row count (-1 unknown).
	Rows int64 `json:"rows"`
	// AppliedLSN: the connector's checkpoint for a streaming table; where
	// its changes stopped being applied for the others (quarantined,
	// dropped), when known.
	AppliedLSN string    `json:"applied_lsn,omitempty"`
	Cause      string    `json:"cause,omitempty"`
	Remedy     string    `json:"remedy,omitempty"`
	Since      time.Time `json:"since,omitzero"`
	// Progress of a running backfill.
	Backfill *BackfillProgress `json:"backfill,omitempty"`
}

// TablesReport is the tables update's result.
type TablesReport struct {
	Connector string      `json:"connector"`
	Tables    []TableInfo `json:"tables"`
}

// DiscoverTablesInput is ActivityDiscoverTables's input. Add and Remove
// ("schema.table") change the connector's selection first (the tables-add
// and tables-remove signals): an added table is backfilled, a removed one
// stops (state removed, its destination table kept).
type DiscoverTablesInput struct {
	Name   string   `json:"name"`
	Add    []string `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
}

// DiscoverTablesResult is what changed on the source since the last look:
// tables to backfill (new, or whose identity came back), and the tables it
// recorded as dropped or quarantined (no usable replica identity).
type DiscoverTablesResult struct {
	Backfill    []string    `json:"backfill,omitempty"`
	Dropped     []string    `json:"dropped,omitempty"`
	Quarantined []TableInfo `json:"quarantined,omitempty"`
	// Attention lists the tables the operator must act on (quarantined,
	// with cause and remedy): the connector shows stage attention while
	// any is, and keeps streaming the others.
	Attention []TableInfo `json:"attention,omitempty"`
	// SchemaChanges are the latest entries of the connector's schema
	// history (newest first), shown in the Web UI's workflow details.
	SchemaChanges []SchemaChangeInfo `json:"schema_changes,omitempty"`
}

// BackfillInput is ActivityBackfill's input: one table of the connector.
type BackfillInput struct {
	Name  string `json:"name"`
	Table string `json:"table"` // schema.table
}

// BackfillProgress is the Backfill heartbeat.
type BackfillProgress struct {
	Table         string `json:"table"`
	Phase         string `json:"phase"` // copy, catch_up, handed_over
	Rows          int64  `json:"rows"`
	EstimatedRows int64  `json:"estimated_rows"`
	Bytes         int64  `json:"bytes"`
	ConsistentLSN string `json:"consistent_lsn,omitempty"`
	AppliedLSN    string `json:"applied_lsn,omitempty"`
	StreamLSN     string `json:"stream_lsn,omitempty"`
	// Queued is set (Phase queued) while the backfill waits for the
	// snapshot scheduler.
	Queued *QueueWait `json:"queued,omitempty"`
}

// BackfillResult is a finished backfill.
type BackfillResult struct {
	Table         string  `json:"table"`
	Rows          int64   `json:"rows"`
	ConsistentLSN string  `json:"consistent_lsn"`
	HandedOverLSN string  `json:"handed_over_lsn"`
	Seconds       float64 `json:"seconds"`
	// Gone: the table was no longer on the source when its backfill began
	// (dropped, or renamed: discovery finds the new name); nothing was
	// copied and nothing is left to do.
	Gone bool `json:"gone,omitempty"`
}

// ListTablesInput is ActivityListTables's input.
type ListTablesInput struct {
	Name string `json:"name"`
}

// TablesSummary is the status's view of the live table set.
type TablesSummary struct {
	// Counts per state.
	Counts map[string]int `json:"counts,omitempty"`
	// Backfilling is the table whose backfill runs, Queued those waiting.
	Backfilling string   `json:"backfilling,omitempty"`
	Queued      []string `json:"queued,omitempty"`
	// Attention: tables quarantined, with cause and remedy.
	Attention []TableInfo `json:"attention,omitempty"`
	// LastBackfill is the last one finished.
	LastBackfill *BackfillResult `json:"last_backfill,omitempty"`
}
