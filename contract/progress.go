package contract

import "time"

// Heartbeats reach only the server (the CLI and the Web UI's pending
// activity read them), never the workflow. So that the workflow's own
// stage, status and Web UI details tell the truth about a running stream
// (streaming only while its applies succeed), the long activities also
// send their progress to their workflow as the progress signal: a stream
// at once when its health changes and at most every ProgressInterval
// otherwise; a snapshot and a backfill every ProgressInterval.

// SignalProgress carries a running activity's progress to its workflow.
// Sent by the activities, not by operators.
var SignalProgress = Signal[ProgressReport]{Name: "progress"}

// ProgressInterval is how often a long activity sends its progress when
// nothing else makes it send.
const ProgressInterval = time.Minute

// ProgressReport is the progress signal's payload: one of Stream, Snapshot,
// Backfill or CatalogChanged.
type ProgressReport struct {
	Stream   *StreamHealth     `json:"stream,omitempty"`
	Snapshot *SnapshotProgress `json:"snapshot,omitempty"`
	Backfill *BackfillProgress `json:"backfill,omitempty"`
	// CatalogChanged: the running stream saw the selection's tables change
	// on the source (created, dropped, renamed, altered, identity): the
	// workflow discovers the tables now instead of at its next interval.
	CatalogChanged bool      `json:"catalog_changed,omitempty"`
	At             time.Time `json:"at"`
}

// StreamHealth is a running Replicate attempt's account of itself. A
// stream is healthy while its destination accepts what it applies (idle
// position updates included); it is unhealthy once it has been
// reconnecting after errors, with nothing applied, for longer than a
// short grace (a single reconnect is not worth a stage change).
type StreamHealth struct {
	Healthy bool `json:"healthy"`
	// Error is the error the stream reconnects after, while unhealthy.
	Error string `json:"error,omitempty"`
	// LastApplyAt is when the destination last accepted a write.
	LastApplyAt  time.Time `json:"last_apply_at,omitzero"`
	ConfirmedLSN string    `json:"confirmed_lsn,omitempty"`
	LagBytes     int64     `json:"lag_bytes"`
	LagSeconds   float64   `json:"lag_seconds"`
	// Running is set in the status: an attempt runs now. Without one this
	// is the last attempt's last report (its position), not its health.
	Running bool `json:"running,omitempty"`
}
