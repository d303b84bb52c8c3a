package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
)

// ReplicationWorkflow supervises one connector for its whole life.
// Workflow id `replication-NAME`. The steps:
//
//  1. Snapshot (one long heartbeated activity that creates the slot with an
//     exported snapshot and copies every table while holding it; a retry
//     drops the slot of the failed attempt, truncates the destination and
//     starts over, so it is idempotent by restarting cleanly).
//  2. Replicate (one long heartbeated activity streaming from the slot for
//     StreamRun, then returning; it resumes from the LSN committed in the
//     destination, so a retry or the next run never applies a change twice).
//     After each run the workflow continues as new, carrying its state.
//     Replicate has one attempt per schedule: the workflow retries it
//     itself, so a failing connector is visible (stage retrying, with the
//     attempt, the last error and the next try) and bounded (see retry.go).
//  3. Verify, beside Replicate (never instead of it: it needs the stream to
//     reach its point): every VerifyInterval, on the verify signal, and on
//     the verify update, which returns the report. Read-only on both sides
//     (a temporary slot, a hold row), so any number of runs is harmless; a
//     few attempts for transient errors. A difference puts the connector in
//     stage attention while it keeps streaming (see verify.go).
//
// pause cancels the running activity and waits; resume starts it again;
// drop cancels it, removes the slot and bookkeeping objects from the
// source and ends the workflow. A cancellation of the workflow (`temporal
// workflow cancel`) cancels the running activities and waits for them,
// keeps the slot, and ends the workflow in stage cancelled, the remedy
// naming the command that drops the connector; a drop under way is
// finished first. A failure only the operator can fix (a
// schema mismatch, a destination behind the slot) parks the workflow in
// stage attention, and a permanent failure (slot lost, source gone) or
// too many failed attempts without progress in stage failed, each with the
// cause and the operator's options, until resume (retry) or drop.
func ReplicationWorkflow(ctx workflow.Context, in contract.ReplicationInput) error {
	if in.Name == "" {
		return temporal.NewNonRetryableApplicationError("replication input: name is empty", contract.ErrTypeInvalidInput, nil)
	}
	if err := validName(in.Name); err != nil {
		if err := checkStrict(ctx, fmt.Errorf("replication input: %w", err)); err != nil {
			return err
		}
	}
	if in.StreamRun <= 0 {
		in.StreamRun = contract.DefaultStreamRun
	}
	if in.MaxAttempts <= 0 {
		in.MaxAttempts = contract.DefaultMaxAttempts
	}
	if in.VerifyInterval == 0 {
		in.VerifyInterval = contract.DefaultVerifyInterval
	}
	cx := newCancellation(ctx)
	r := &replication{in: in, cx: cx, ctl: newControl(ctx, cx)}
	r.ctl.paused, r.ctl.dropRequested = in.Paused, in.DropRequested
	now := workflow.Now(ctx)
	if in.StartedAt.IsZero() {
		r.in.StartedAt = now
	}
	r.st = contract.Status{Name: in.Name, Workflow: contract.WorkflowReplication, SourceDisplay: in.SourceDisplay,
		StartedAt: r.in.StartedAt, UpdatedAt: now, Snapshot: in.Snapshot, Error: in.Error}
	if in.Attempt > 0 {
		r.st.Attempt, r.st.MaxAttempts, r.st.LastError = in.Attempt, in.MaxAttempts, in.LastError
	}
	if in.Error == "" {
		r.st.Error, r.st.Remedy = r.divergence()
	}
	if err := setQuery(ctx, contract.QueryStatus, func() (contract.Status, error) { return r.status(), nil }); err != nil {
		return fmt.Errorf("register status query: %w", err)
	}
	if err := r.setupTables(ctx); err != nil {
		return err
	}
	if err := r.setupVerify(ctx); err != nil {
		return err
	}
	if err := r.startTables(ctx); err != nil {
		return err
	}
	r.startProgress(ctx)
	r.startDrift(ctx)
	r.ctl.onResume = r.driftNow

	for {
		r.ctl.drain()
		switch {
		case r.ctl.dropRequested:
			return r.drop(ctx)
		case r.cx.requested(ctx):
			return r.cancelled(ctx)
		case r.in.Error != "":
			r.park(ctx)
			continue
		case r.ctl.paused:
			r.stopVerify("the connector was paused")
			r.setStage(ctx, contract.StagePaused)
			r.driftNow() // the slot's position and retained WAL, for the status
			r.ctl.waitWhilePaused(ctx)
			continue
		}

		if r.in.Snapshot == nil {
			r.setStage(ctx, contract.StageSnapshot)
			var res contract.SnapshotResult
			fut := workflow.ExecuteActivity(withSnapshotOptions(r.cancellable(ctx)), contract.ActivitySnapshot,
				contract.SnapshotInput{Name: r.in.Name})
			r.snapshotStarted()
			err := r.supervise(ctx, fut, &res, nil)
			r.snapshotEnded()
			switch {
			case err == nil:
				r.in.Snapshot = &res
				r.st.Snapshot = &res
			case !errors.Is(err, errStopped):
				r.fail(ctx, err)
			}
			continue
		}

		v := workflow.GetVersion(ctx, changeVisibleRetries, workflow.DefaultVersion, 1)
		if v >= 1 && workflow.GetInfo(ctx).GetContinueAsNewSuggested() && !r.vs.busy() && !r.ts.busy() {
			return r.continueAsNew(ctx) // a long retry loop keeps its history short too
		}
		if r.stream(ctx, v) {
			if r.vs.busy() || r.ts.busy() {
				continue // a verification or a backfill needs the stream: one more run first
			}
			// One run done: continue as new so the history stays short,
			// carrying every signal received so far.
			return r.continueAsNew(ctx)
		}
	}
}

