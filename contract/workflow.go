package contract

import (
	"strconv"
	"time"
)

// Stage is where a connector stands: the status's stage, the ArdentStage
// search attribute and the `stage` of `ardent status --format json`.
type Stage string

// Stages, in order, then the side states.
const (
	StagePreflight         Stage = "preflight"
	StageWaitingForSQL     Stage = "waiting_for_sql"
	StageCreatingConnector Stage = "creating_connector"
	StageSnapshot          Stage = "snapshot"
	StageStreaming         Stage = "streaming"
	// StageHandedOff: the onboarding is done; the replication workflow
	// (Status.HandedOffTo) speaks for the connector from now on.
	StageHandedOff Stage = "handed_off"
	StagePaused    Stage = "paused"
	StageFailed    Stage = "failed"
	StageDropped   Stage = "dropped"
	// StageRetrying: replication failed and is retried after a backoff; the
	// status says which attempt, the last error and the next try.
	StageRetrying Stage = "retrying"
	// StageAttention: replication stopped on something only the operator
	// can fix (a schema mismatch, a destination behind the slot); the
	// status has the error and the remedy. resume retries, drop drops.
	StageAttention Stage = "attention"
	// StageCancelled: the workflow was cancelled (`temporal workflow
	// cancel`, the Web UI). It stopped what it ran and ended; whatever it
	// created in the source (the replication slot, the bookkeeping schema)
	// is kept, and the status's remedy names the command that removes it.
	StageCancelled Stage = "cancelled"
	// StageQueued: the initial snapshot waits for a permit of the
	// snapshot scheduler (a slot of its worker, or of its source host);
	// Status.Queued says which and since when. It becomes snapshot once
	// the copy starts.
	StageQueued Stage = "queued"
)

// Queue reasons (QueueWait.Reason).
const (
	QueueReasonWorker     = "worker"
	QueueReasonSourceHost = "source_host"
)

// QueueWait is a copy waiting for the snapshot scheduler: the worker's
// copy slots are all taken (Reason worker), or its source host's copies
// are at their limit across workers (Reason source_host, Host).
type QueueWait struct {
	Reason string `json:"reason"`
	Host   string `json:"host,omitempty"` // host:port of the source
	// Running copies hold what it waits for, of Limit.
	Running int       `json:"running"`
	Limit   int       `json:"limit"`
	Since   time.Time `json:"since"`
}

// Why says what the copy waits for, for people.
func (q QueueWait) Why() string {
	what := "a snapshot slot of its worker"
	if q.Reason == QueueReasonSourceHost {
		what = "the source host " + q.Host
	}
	return "waiting for " + what + " (" + strconv.Itoa(q.Running) + " of " + strconv.Itoa(q.Limit) + " running)"
}

// OnboardingInput starts an onboarding. The URLs carry credentials: the CLI
// seals them (SealedURLPrefix) and the payload codec encrypts them; they
// never go to search attributes, memos or logs.
type OnboardingInput struct {
	Name           string    `json:"name"`
	SourceURL      string    `json:"source_url"`
	DestinationURL string    `json:"destination_url"`
	SourceDisplay  string    `json:"source_display"` // host:port/db, for search attributes
	Selection      Selection `json:"selection"`
	// Options: target schema, replacing existing tables, snapshot limits.
	Options ConnectorOptions `json:"options,omitzero"`
	// BackoffInitial, BackoffMax and Deadline override DefaultBackoffInitial,
	// DefaultBackoffMax and DefaultDeadline.
	BackoffInitial time.Duration `json:"backoff_initial,omitempty"`
	BackoffMax     time.Duration `json:"backoff_max,omitempty"`
	Deadline       time.Duration `json:"deadline,omitempty"`
	// StreamRun overrides DefaultStreamRun for the replication workflow (tests).
	StreamRun time.Duration `json:"stream_run,omitempty"`
	// VerifyInterval overrides DefaultVerifyInterval for the replication
	// workflow; negative disables periodic verification.
	VerifyInterval time.Duration `json:"verify_interval,omitempty"`
	// DiscoverInterval overrides DefaultDiscoverInterval for the
	// replication workflow; negative disables discovery of new tables.
	DiscoverInterval time.Duration `json:"discover_interval,omitempty"`
	// DriftInterval overrides DefaultDriftInterval for the replication
	// workflow; negative disables the drift guard.
	DriftInterval time.Duration `json:"drift_interval,omitempty"`
	// Carried is the preflight loop's state when the onboarding continued
	// as new; nil on a first run.
	Carried *OnboardingCarried `json:"carried,omitempty"`
}

