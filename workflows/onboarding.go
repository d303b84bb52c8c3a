package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/activities"
)

// OnboardingWorkflow onboards one source database. Workflow id
// `onboarding-NAME`. The steps, each with its retry policy and idempotency
// rule:
//
//  1. Preflight (read-only, so any number of runs is harmless; 3 attempts
//     per run, a failed report is a result, not an error). On a failed
//     report the stage is waiting_for_sql until the operator's `sql-applied`
//     signal or a durable backoff timer (30 s doubling to 15 min), whichever
//     comes first; then preflight runs again. A signal sent early waits in
//     its channel and is not lost. After the deadline (7 days) the workflow
//     fails with the last report.
//  2. CreateConnector (idempotent on the connector name: a retry finds the
//     catalog record and bookkeeping schema already there; retried with
//     backoff, permanent errors fail the stage).
//  3. Hand-off: start ReplicationWorkflow `replication-NAME` (abandoned on
//     close, so it outlives this workflow; "already started" means a
//     previous attempt got there) and complete.
//
// pause, resume and drop are honoured in every stage: pause holds the
// workflow between steps, drop removes what Ardent created in the source
// (nothing before step 2) and ends it.
func OnboardingWorkflow(ctx workflow.Context, in OnboardingInput) (*OnboardingResult, error) {
	if err := in.validate(); err != nil {
		return nil, invalidInput(err)
	}
	if err := checkStrict(ctx, in.validateStrict()); err != nil {
		return nil, err
	}
	in = in.withDefaults()
	o := &onboarding{in: in, ctl: newControl(ctx), sqlApplied: workflow.GetSignalChannel(ctx, SignalSQLApplied)}
	now := workflow.Now(ctx)
	o.st = Status{Name: in.Name, Workflow: OnboardingWorkflowName, SourceDisplay: in.SourceDisplay, StartedAt: now, UpdatedAt: now}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (Status, error) { return o.st, nil }); err != nil {
		return nil, fmt.Errorf("register status query: %w", err)
	}
	log := workflow.GetLogger(ctx)

	passed, err := o.preflightLoop(ctx)
	if err != nil {
		return nil, err
	}
	if !passed { // dropped while waiting
		return o.finishDropped(ctx, false)
	}

	for {
		o.ctl.drain()
		if o.ctl.dropRequested {
			return o.finishDropped(ctx, false)
		}
		if o.ctl.paused {
			o.setStage(ctx, StagePaused)
			o.ctl.waitWhilePaused(ctx)
			continue
		}
		o.setStage(ctx, StageCreatingConnector)
		var res activities.CreateConnectorResult
		err := workflow.ExecuteActivity(withCreateOptions(ctx), connectorActs.CreateConnector, activities.CreateConnectorInput{
			Name: in.Name, SourceURL: in.SourceURL, DestinationURL: in.DestinationURL, Selection: in.Selection,
		}).Get(ctx, &res)
		if err == nil {
			break
		}
		log.Warn("connector creation failed", "error", err)
		o.fail(ctx, err)
		if !o.waitAfterFailure(ctx) {
			return o.finishDropped(ctx, true)
		}
	}
	for {
		o.ctl.drain()
		if o.ctl.dropRequested {
			return o.finishDropped(ctx, true)
		}
		if !o.ctl.paused {
			return o.handOff(ctx)
		}
		o.setStage(ctx, StagePaused)
		o.ctl.waitWhilePaused(ctx)
	}
}

type onboarding struct {
	in         OnboardingInput
	st         Status
	ctl        *control
	sqlApplied workflow.ReceiveChannel
}

// preflightLoop runs preflight until it passes (true), the operator drops
// the onboarding (false), or the deadline passes (error).
func (o *onboarding) preflightLoop(ctx workflow.Context) (bool, error) {
	deadline := workflow.Now(ctx).Add(o.in.Deadline)
	backoff := o.in.BackoffInitial
	for {
		o.ctl.drain()
		if o.ctl.dropRequested {
			return false, nil
		}
		if o.ctl.paused {
			o.setStage(ctx, StagePaused)
			o.ctl.waitWhilePaused(ctx)
			continue
		}
		o.setStage(ctx, StagePreflight)
		o.st.Attempts++
		o.st.NextCheckAt = nil
		var report activities.PreflightReport
		err := workflow.ExecuteActivity(withPreflightOptions(ctx), preflightActs.Preflight, activities.PreflightInput{
			Name: o.in.Name, SourceURL: o.in.SourceURL, Selection: o.in.Selection,
		}).Get(ctx, &report)
		if err != nil {
			// The activity itself failed (not a failed check): keep looping,
			// the report says why.
			report = activities.PreflightReport{CheckedAt: workflow.Now(ctx), Checks: []activities.Check{{
				ID: "preflight", Status: "fail", Message: "preflight could not run: " + errorMessage(err),
				Remedy: "check the worker's logs; the check is retried automatically",
			}}}
		}
		o.st.Report = &report
		if err == nil && report.Passed {
			o.st.Error = ""
			return true, nil
		}
		now := workflow.Now(ctx)
		if !now.Before(deadline) {
			o.st.Error = fmt.Sprintf("preflight did not pass within %s", o.in.Deadline)
			o.st.Remedy = "apply the generated SQL (`ardent sql`), then start the onboarding again"
			o.setStage(ctx, StageFailed)
			return false, temporal.NewNonRetryableApplicationError(o.st.Error, activities.ErrTypePermanent, nil, failedChecks(report))
		}
		wait := min(backoff, deadline.Sub(now))
		next := now.Add(wait)
		o.st.NextCheckAt = &next
		o.setStage(ctx, StageWaitingForSQL)
		if o.waitForSQL(ctx, wait) {
			backoff = o.in.BackoffInitial // the operator acted: start the backoff over
		} else if !o.ctl.dropRequested && !o.ctl.paused {
			backoff = min(backoff*2, o.in.BackoffMax)
		}
	}
}