// changeVisibleRetries is the GetVersion change id of the workflow-driven
// Replicate retries: version 1 runs a probation timer beside an attempt
// that follows failures. Histories from before it replay on the old path.
const changeVisibleRetries = "visible-retries"

type replication struct {
	in        contract.ReplicationInput
	st        contract.Status
	cx        *cancellation
	ctl       *control
	cancel    workflow.CancelFunc
	attention bool // the failure in in.Error needs the operator: stage attention, not failed
	vs        verifyState
	ts        tablesState
	ds        driftState
	ps        progressState
	// schemaChanges are the latest schema changes discovery returned, for
	// the Web UI's details.
	schemaChanges []contract.SchemaChangeInfo
}

func (r *replication) cancellable(ctx workflow.Context) workflow.Context {
	actx, cancel := workflow.WithCancel(ctx)
	r.cancel = cancel
	return actx
}

// stream runs one Replicate attempt and reports whether it completed its
// run. An attempt after failures runs in stage retrying until it has run
// for retryProbation (version 1), then streaming (or attention while a
// divergence found by verification stands: the stream runs either way).
func (r *replication) stream(ctx workflow.Context, v workflow.Version) bool {
	if r.in.Attempt == 0 {
		r.setStreamStage(ctx)
	} else {
		r.st.NextTryAt = nil
		r.setStage(ctx, contract.StageRetrying)
	}
	actx := r.cancellable(ctx)
	var res contract.ReplicateResult
	fut := workflow.ExecuteActivity(withReplicateOptions(actx, r.in.StreamRun), contract.ActivityReplicate,
		contract.ReplicateInput{Name: r.in.Name, MaxDuration: r.in.StreamRun})
	var probation workflow.Future
	stopProbation := func() {}
	if v >= 1 && r.in.Attempt > 0 {
		var tctx workflow.Context
		tctx, stopProbation = workflow.WithCancel(actx)
		probation = workflow.NewTimer(tctx, retryProbation)
	}
	r.vs.streaming = true
	r.streamStarted()
	r.wakeTables()
	err := r.supervise(ctx, fut, &res, probation)
	r.vs.streaming = false
	r.streamEnded()
	r.wakeTables()
	stopProbation()
	switch {
	case err == nil:
		r.in.Attempt, r.in.LastError = 0, ""
		r.noteLSN(res.ConfirmedLSN)
		return true
	case errors.Is(err, errStopped):
	case retryable(err):
		r.retry(ctx, err)
	default:
		r.fail(ctx, err)
	}
	return false
}

// supervise waits for a long activity while honouring control signals:
// pause, drop and the workflow's cancellation cancel it (and wait for it to
// stop, so the slot is released before anything else happens). It returns
// nil when the activity completed, errStopped when one of those stopped
// it, else its error.
// When probation (may be nil) fires first, the attempt has proven itself:
// the stage goes back to streaming.
func (r *replication) supervise(ctx workflow.Context, fut workflow.Future, result any, probation workflow.Future) error {
	done := false
	for !done {
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(fut, func(workflow.Future) { done = true })
		if probation != nil {
			sel.AddFuture(probation, func(f workflow.Future) {
				probation = nil
				if f.Get(ctx, nil) == nil {
					r.recovered(ctx)
				}
			})
		}
		r.ctl.addTo(ctx, sel)
		sel.Select(ctx)
		switch {
		case done:
		case r.cx.requested(ctx):
			r.cancel() // done already by the cancellation of ctx: this says so
			r.stopVerify("the workflow was cancelled")
			r.stopTables()
		case r.ctl.paused || r.ctl.dropRequested:
			r.cancel()
			r.stopVerify("the connector was paused or dropped")
			r.stopTables()
		}
	}
	err := fut.Get(ctx, result)
	if err == nil {
		return nil
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) && (r.ctl.paused || r.ctl.dropRequested || r.cx.requested(ctx)) {
		return errStopped
	}
	return err
}

var errStopped = errors.New("stopped by pause, drop or cancellation")

// fail records a failure that retrying cannot fix; the loop parks on it.
func (r *replication) fail(ctx workflow.Context, err error) {
	workflow.GetLogger(ctx).Error("replication activity failed", "error", err)
	r.in.Error = errorMessage(err)
	r.st.Error = r.in.Error
	r.st.Remedy = remedyFor(err, r.in.Name)
	r.attention = needsAttention(err)
}

