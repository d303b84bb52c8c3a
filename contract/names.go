package contract

import "strings"

// Workflow type names, registered explicitly by the worker.
const (
	WorkflowOnboarding  = "OnboardingWorkflow"
	WorkflowReplication = "ReplicationWorkflow"
)

// Activity type names, registered explicitly by the worker; the workflows
// call activities by these names.
const (
	ActivityPreflight       = "Preflight"
	ActivityCreateConnector = "CreateConnector"
	ActivitySnapshot        = "Snapshot"
	ActivityReplicate       = "Replicate"
	ActivityDropConnector   = "DropConnector"
	ActivityVerify          = "Verify"
)

// Signals. Payloads are plain JSON objects (or nothing at all), so
// `temporal workflow signal` and the Web UI can send them.
var (
	// SignalSQLApplied: the operator applied the generated SQL; the
	// onboarding runs preflight again now instead of at its next timer.
	SignalSQLApplied = Signal[SQLAppliedSignal]{Name: "sql-applied"}
	// SignalPause, SignalResume and SignalDrop control a connector in any
	// stage of either workflow.
	SignalPause  = Signal[ControlSignal]{Name: "pause"}
	SignalResume = Signal[ControlSignal]{Name: "resume"}
	SignalDrop   = Signal[ControlSignal]{Name: "drop"}
	// SignalVerify starts a verification whose outcome shows in the status.
	SignalVerify = Signal[VerifySignal]{Name: "verify"}
)

// QueryStatus is answered by both workflows.
var QueryStatus = Query[Status]{Name: "status"}

// UpdateVerify runs a verification and returns its report; the workflow
// rejects it unless the connector streams (ErrTypeNotStreaming).
var UpdateVerify = Update[VerifyRequest, *VerifyReport]{Name: "verify"}

// Search attributes (Keyword), registered on the namespace by
// scripts/dev-up.sh and docker/temporal. Never encrypted: no secret in them.
const (
	// SearchAttrStage is the connector's Stage.
	SearchAttrStage = "ArdentStage"
	// SearchAttrSource is the source's host:port/database.
	SearchAttrSource = "ArdentSource"
)

// MemoStage is the memo key the workflows keep the stage under (the Web
// UI shows memos).
const MemoStage = "stage"

// Workflow id prefixes: one onboarding and one replication per connector.
const (
	onboardingPrefix  = "onboarding-"
	replicationPrefix = "replication-"
)

// OnboardingID is the workflow id of a connector's onboarding.
func OnboardingID(name string) string { return onboardingPrefix + name }

// ReplicationID is the workflow id of a connector's replication.
func ReplicationID(name string) string { return replicationPrefix + name }

// ConnectorName is the connector a workflow id belongs to, and false for an
// id that is neither an onboarding's nor a replication's.
func ConnectorName(workflowID string) (string, bool) {
	if n, ok := strings.CutPrefix(workflowID, replicationPrefix); ok {
		return n, true
	}
	return strings.CutPrefix(workflowID, onboardingPrefix)
}

// Error types of non-retryable application errors the workflows react to
// (the activities return them; the workflows list them as non-retryable).
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

// Error types of the verify update's failures (besides the Verify
// activity's own: InvalidInput, NoFreeSlot, ApplyNotReached...).
const (
	// ErrTypeNotStreaming: the validator's rejection, the connector does
	// not stream now.
	ErrTypeNotStreaming = "NotStreaming"
	// ErrTypeVerifyCancelled: pause, drop, a failure or the workflow's
	// cancellation stopped it.
	ErrTypeVerifyCancelled = "VerifyCancelled"
	// ErrTypeVerifyFailed: it failed for another reason (a timeout).
	ErrTypeVerifyFailed = "VerifyFailed"
)

// SealedURLPrefix marks a connection URL the CLI sealed with the master key
// (internal/secrets.SealString, purpose URLPurpose): workflow inputs carry
// URLs in this form, and only the activities open them.
const SealedURLPrefix = "ardent-sealed:v1:"

// URLPurpose is the purpose connection URLs are sealed for.
const URLPurpose = "url"

// Static summaries and details of the workflows (Temporal user metadata:
// the Web UI's "Summary" and "Details"), set when they start: the
// connector and the source's host:port/database, never a credential. What
// changes (stage, error, progress) is in the workflows' current details.

// OnboardingSummary is the onboarding workflow's static summary.
func OnboardingSummary(name, source string) string {
	return "Ardent onboarding of connector " + name + " (source " + source + ")"
}

// ReplicationSummary is the replication workflow's static summary.
func ReplicationSummary(name, source string) string {
	return "Ardent connector " + name + ": replication from " + source
}

// OnboardingStaticDetails and ReplicationStaticDetails are the workflows'
// static details (markdown).
func OnboardingStaticDetails(name, source string) string {
	return staticDetails(name, source, "Preflight until it passes (`ardent sql` makes it pass), then create the connector and hand it to `"+
		ReplicationID(name)+"`.")
}

func ReplicationStaticDetails(name, source string) string {
	return staticDetails(name, source, "Snapshot, then stream changes for the life of the connector; verification, table discovery "+
		"and the drift guard run beside the stream.")
}

func staticDetails(name, source, what string) string {
	return "**Connector** `" + name + "` · **source** `" + source + "`\n\n" + what + "\n\n" +
		"Stage, error, what to do and progress: the current details below, `ardent status " + name + "`, and the ArdentStage search attribute."
}
