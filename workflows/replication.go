package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/activities"
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
//
// pause cancels the running activity and waits; resume starts it again;
// drop cancels it, removes the slot and bookkeeping objects from the
// source and ends the workflow. A permanent failure (slot lost, source
// gone) parks the workflow in stage failed with the cause and the
// operator's options until resume (retry) or drop.
func ReplicationWorkflow(ctx workflow.Context, in ReplicationInput) error {
	if in.Name == "" {
		return temporal.NewNonRetryableApplicationError("replication input: name is empty", activities.ErrTypeInvalidInput, nil)
	}
	if err := validName(in.Name); err != nil {
		if err := checkStrict(ctx, fmt.Errorf("replication input: %w", err)); err != nil {
			return err
		}
	}
	if in.StreamRun <= 0 {
		in.StreamRun = DefaultStreamRun
	}
	r := &replication{in: in, ctl: newControl(ctx)}
	r.ctl.paused, r.ctl.dropRequested = in.Paused, in.DropRequested
	now := workflow.Now(ctx)
	if in.StartedAt.IsZero() {
		r.in.StartedAt = now
	}
	r.st = Status{Name: in.Name, Workflow: ReplicationWorkflowName, SourceDisplay: in.SourceDisplay,
		StartedAt: r.in.StartedAt, UpdatedAt: now, Snapshot: in.Snapshot, Error: in.Error}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (Status, error) { return r.st, nil }); err != nil {
		return fmt.Errorf("register status query: %w", err)
	}

	for {
		r.ctl.drain()
		switch {
		case r.ctl.dropRequested:
			return r.drop(ctx)
		case r.in.Error != "":
			r.setStage(ctx, StageFailed)
			r.ctl.paused = true
			r.ctl.waitWhilePaused(ctx)
			if !r.ctl.dropRequested {
				r.in.Error, r.st.Error, r.st.Remedy = "", "", ""
			}
			continue
		case r.ctl.paused:
			r.setStage(ctx, StagePaused)
			r.ctl.waitWhilePaused(ctx)
			continue
		}

		if r.in.Snapshot == nil {
			r.setStage(ctx, StageSnapshot)
			var res activities.SnapshotResult
			fut := workflow.ExecuteActivity(withSnapshotOptions(r.cancellable(ctx)), snapshotActs.Snapshot,
				activities.SnapshotInput{Name: r.in.Name})
			if r.supervise(ctx, fut, &res) {
				r.in.Snapshot = &res
				r.st.Snapshot = &res
			}
			continue
		}

		r.setStage(ctx, StageStreaming)
		var res activities.ReplicateResult
		fut := workflow.ExecuteActivity(withReplicateOptions(r.cancellable(ctx), r.in.StreamRun), streamActs.Replicate,
			activities.ReplicateInput{Name: r.in.Name, MaxDuration: r.in.StreamRun})
		if r.supervise(ctx, fut, &res) {
			// One run done: continue as new so the history stays short,
			// carrying every signal received so far.
			r.ctl.drain()
			next := r.in
			next.Paused, next.DropRequested = r.ctl.paused, r.ctl.dropRequested
			next.Runs++
			return workflow.NewContinueAsNewError(ctx, ReplicationWorkflowName, next)
		}
	}
}

type replication struct {
	in     ReplicationInput
	st     Status
	ctl    *control
	cancel workflow.CancelFunc
}

func (r *replication) cancellable(ctx workflow.Context) workflow.Context {
	actx, cancel := workflow.WithCancel(ctx)
	r.cancel = cancel
	return actx
}

// supervise waits for a long activity while honouring control signals:
// pause and drop cancel it (and wait for it to stop, so the slot is
// released before anything else happens). It reports whether the activity
// completed successfully; a permanent failure is recorded in r.in.Error.
func (r *replication) supervise(ctx workflow.Context, fut workflow.Future, result any) bool {
	done := false
	for !done {
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(fut, func(workflow.Future) { done = true })
		r.ctl.addTo(sel)
		sel.Select(ctx)
		if !done && (r.ctl.paused || r.ctl.dropRequested) {
			r.cancel()
		}
	}
	err := fut.Get(ctx, result)
	if err == nil {
		return true
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) && (r.ctl.paused || r.ctl.dropRequested) {
		return false
	}
	workflow.GetLogger(ctx).Error("replication activity failed", "error", err)
	r.in.Error = errorMessage(err)
	r.st.Error = r.in.Error
	r.st.Remedy = remedyFor(err, r.in.Name)
	return false
}

func (r *replication) drop(ctx workflow.Context) error {
	var res activities.DropConnectorResult
	err := workflow.ExecuteActivity(withDropOptions(ctx), connectorActs.DropConnector,
		activities.DropConnectorInput{Name: r.in.Name}).Get(ctx, &res)
	if err != nil {
		r.st.Error = errorMessage(err)
		r.setStage(ctx, StageFailed)
		return fmt.Errorf("drop connector %s: %w", r.in.Name, err)
	}
	r.st.Error, r.st.Remedy = "", ""
	r.setStage(ctx, StageDropped)
	return nil
}

func (r *replication) setStage(ctx workflow.Context, s Stage) { advance(ctx, &r.st, s) }

func remedyFor(err error, name string) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Type() == activities.ErrTypeSlotLost {
		return "the replication slot was dropped or invalidated, so changes since the last checkpoint are gone from the source: " +
			"`ardent drop " + name + "` and onboard again to take a new snapshot (raise max_slot_wal_keep_size to keep this from recurring)"
	}
	return "fix the cause, then `ardent resume " + name + "` to retry, or `ardent drop " + name + "`"
}
