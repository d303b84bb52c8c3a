package workflows

import "go.temporal.io/sdk/temporal"

// Workflow type names, registered explicitly by the worker.
const (
	OnboardingWorkflowName  = "OnboardingWorkflow"
	ReplicationWorkflowName = "ReplicationWorkflow"
)

// DefaultTaskQueue is used when ARDENT_TASK_QUEUE is not set.
const DefaultTaskQueue = "ardent"

// Signal, query and update names. Signal payloads are plain JSON objects
// (or nothing at all), so `temporal workflow signal` and the Web UI can
// send them.
const (
	SignalSQLApplied = "sql-applied"
	SignalPause      = "pause"
	SignalResume     = "resume"
	SignalDrop       = "drop"
	// SignalVerify starts a verification whose result shows in the status
	// (payload VerifySignal, optional).
	SignalVerify = "verify"
	QueryStatus  = "status"
	// UpdateVerify runs a verification and returns its report (args
	// VerifyRequest); rejected unless the connector streams.
	UpdateVerify = "verify"
)

// Search attributes (Keyword). Never encrypted: never a secret in them.
const (
	SearchAttrStage  = "ArdentStage"
	SearchAttrSource = "ArdentSource"
)

// Typed keys for the search attributes.
var (
	StageKey  = temporal.NewSearchAttributeKeyKeyword(SearchAttrStage)
	SourceKey = temporal.NewSearchAttributeKeyKeyword(SearchAttrSource)
)

// OnboardingID is the workflow id of a connector's onboarding.
func OnboardingID(name string) string { return "onboarding-" + name }

// ReplicationID is the workflow id of a connector's replication.
func ReplicationID(name string) string { return "replication-" + name }
