package contract

import (
	"fmt"
	"strings"
	"time"
)

// Selection is what the operator chose to replicate.
type Selection struct {
	Schemas             []string `json:"schemas,omitempty"`
	Tables              []string `json:"tables,omitempty"`
	ExcludeTables       []string `json:"exclude_tables,omitempty"`
	ReplicaIdentityFull []string `json:"replica_identity_full,omitempty"`
	AcceptUnverified    []string `json:"accept_unverified,omitempty"`
}

// ConnectorOptions are the operator's choices, beyond the selection, of
// where and how fast a connector writes. They are stored with the
// connector; ReplaceExisting counts only when the connector is created.
type ConnectorOptions struct {
	// TargetSchema maps the source's schemas to the destination's: "" the
	// same, "NAME" every table into NAME, "PREFIX*" each schema S into
	// PREFIX+S (see internal/schema.Target).
	TargetSchema string `json:"target_schema,omitempty"`
	// ReplaceExisting lets the connector empty and take destination tables
	// that hold rows it did not write (never another live connector's).
	ReplaceExisting bool `json:"replace_existing,omitempty"`
	// SnapshotParallelism caps the tables (or chunks) copied at once, and
	// SnapshotMaxBytesPerSecond the bytes read from the source per second
	// during the initial copy; 0 is the worker's default / no cap.
	SnapshotParallelism       int   `json:"snapshot_parallelism,omitempty"`
	SnapshotMaxBytesPerSecond int64 `json:"snapshot_max_bytes_per_second,omitempty"`
	// DropColumns is what the destination does when a column is dropped on
	// the source: DropColumnsKeep ("" too) keeps it, nullable, with its
	// values; DropColumnsDrop drops it. DropColumnsTables overrides it per
	// table: "schema.table=keep" or "schema.table=drop".
	DropColumns       string   `json:"drop_columns,omitempty"`
	DropColumnsTables []string `json:"drop_columns_tables,omitempty"`
}

// Drop-column policies (ConnectorOptions.DropColumns).
const (
	DropColumnsKeep = "keep"
	DropColumnsDrop = "drop"
)

// DropColumnsPolicies validates DropColumns and DropColumnsTables into the
// connector's policy and its per-table overrides.
func (o ConnectorOptions) DropColumnsPolicies() (string, map[string]string, error) {
	def := o.DropColumns
	if def == "" {
		def = DropColumnsKeep
	}
	if def != DropColumnsKeep && def != DropColumnsDrop {
		return "", nil, fmt.Errorf("drop-columns policy %q: want keep or drop", o.DropColumns)
	}
	var tables map[string]string
	for _, t := range o.DropColumnsTables {
		name, pol, ok := strings.Cut(t, "=")
		if !ok || name == "" || (pol != DropColumnsKeep && pol != DropColumnsDrop) {
			return "", nil, fmt.Errorf("drop-columns policy of a table %q: want schema.table=keep or schema.table=drop", t)
		}
		if !strings.Contains(name, ".") {
			name = "public." + name
		}
		if tables == nil {
			tables = map[string]string{}
		}
		tables[name] = pol
	}
	return def, tables, nil
}

// FailureDetails ride on the application errors activities return: the
// operator's remedy when it depends on what failed (a schema mismatch names
// the table and column to change), and for Replicate the durable position
// the attempt reached, so the workflow can tell an attempt that made
// progress before failing from one that did not.
type FailureDetails struct {
	Remedy       string `json:"remedy,omitempty"`
	ConfirmedLSN string `json:"confirmed_lsn,omitempty"`
}

// PreflightInput is ActivityPreflight's input; its result is a
// PreflightReport (a failed check is a result, not an error).
type PreflightInput struct {
	Name      string    `json:"name"`
	SourceURL string    `json:"source_url"` // sealed
	Selection Selection `json:"selection"`
	// DestinationURL (sealed), when set, adds the destination check.
	DestinationURL string           `json:"destination_url,omitempty"`
	Options        ConnectorOptions `json:"options,omitzero"`
}

// CreateConnectorInput is ActivityCreateConnector's input: catalog record
// with sealed credentials, discovered schema, bookkeeping schema in the
// source.
type CreateConnectorInput struct {
	Name           string           `json:"name"`
	SourceURL      string           `json:"source_url"`      // sealed
	DestinationURL string           `json:"destination_url"` // sealed
	Selection      Selection        `json:"selection"`
	Options        ConnectorOptions `json:"options,omitzero"`
}