// park holds a failed connector in stage attention or failed until the
// operator resumes (retry, with a fresh retry budget) or drops it.
func (r *replication) park(ctx workflow.Context) {
	r.stopVerify("replication stopped: " + r.in.Error)
	r.stopTables()
	stage := contract.StageFailed
	if r.attention {
		stage = contract.StageAttention
	}
	r.st.NextTryAt = nil
	r.setStage(ctx, stage)
	r.driftNow() // the slot keeps WAL while parked: its state, for the status
	r.ctl.paused = true
	r.ctl.waitWhilePaused(ctx)
	if r.ctl.dropRequested || r.cx.requested(ctx) {
		return
	}
	r.in.Error, r.st.Error, r.st.Remedy = "", "", ""
	r.attention = false
	r.in.Attempt, r.in.LastError = 0, ""
	r.st.Attempt, r.st.MaxAttempts, r.st.LastError = 0, 0, ""
}

func (r *replication) continueAsNew(ctx workflow.Context) error {
	// An update still running would fail with "workflow completed".
	_ = workflow.Await(ctx, func() bool { return !r.vs.busy() && !r.ts.busy() && workflow.AllHandlersFinished(ctx) })
	if r.cx.requested(ctx) {
		return r.cancelled(ctx)
	}
	r.ctl.drain()
	r.drainVerifySignals(ctx)
	if r.ts.enabled {
		r.drainTablesSignals(ctx)
	}
	next := r.in
	next.Paused, next.DropRequested = r.ctl.paused, r.ctl.dropRequested
	next.Runs++
	return workflow.NewContinueAsNewError(ctx, contract.WorkflowReplication, next)
}

func (r *replication) drop(ctx workflow.Context) error {
	r.stopVerify("the connector is being dropped")
	r.stopTables()
	if r.cx.honour {
		// A drop under way is finished even if the workflow is cancelled
		// meanwhile: half a drop helps nobody.
		ctx, _ = workflow.NewDisconnectedContext(ctx)
	}
	var res contract.DropConnectorResult
	err := workflow.ExecuteActivity(withDropOptions(ctx), contract.ActivityDropConnector,
		contract.DropConnectorInput{Name: r.in.Name}).Get(ctx, &res)
	if err != nil {
		r.st.Error = errorMessage(err)
		r.setStage(ctx, contract.StageFailed)
		return fmt.Errorf("drop connector %s: %w", r.in.Name, err)
	}
	r.st.Error, r.st.Remedy = "", ""
	r.setStage(ctx, contract.StageDropped)
	// A verify update cancelled above answers before the workflow ends.
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return nil
}

// cancelled ends a cancelled workflow. supervise already cancelled the
// running activity and waited for it; the Verify activity is waited for
// here. Nothing is removed from the source: the slot keeps the position
// the destination reached, so the remedy names the drop.
func (r *replication) cancelled(ctx workflow.Context) error {
	r.stopVerify("the workflow was cancelled")
	r.stopTables()
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	_ = workflow.Await(dctx, func() bool { return !r.vs.running && !r.ts.busy() })
	name := r.in.Name
	what := "streaming stopped; the replication slot was kept and holds WAL on the source until the connector is dropped"
	if r.in.Snapshot == nil {
		what = "the initial snapshot stopped; its replication slot, if it had created one, was kept"
	}
	if r.in.Error != "" {
		what += "; it had stopped in stage " + string(r.st.Stage) + ": " + r.in.Error
	}
	r.st.NextTryAt = nil
	r.st.Error = "the replication workflow was cancelled (temporal workflow cancel): " + what
	r.st.Remedy = "`ardent drop " + name + "` removes the slot and the bookkeeping schema from the source (it starts the replication workflow again to drop them); " +
		"to replicate again, drop it, then `ardent onboard --name " + name + " ...`"
	r.setStage(dctx, contract.StageCancelled)
	// A verify update cancelled above answers before the workflow ends.
	_ = workflow.Await(dctx, func() bool { return workflow.AllHandlersFinished(dctx) })
	return temporal.NewCanceledError(r.st.Error)
}

func (r *replication) setStage(ctx workflow.Context, s contract.Stage) {
	advance(ctx, &r.st, s)
	r.publish(ctx)
}

// needsAttention: failures the operator fixes on the destination (or by
// onboarding again), as opposed to a broken source or connector.
func needsAttention(err error) bool {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return false
	}
	return app.Type() == contract.ErrTypeSchemaMismatch || app.Type() == contract.ErrTypeDestinationBehind
}

func remedyFor(err error, name string) string {
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return "fix the cause, then `ardent resume " + name + "` to retry, or `ardent drop " + name + "`"
	}
	var d contract.FailureDetails
	if app.HasDetails() && app.Details(&d) == nil && d.Remedy != "" {
		return d.Remedy
	}
	if app.Type() == contract.ErrTypeSlotLost {
		return "the replication slot was dropped or invalidated, so changes since the last checkpoint are gone from the source: " +
			"`ardent drop " + name + "` and onboard again to take a new snapshot (raise max_slot_wal_keep_size to keep this from recurring)"
	}
	return "fix the cause, then `ardent resume " + name + "` to retry, or `ardent drop " + name + "`"
}
