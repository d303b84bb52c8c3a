package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
)

var permanent = []string{contract.ErrTypeInvalidInput, contract.ErrTypePermanent, contract.ErrTypeConflict, contract.ErrTypeSlotLost,
	contract.ErrTypeSchemaMismatch, contract.ErrTypeDestinationBehind}

// Preflight is fast and read-only: a short timeout, a few attempts.
func withPreflightOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 30 * time.Second, MaximumAttempts: 3, NonRetryableErrorTypes: permanent},
	})
}

// CreateConnector discovers the schema: allow for large catalogs. A
// cancelled workflow waits for it to stop (waitForCancel, from version 1 of
// changeCancel), so nothing creates objects after the workflow ended.
func withCreateOptions(ctx workflow.Context, waitForCancel bool) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    heartbeatTimeout,
		WaitForCancellation: waitForCancel,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute, MaximumAttempts: 10, NonRetryableErrorTypes: permanent},
	})
}

func withDropOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: time.Minute, MaximumAttempts: 20, NonRetryableErrorTypes: permanent},
	})
}

// heartbeatTimeout bounds how long a dead worker holds a long activity:
// the retry starts on another worker within this much.
const heartbeatTimeout = 30 * time.Second

// replicateHeartbeatTimeout is shorter: a dead worker's Replicate attempt
// holds the whole connector until the server times it out, and issue 19's
// target is a replacement streaming within 15 s of a kill (this timeout at
// worst, then the retry and the new session). The worker sends a heartbeat
// every 8 s (the SDK throttle, worker/main.go), which leaves 4 s for a late
// one before a healthy attempt is ended, and keeps an idle connector within
// 0.2 Temporal actions per second: 0.125/s of heartbeats, a table discovery
// (timer and activity) per minute and a health report per minute.
const replicateHeartbeatTimeout = 12 * time.Second

// The snapshot copies whole databases: long, heartbeated, retried from a
// clean start without limit (each attempt drops the previous slot and
// truncates the destination tables).
func withSnapshotOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * 24 * time.Hour,
		HeartbeatTimeout:    heartbeatTimeout,
		WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 2 * time.Minute, NonRetryableErrorTypes: permanent},
	})
}

// Replicate streams for one run, then returns so the workflow can continue
// as new; a crashed attempt resumes from the destination's durable LSN.
// One attempt per schedule: the workflow retries (retry.go), so each retry
// shows in its status and the number of retries without progress is bounded.
func withReplicateOptions(ctx workflow.Context, run time.Duration) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: run + 10*time.Minute,
		HeartbeatTimeout:    replicateHeartbeatTimeout,
		WaitForCancellation: true,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1, NonRetryableErrorTypes: permanent},
	})
}

// advance moves a status to stage s, noting when, and publishes the stage
// to the search attributes; staying in the same stage changes nothing.
func advance(ctx workflow.Context, st *contract.Status, s contract.Stage) {
	st.Paused = s == contract.StagePaused
	if st.Stage == s {
		return
	}
	st.Stage = s
	st.UpdatedAt = workflow.Now(ctx)
	upsertStage(ctx, s, st.SourceDisplay)
}

func upsertStage(ctx workflow.Context, s contract.Stage, source string) {
	// Best effort: a visibility hiccup must not fail the workflow.
	_ = workflow.UpsertTypedSearchAttributes(ctx, stageKey.ValueSet(string(s)), sourceKey.ValueSet(source))
	_ = workflow.UpsertMemo(ctx, map[string]any{contract.MemoStage: string(s)})
}