// waitForSQL waits for sql-applied, the timer, or a control signal; it
// reports whether sql-applied arrived. Duplicate sql-applied signals
// collapse into one re-check.
func (o *onboarding) waitForSQL(ctx workflow.Context, wait time.Duration) bool {
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimer(timerCtx, wait)
	applied, fired := false, false
	for !applied && !fired && !o.ctl.dropRequested && !o.ctl.paused {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(o.sqlApplied, func(ch workflow.ReceiveChannel, _ bool) {
			var s SQLAppliedSignal
			ch.ReceiveAsync(&s)
			applied = true
		})
		sel.AddFuture(timer, func(workflow.Future) { fired = true })
		o.ctl.addTo(sel)
		sel.Select(ctx)
	}
	for o.sqlApplied.ReceiveAsync(nil) {
	}
	return applied
}

// waitAfterFailure holds a failed stage until the operator resumes (true:
// retry) or drops (false).
func (o *onboarding) waitAfterFailure(ctx workflow.Context) bool {
	o.ctl.paused = true
	o.ctl.waitWhilePaused(ctx)
	if o.ctl.dropRequested {
		return false
	}
	o.st.Error, o.st.Remedy = "", ""
	return true
}

func (o *onboarding) handOff(ctx workflow.Context) (*OnboardingResult, error) {
	id := ReplicationID(o.in.Name)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            id,
		TaskQueue:             workflow.GetInfo(ctx).TaskQueueName,
		ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(StageKey.ValueSet(string(StageSnapshot)), SourceKey.ValueSet(o.in.SourceDisplay)),
	})
	child := workflow.ExecuteChildWorkflow(cctx, ReplicationWorkflowName, ReplicationInput{
		Version: 1, Name: o.in.Name, SourceDisplay: o.in.SourceDisplay, StreamRun: o.in.StreamRun,
		VerifyInterval: o.in.VerifyInterval, StartedAt: workflow.Now(ctx),
	})
	var exec workflow.Execution
	if err := child.GetChildWorkflowExecution().Get(ctx, &exec); err != nil {
		var already *temporal.ChildWorkflowExecutionAlreadyStartedError
		if !errors.As(err, &already) {
			o.fail(ctx, err)
			return nil, fmt.Errorf("start replication workflow %s: %w", id, err)
		}
	}
	o.st.HandedOffTo = id
	o.setStage(ctx, StageSnapshot)
	return &OnboardingResult{Stage: StageSnapshot, ReplicationWorkflowID: id}, nil
}

// finishDropped removes whatever Ardent created in the source and ends the
// workflow in stage dropped.
func (o *onboarding) finishDropped(ctx workflow.Context, created bool) (*OnboardingResult, error) {
	if created {
		var res activities.DropConnectorResult
		err := workflow.ExecuteActivity(withDropOptions(ctx), connectorActs.DropConnector,
			activities.DropConnectorInput{Name: o.in.Name, SourceURL: o.in.SourceURL}).Get(ctx, &res)
		if err != nil {
			o.fail(ctx, err)
			return nil, fmt.Errorf("drop connector %s: %w", o.in.Name, err)
		}
	}
	o.st.Error, o.st.Remedy = "", ""
	o.setStage(ctx, StageDropped)
	return &OnboardingResult{Stage: StageDropped}, nil
}

func (o *onboarding) fail(ctx workflow.Context, err error) {
	o.st.Error = errorMessage(err)
	o.st.Remedy = "fix the cause, then `ardent resume " + o.in.Name + "` to retry or `ardent drop " + o.in.Name + "`"
	o.setStage(ctx, StageFailed)
}

func (o *onboarding) setStage(ctx workflow.Context, s Stage) { advance(ctx, &o.st, s) }

func (in OnboardingInput) withDefaults() OnboardingInput {
	if in.BackoffInitial == 0 {
		in.BackoffInitial = DefaultBackoffInitial
	}
	if in.BackoffMax == 0 {
		in.BackoffMax = DefaultBackoffMax
	}
	if in.BackoffMax < in.BackoffInitial {
		in.BackoffMax = in.BackoffInitial
	}
	if in.Deadline == 0 {
		in.Deadline = DefaultDeadline
	}
	return in
}

func failedChecks(r activities.PreflightReport) []string {
	var ids []string
	for _, c := range r.Checks {
		if c.Status != "pass" && c.Status != "warn" {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// errorMessage unwraps Temporal's activity/child wrappers to the cause the
// operator can act on.
func errorMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return "timed out: " + timeout.Error()
	}
	return err.Error()
}