// CreateConnectorResult summarises the connector created.
type CreateConnectorResult struct {
	SourceDisplay string `json:"source_display"`
	Tables        int    `json:"tables"`
	Slot          string `json:"slot"`
}

// SnapshotInput is ActivitySnapshot's input: the connector's name;
// everything else comes from the catalog.
type SnapshotInput struct {
	Name        string `json:"name"`
	Parallelism int    `json:"parallelism,omitempty"`
}

// TableProgress is one table's copy progress.
type TableProgress struct {
	Table         string `json:"table"`
	Rows          int64  `json:"rows"`
	Bytes         int64  `json:"bytes"`
	EstimatedRows int64  `json:"estimated_rows"`
	Done          bool   `json:"done"`
}

// SnapshotProgress is the Snapshot heartbeat and the status the CLI shows.
type SnapshotProgress struct {
	Tables        int             `json:"tables"`
	TablesDone    int             `json:"tables_done"`
	Rows          int64           `json:"rows"`
	Bytes         int64           `json:"bytes"`
	EstimatedRows int64           `json:"estimated_rows"`
	ETASeconds    float64         `json:"eta_seconds,omitempty"`
	Active        []TableProgress `json:"active,omitempty"` // tables being copied now (few)
	// Queued is set while the snapshot waits for the snapshot scheduler:
	// nothing is copied yet.
	Queued *QueueWait `json:"queued,omitempty"`
}

// SnapshotResult is the completed snapshot.
type SnapshotResult struct {
	ConsistentLSN string `json:"consistent_lsn"`
	Rows          int64  `json:"rows"`
	Bytes         int64  `json:"bytes"`
	Tables        int    `json:"tables"`
}

// ReplicateInput is ActivityReplicate's input. MaxDuration makes the
// activity return cleanly now and then so the workflow can continue as new.
type ReplicateInput struct {
	Name        string        `json:"name"`
	MaxDuration time.Duration `json:"max_duration,omitempty"`
}

// ReplicationProgress is the Replicate heartbeat and the status the CLI
// shows.
type ReplicationProgress struct {
	ReceivedLSN   string    `json:"received_lsn"`
	ConfirmedLSN  string    `json:"confirmed_lsn"`
	LagBytes      int64     `json:"lag_bytes"`
	LagSeconds    float64   `json:"lag_seconds"`
	RowsApplied   int64     `json:"rows_applied"`
	TxApplied     int64     `json:"tx_applied"`
	RowsPerSecond float64   `json:"rows_per_second"`
	LastCommitAt  time.Time `json:"last_commit_at,omitempty"`
	// LastApplyAt is when the destination last accepted a write (idle
	// heartbeats included); zero before the first.
	LastApplyAt time.Time `json:"last_apply_at,omitempty"`
	// StreamError is the error the stream is reconnecting after, "" while
	// its session is good.
	StreamError string `json:"stream_error,omitempty"`
	// SampledAt is when these figures were read: heartbeats are throttled,
	// so a status can be a few seconds old.
	SampledAt time.Time `json:"sampled_at,omitempty"`
}

// ReplicateResult is returned when the activity hands back control.
type ReplicateResult struct {
	ConfirmedLSN string `json:"confirmed_lsn"`
}

// DropConnectorInput is ActivityDropConnector's input: it removes a
// connector's objects from the source.
type DropConnectorInput struct {
	Name string `json:"name"`
	// SourceURL is used when the connector was never created (the catalog
	// has no credentials yet); empty otherwise.
	SourceURL string `json:"source_url,omitempty"`
}

// DropConnectorResult reports what was removed: each flag says the object
// was there and is gone; false, that it was already absent.
type DropConnectorResult struct {
	SlotDropped        bool `json:"slot_dropped"`
	BookkeepingDropped bool `json:"bookkeeping_dropped"`
	Verified           bool `json:"verified"`
	// CatalogDropped: the catalog's record was marked dropped (it keeps
	// the sealed credentials, so a repeated cleanup can reach the source).
	CatalogDropped bool `json:"catalog_dropped,omitempty"`
}

// VerifyInput is ActivityVerify's input: the connector and, optionally, the
// "schema.table" names to verify (empty: every table it replicates). Its
// result is a VerifyReport.
type VerifyInput struct {
	Name   string   `json:"name"`
	Tables []string `json:"tables,omitempty"`
}

// VerifyProgress is the Verify heartbeat.
type VerifyProgress struct {
	Tables     int    `json:"tables"`
	TablesDone int    `json:"tables_done"`
	Table      string `json:"table,omitempty"` // the table verified last
}
