package activities

import (
	"time"

	"github.com/ardent-cdc/ardent/internal/verify"
)

// Activity names, registered explicitly by the worker.
const (
	PreflightName       = "Preflight"
	CreateConnectorName = "CreateConnector"
	SnapshotName        = "Snapshot"
	ReplicateName       = "Replicate"
	DropConnectorName   = "DropConnector"
	VerifyName          = "Verify"
)

// Error types of non-retryable application errors the workflows react to.
const (
	ErrTypeInvalidInput = "InvalidInput"
	ErrTypePermanent    = "Permanent"
	ErrTypeSlotLost     = "SlotLost"
	ErrTypeConflict     = "Conflict"
	// ErrTypeSchemaMismatch: the destination refused a change because its
	// table no longer has the source's shape (a column added, widened or
	// dropped on the source). The operator must make them match.
	ErrTypeSchemaMismatch = "SchemaMismatch"
	// ErrTypeDestinationBehind: the destination lost commits the source no
	// longer keeps; resuming would skip them.
	ErrTypeDestinationBehind = "DestinationBehind"
	// ErrTypeNoFreeSlot: verify found no free replication slot on the
	// source for its temporary one (max_replication_slots).
	ErrTypeNoFreeSlot = "NoFreeSlot"
	// ErrTypeApplyNotReached: the connector's apply did not reach the
	// verify point in time (the stream stopped, or lags too far).
	ErrTypeApplyNotReached = "ApplyNotReached"
)

// Error types of retryable application errors.
const (
	ErrTypeTransient = "Transient"
	// ErrTypeStalled: Replicate applied nothing for a while although its
	// stream kept reconnecting; the workflow counts it like any failure.
	ErrTypeStalled = "Stalled"
)

// FailureDetails ride on the application errors activities return: the
// operator's remedy when it depends on what failed (a schema mismatch names
// the table and column to change), and for Replicate the durable position
// the attempt reached, so the workflow can tell an attempt that made
// progress before failing from one that did not.
type FailureDetails struct {
	Remedy       string `json:"remedy,omitempty"`
	ConfirmedLSN string `json:"confirmed_lsn,omitempty"`
}

// Selection is what the operator chose to replicate.
type Selection struct {
	Schemas             []string `json:"schemas,omitempty"`
	Tables              []string `json:"tables,omitempty"`
	ExcludeTables       []string `json:"exclude_tables,omitempty"`
	ReplicaIdentityFull []string `json:"replica_identity_full,omitempty"`
	AcceptUnverified    []string `json:"accept_unverified,omitempty"`
}

// Check is one preflight check, as in the `ardent preflight --format json` contract.
type Check struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Message string `json:"message"`
	Remedy  string `json:"remedy,omitempty"`
}

// TableReport is a table that needs the operator's attention.
type TableReport struct {
	Schema   string `json:"schema"`
	Name     string `json:"name"`
	Identity string `json:"identity"`
	Remedy   string `json:"remedy,omitempty"`
}

// MaxReportTables bounds the tables carried in a report through Temporal:
// payloads must stay small however many tables the source has.
const MaxReportTables = 50

// PreflightReport is the preflight result carried in workflow state.
type PreflightReport struct {
	Passed bool          `json:"passed"`
	Checks []Check       `json:"checks"`
	Tables []TableReport `json:"tables,omitempty"`
	// MoreTables counts tables needing attention beyond MaxReportTables.
	MoreTables int       `json:"more_tables,omitempty"`
	CheckedAt  time.Time `json:"checked_at"`
}

// PreflightInput carries the source URL (encrypted by the payload codec).
type PreflightInput struct {
	Name      string    `json:"name"`
	SourceURL string    `json:"source_url"`
	Selection Selection `json:"selection"`
}

// CreateConnectorInput creates the connector: catalog record with sealed
// credentials, discovered schema, bookkeeping schema in the source.
type CreateConnectorInput struct {
	Name           string    `json:"name"`
	SourceURL      string    `json:"source_url"`
	DestinationURL string    `json:"destination_url"`
	Selection      Selection `json:"selection"`
}

// CreateConnectorResult summarises the connector created.
type CreateConnectorResult struct {
	SourceDisplay string `json:"source_display"`
	Tables        int    `json:"tables"`
	Slot          string `json:"slot"`
}

// SnapshotInput names the connector; everything else comes from the catalog.
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

// SnapshotProgress is the snapshot heartbeat and the status the CLI shows.
type SnapshotProgress struct {
	Tables        int             `json:"tables"`
	TablesDone    int             `json:"tables_done"`
	Rows          int64           `json:"rows"`
	Bytes         int64           `json:"bytes"`
	EstimatedRows int64           `json:"estimated_rows"`
	ETASeconds    float64         `json:"eta_seconds,omitempty"`
	Active        []TableProgress `json:"active,omitempty"` // tables being copied now (few)
}

// SnapshotResult is the completed snapshot.
type SnapshotResult struct {
	ConsistentLSN string `json:"consistent_lsn"`
	Rows          int64  `json:"rows"`
	Bytes         int64  `json:"bytes"`
	Tables        int    `json:"tables"`
}

// ReplicateInput names the connector. MaxDuration makes the activity return
// cleanly now and then so the workflow can continue-as-new.
type ReplicateInput struct {
	Name        string        `json:"name"`
	MaxDuration time.Duration `json:"max_duration,omitempty"`
}

// ReplicationProgress is the stream heartbeat and the status the CLI shows.
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

// DropConnectorInput removes a connector's objects from the source.
type DropConnectorInput struct {
	Name string `json:"name"`
	// SourceURL is used when the connector was never created (the catalog
	// has no credentials yet); empty otherwise.
	SourceURL string `json:"source_url,omitempty"`
}

// DropConnectorResult reports what was removed.
type DropConnectorResult struct {
	SlotDropped        bool `json:"slot_dropped"`
	BookkeepingDropped bool `json:"bookkeeping_dropped"`
	Verified           bool `json:"verified"`
}

// VerifyInput names the connector and, optionally, the "schema.table"
// names to verify (empty: every table it replicates).
type VerifyInput struct {
	Name   string   `json:"name"`
	Tables []string `json:"tables,omitempty"`
}

// VerifyReport is the outcome of one verification (internal/verify's
// plain-data report), the Verify activity's result.
type VerifyReport = verify.Report

// VerifyTable is one table's comparison in a VerifyReport, VerifyRange a
// key range that differs and VerifyDifference a key that does.
type (
	VerifyTable      = verify.TableResult
	VerifyRange      = verify.Range
	VerifyDifference = verify.Difference
)

// VerifyProgress is the Verify heartbeat.
type VerifyProgress struct {
	Tables     int    `json:"tables"`
	TablesDone int    `json:"tables_done"`
	Table      string `json:"table,omitempty"` // the table verified last
}
