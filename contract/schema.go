package contract

import "time"

// Schema changes: the destination follows the source's DDL and records
// each change it followed (or refused to) in its schema history
// (internal/sink.SchemaChange). `ardent schema history` reads it through
// the replication workflow, like `ardent tables`; `ardent schema approve`
// is a resync of the table (SignalResync), which changes the destination
// table to the source's shape before copying it again.

// ActivitySchemaHistory reads a connector's schema history.
const ActivitySchemaHistory = "SchemaHistory"

// MaxSchemaHistory bounds the changes one schema-history update returns:
// they travel in the update's result.
const MaxSchemaHistory = 1000

// UpdateSchemaHistory returns a connector's schema changes, newest first.
var UpdateSchemaHistory = Update[SchemaHistoryRequest, *SchemaHistoryReport]{Name: "schema-history"}

// SchemaHistoryRequest is the schema-history update's argument: one table
// ("schema.table") or every table (""), at most Limit changes (0: the
// destination's default; never more than MaxSchemaHistory).
type SchemaHistoryRequest struct {
	Table string `json:"table,omitempty"`
	Limit int    `json:"limit,omitempty"`
}

// SchemaChangeInfo is one change of a source table's shape and what the
// destination did about it.
type SchemaChangeInfo struct {
	Table     string `json:"table"` // schema.table on the source
	LSN       string `json:"lsn"`   // the source transaction it arrived with
	Change    string `json:"change"`
	Statement string `json:"statement,omitempty"` // the destination DDL run
	// Outcome is applied, kept, quarantined or resync.
	Outcome string    `json:"outcome"`
	Detail  string    `json:"detail,omitempty"` // why, for kept and quarantined
	At      time.Time `json:"at"`
}

// SchemaHistoryReport is the schema-history update's result.
type SchemaHistoryReport struct {
	Connector string             `json:"connector"`
	Changes   []SchemaChangeInfo `json:"changes"`
}

// SchemaHistoryInput is ActivitySchemaHistory's input.
type SchemaHistoryInput struct {
	Name  string `json:"name"`
	Table string `json:"table,omitempty"`
	Limit int    `json:"limit,omitempty"`
}