// OnboardingCarried is what an onboarding carries across continue-as-new:
// enough for the next run to look and behave as the same onboarding.
type OnboardingCarried struct {
	StartedAt time.Time `json:"started_at"`
	// DeadlineAt is when preflight gives up: fixed by the first run.
	DeadlineAt time.Time     `json:"deadline_at"`
	Backoff    time.Duration `json:"backoff"`
	Attempts   int           `json:"attempts"`
	// Report is the last preflight report, for the status.
	Report        *PreflightReport `json:"report,omitempty"`
	Paused        bool             `json:"paused,omitempty"`
	DropRequested bool             `json:"drop_requested,omitempty"`
	// Runs counts continue-as-new generations.
	Runs int `json:"runs,omitempty"`
}

// OnboardingResult is returned once the connector is handed to replication
// (Stage handed_off; before that release, snapshot) or dropped.
type OnboardingResult struct {
	Stage                 Stage  `json:"stage"`
	ReplicationWorkflowID string `json:"replication_workflow_id,omitempty"`
}

// ReplicationInput starts (or continues) a connector's replication.
// `{"name": NAME, "drop_requested": true}` started by hand drops a
// connector whose workflows have ended (`ardent drop` does that).
type ReplicationInput struct {
	Name          string          `json:"name"`
	SourceDisplay string          `json:"source_display"`
	StreamRun     time.Duration   `json:"stream_run,omitempty"`
	Snapshot      *SnapshotResult `json:"snapshot,omitempty"` // set once the snapshot completed
	Paused        bool            `json:"paused,omitempty"`
	DropRequested bool            `json:"drop_requested,omitempty"`
	Error         string          `json:"error,omitempty"`
	Runs          int             `json:"runs,omitempty"` // continue-as-new generations
	StartedAt     time.Time       `json:"started_at,omitempty"`
	// MaxAttempts overrides DefaultMaxAttempts.
	MaxAttempts int `json:"max_attempts,omitempty"`
	// Attempt counts the Replicate attempts that failed in a row without
	// progress; LastError is the last one's error. Both are carried across
	// continue-as-new, so the bound holds however long the retries last.
	Attempt   int    `json:"attempt,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// ConfirmedLSN is the furthest durable position an attempt reported:
	// an attempt that ends beyond it made progress.
	ConfirmedLSN string `json:"confirmed_lsn,omitempty"`
	// VerifyInterval overrides DefaultVerifyInterval; negative disables
	// periodic verification. NextVerifyAt is when the next periodic one is
	// due, and Verify the outcome of the verifications so far: both are
	// carried across continue-as-new.
	VerifyInterval time.Duration  `json:"verify_interval,omitempty"`
	NextVerifyAt   *time.Time     `json:"next_verify_at,omitempty"`
	Verify         *VerifySummary `json:"verify,omitempty"`
	// DiscoverInterval overrides DefaultDiscoverInterval (negative: no
	// discovery). Backfills are the tables waiting for a backfill, carried
	// across continue-as-new with the live table set's summary.
	DiscoverInterval time.Duration  `json:"discover_interval,omitempty"`
	Backfills        []string       `json:"backfills,omitempty"`
	Tables           *TablesSummary `json:"tables,omitempty"`
	// TablesAdd and TablesRemove are tables-add and tables-remove signals
	// not yet applied by a discovery.
	TablesAdd    []string `json:"tables_add,omitempty"`
	TablesRemove []string `json:"tables_remove,omitempty"`
	// DriftInterval overrides DefaultDriftInterval (negative: no drift
	// guard). NextDriftAt is when the next drift check is due and Drift
	// what the checks found: both are carried across continue-as-new.
	DriftInterval time.Duration `json:"drift_interval,omitempty"`
	NextDriftAt   *time.Time    `json:"next_drift_at,omitempty"`
	Drift         *DriftSummary `json:"drift,omitempty"`
	// Stream is the last health a Replicate attempt reported (the
	// progress signal), carried so a new run shows the position and lag
	// of the last.
	Stream *StreamHealth `json:"stream,omitempty"`
}

// SQLAppliedSignal is the operator saying the generated SQL was applied.
type SQLAppliedSignal struct {
	Note string `json:"note,omitempty"`
}

// ControlSignal carries pause, resume and drop.
type ControlSignal struct {
	Reason string `json:"reason,omitempty"`
}

// VerifySignal asks for a verification whose outcome shows in the status;
// Tables ("schema.table") narrows it, empty verifies every table.
type VerifySignal struct {
	Tables []string `json:"tables,omitempty"`
}

// VerifyRequest is the argument of the verify update.
type VerifyRequest struct {
	Tables []string `json:"tables,omitempty"`
}

// VerifySummary is what the connector's verifications found: the last
// completed one (At, LSN, the tables that differ) and the last that failed
// to complete (Error, ErrorAt; cleared by the next completed one).
// Different accumulates over partial runs: a table stays in it until a
// verification that compares it finds it equal.
type VerifySummary struct {
	At        *time.Time `json:"at,omitempty"`
	LSN       string     `json:"lsn,omitempty"`
	Equal     bool       `json:"equal"`
	Tables    int        `json:"tables,omitempty"` // tables the last completed run compared
	Different []string   `json:"different,omitempty"`
	// Report is the last completed run's report with only the tables that
	// differ (at most MaxReportTables): their ranges and keys.
	Report  *VerifyReport `json:"report,omitempty"`
	Error   string        `json:"error,omitempty"`
	ErrorAt *time.Time    `json:"error_at,omitempty"`
	// RunningSince is set while a verification runs; NextAt is when the
	// next periodic one is due (nil when periodic verification is off).
	RunningSince *time.Time `json:"running_since,omitempty"`
	NextAt       *time.Time `json:"next_at,omitempty"`
}

// Status answers QueryStatus in both workflows; `ardent status --format
// json` prints it.
type Status struct {
	Name          string           `json:"name"`
	Workflow      string           `json:"workflow"`
	Stage         Stage            `json:"stage"`
	SourceDisplay string           `json:"source_display"`
	Paused        bool             `json:"paused,omitempty"`
	Error         string           `json:"error,omitempty"`
	Remedy        string           `json:"remedy,omitempty"`
	StartedAt     time.Time        `json:"started_at"`
	UpdatedAt     time.Time        `json:"updated_at"`
	Attempts      int              `json:"preflight_attempts,omitempty"`
	NextCheckAt   *time.Time       `json:"next_check_at,omitempty"`
	Report        *PreflightReport `json:"preflight,omitempty"`
	Snapshot      *SnapshotResult  `json:"snapshot,omitempty"`
	HandedOffTo   string           `json:"handed_off_to,omitempty"`
	// While retrying: the attempt that failed last (of MaxAttempts), its
	// error, and when the next one starts (nil while one runs).
	Attempt     int        `json:"attempt,omitempty"`
	MaxAttempts int        `json:"max_attempts,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	NextTryAt   *time.Time `json:"next_try_at,omitempty"`
	// Verify is what verifications found. Diverged says the stage is
	// attention because the last one found tables that differ: the stream
	// keeps running, and Error names the tables.
	Verify   *VerifySummary `json:"verify,omitempty"`
	Diverged bool           `json:"diverged,omitempty"`
	// Live progress is not in workflow state: the CLI adds the pending
	// activity's last heartbeat (snapshot progress or replication position).
	SnapshotProgress    *SnapshotProgress    `json:"snapshot_progress,omitempty"`
	ReplicationProgress *ReplicationProgress `json:"replication,omitempty"`
	VerifyProgress      *VerifyProgress      `json:"verify_progress,omitempty"`
	// Tables is the live table set (replication workflow); BackfillProgress
	// the running backfill's last heartbeat (added by the CLI).
	Tables           *TablesSummary    `json:"tables,omitempty"`
	BackfillProgress *BackfillProgress `json:"backfill_progress,omitempty"`
	// PausedSince is when the connector was paused (stage paused).
	PausedSince *time.Time `json:"paused_since,omitempty"`
	// Stream is the running (or last) Replicate attempt's own account:
	// healthy, the error it reconnects after, when the destination last
	// accepted a write, position and lag (the progress signal, at most a
	// minute old while it streams). Stage streaming means healthy.
	Stream *StreamHealth `json:"stream,omitempty"`
	// Drift is what the drift guard found (replication workflow): the
	// checks that did not pass, the slot (position, retained WAL) and the
	// next run. A failed check is a regression: stage attention.
	Drift *DriftSummary `json:"drift,omitempty"`
	// Queued is set in stage queued: what the snapshot waits for.
	Queued *QueueWait `json:"queued,omitempty"`
}
