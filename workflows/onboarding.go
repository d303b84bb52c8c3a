package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
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
//     its channel and is not lost; duplicates make one re-check, and one
//     whose payload is not an sql-applied object makes none. After the
//     deadline (7 days) the workflow fails with the last report. Between
//     two runs the workflow continues as new when the server suggests it,
//     carrying the loop's state (OnboardingCarried).
//  2. CreateConnector (idempotent on the connector name: a retry finds the
//     catalog record and bookkeeping schema already there; retried with
//     backoff, permanent errors fail the stage).
//  3. Hand-off: start ReplicationWorkflow `replication-NAME` (abandoned on
//     close, so it outlives this workflow; "already started" means a
//     previous attempt got there) and complete in stage handed_off.
//
// pause, resume and drop are honoured in every stage: pause holds the
// workflow between steps, drop removes what Ardent created in the source
// (nothing before step 2) and ends it. A cancellation (`temporal workflow
// cancel`) stops the running step and ends the workflow in stage
// cancelled, keeping what step 2 created; the status's remedy says how to
// remove it.
func OnboardingWorkflow(ctx workflow.Context, in contract.OnboardingInput) (*contract.OnboardingResult, error) {
	if err := validateOnboarding(in); err != nil {
		return nil, invalidInput(err)
	}
	if err := checkStrict(ctx, validateOnboardingStrict(in)); err != nil {
		return nil, err
	}
	in = withDefaults(in)
	cx := newCancellation(ctx)
	o := &onboarding{in: in, cx: cx, ctl: newControl(ctx, cx), sqlApplied: signalChannel(ctx, contract.SignalSQLApplied)}
	now := workflow.Now(ctx)
	o.st = contract.Status{Name: in.Name, Workflow: contract.WorkflowOnboarding, SourceDisplay: in.SourceDisplay, StartedAt: now, UpdatedAt: now}
	o.restore(ctx)
	if err := setQuery(ctx, contract.QueryStatus, func() (contract.Status, error) { return o.st, nil }); err != nil {
		return nil, fmt.Errorf("register status query: %w", err)
	}
	log := workflow.GetLogger(ctx)

	switch end, err := o.preflightLoop(ctx); {
	case err != nil:
		return nil, err
	case end == loopDropped:
		return o.finishDropped(ctx, false)
	case end == loopCancelled:
		return o.finishCancelled(ctx, false)
	case end == loopContinue:
		return nil, o.continueAsNew(ctx)
	}

	tried := false // a CreateConnector attempt ran: part of the connector may exist
	for {
		o.ctl.drain()
		if o.ctl.dropRequested {
			return o.finishDropped(ctx, false)
		}
		if o.cx.requested(ctx) {
			return o.finishCancelled(ctx, tried)
		}
		if o.ctl.paused {
			o.setStage(ctx, contract.StagePaused)
			o.ctl.waitWhilePaused(ctx)
			continue
		}
		o.setStage(ctx, contract.StageCreatingConnector)
		var res contract.CreateConnectorResult
		err := workflow.ExecuteActivity(withCreateOptions(ctx, o.cx.honour), contract.ActivityCreateConnector, contract.CreateConnectorInput{
			Name: in.Name, SourceURL: in.SourceURL, DestinationURL: in.DestinationURL, Selection: in.Selection,
			Options: in.Options,
		}).Get(ctx, &res)
		tried = true
		if err == nil {
			break
		}
		if o.cx.requested(ctx) {
			return o.finishCancelled(ctx, true) // it may have created part of the connector
		}
		log.Warn("connector creation failed", "error", err)
		o.fail(ctx, err)
		if !o.waitAfterFailure(ctx) {
			if o.ctl.dropRequested {
				return o.finishDropped(ctx, true)
			}
			return o.finishCancelled(ctx, true)
		}
	}
	for {
		o.ctl.drain()
		switch {
		case o.ctl.dropRequested:
			return o.finishDropped(ctx, true)
		case o.cx.requested(ctx):
			return o.finishCancelled(ctx, true)
		case !o.ctl.paused:
			return o.handOff(ctx)
		}
		o.setStage(ctx, contract.StagePaused)
		o.ctl.waitWhilePaused(ctx)
	}
}

type onboarding struct {
	in         contract.OnboardingInput
	st         contract.Status
	cx         *cancellation
	ctl        *control
	sqlApplied signalChan[contract.SQLAppliedSignal]
	// The preflight loop's state, carried across continue-as-new.
	deadline time.Time
	backoff  time.Duration
	runs     int
}

// restore sets up the preflight loop: fresh, or as the previous run left it.
func (o *onboarding) restore(ctx workflow.Context) {
	c := o.in.Carried
	if c == nil {
		o.deadline = workflow.Now(ctx).Add(o.in.Deadline)
		o.backoff = o.in.BackoffInitial
		return
	}
	o.deadline, o.backoff, o.runs = c.DeadlineAt, c.Backoff, c.Runs
	o.st.StartedAt, o.st.Attempts, o.st.Report = c.StartedAt, c.Attempts, c.Report
	o.ctl.paused, o.ctl.dropRequested = c.Paused, c.DropRequested
}

// How the preflight loop ended, when not with an error.
type loopEnd int

const (
	loopPassed loopEnd = iota
	loopDropped
	loopCancelled
	loopContinue
)

// preflightLoop runs preflight until it passes, the operator drops the
// onboarding, the workflow is cancelled, the server suggests continuing as
// new, or the deadline passes (error).
func (o *onboarding) preflightLoop(ctx workflow.Context) (loopEnd, error) {
	for {
		o.ctl.drain()
		switch {
		case o.ctl.dropRequested:
			return loopDropped, nil
		case o.cx.requested(ctx):
			return loopCancelled, nil
		// Between runs the loop holds nothing but its state: a good time
		// to keep the history short (a week of retries is thousands of
		// events). Histories from before: see changeCancel.
		case o.cx.honour && workflow.GetInfo(ctx).GetContinueAsNewSuggested():
			return loopContinue, nil
		case o.ctl.paused:
			o.setStage(ctx, contract.StagePaused)
			o.ctl.waitWhilePaused(ctx)
			continue
		}
		o.setStage(ctx, contract.StagePreflight)
		o.st.Attempts++
		o.st.NextCheckAt = nil
		var report contract.PreflightReport
		err := workflow.ExecuteActivity(withPreflightOptions(ctx), contract.ActivityPreflight, contract.PreflightInput{
			Name: o.in.Name, SourceURL: o.in.SourceURL, Selection: o.in.Selection,
			DestinationURL: o.in.DestinationURL, Options: o.in.Options,
		}).Get(ctx, &report)
		if o.cx.requested(ctx) {
			return loopCancelled, nil
		}
		if err != nil {
			// The activity itself failed (not a failed check): keep looping,
			// the report says why.
			report = contract.PreflightReport{CheckedAt: workflow.Now(ctx), Checks: []contract.Check{{
				ID: contract.CheckPreflightRun, Status: contract.CheckFail, Message: "preflight could not run: " + errorMessage(err),
				Remedy: "check the worker's logs; the check is retried automatically",
			}}}
		}
		o.st.Report = &report
		if err == nil && report.Passed {
			o.st.Error = ""
			return loopPassed, nil
		}
		if refused, err := o.refuseDuplicate(ctx, report); refused {
			return 0, err
		}
		now := workflow.Now(ctx)
		if !now.Before(o.deadline) {
			o.st.Error = fmt.Sprintf("preflight did not pass within %s", o.in.Deadline)
			o.st.Remedy = "apply the generated SQL (`ardent sql`), then start the onboarding again"
			o.setStage(ctx, contract.StageFailed)
			return 0, temporal.NewNonRetryableApplicationError(o.st.Error, contract.ErrTypePermanent, nil, report.Blocking())
		}
		wait := min(o.backoff, o.deadline.Sub(now))
		next := now.Add(wait)
		o.st.NextCheckAt = &next
		o.setStage(ctx, contract.StageWaitingForSQL)
		if o.waitForSQL(ctx, wait) {
			o.backoff = o.in.BackoffInitial // the operator acted: start the backoff over
		} else if !o.ctl.dropRequested && !o.ctl.paused && !o.cx.requested(ctx) {
			o.backoff = min(o.backoff*2, o.in.BackoffMax)
		}
	}
}

// waitForSQL waits for sql-applied, the timer, a control signal or the
// cancellation; it reports whether sql-applied arrived. Duplicate
// sql-applied signals collapse into one re-check; one whose payload does
// not decode is dropped by the SDK and changes nothing (from version 1 of
// changeCancel: it used to count).
func (o *onboarding) waitForSQL(ctx workflow.Context, wait time.Duration) bool {
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimer(timerCtx, wait)
	applied, fired := false, false
	for !applied && !fired && !o.ctl.dropRequested && !o.ctl.paused && !o.cx.requested(ctx) {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(o.sqlApplied.ReceiveChannel, func(workflow.ReceiveChannel, bool) {
			_, ok := o.sqlApplied.takeAsync()
			applied = ok || !o.cx.honour
		})
		sel.AddFuture(timer, func(workflow.Future) { fired = true })
		o.ctl.addTo(ctx, sel)
		sel.Select(ctx)
	}
	o.sqlApplied.drain()
	return applied
}

// waitAfterFailure holds a failed stage until the operator resumes (true:
// retry), drops or cancels (false).
func (o *onboarding) waitAfterFailure(ctx workflow.Context) bool {
	o.ctl.paused = true
	o.ctl.waitWhilePaused(ctx)
	if o.ctl.dropRequested || o.cx.requested(ctx) {
		return false
	}
	o.st.Error, o.st.Remedy = "", ""
	return true
}

func (o *onboarding) handOff(ctx workflow.Context) (*contract.OnboardingResult, error) {
	id := contract.ReplicationID(o.in.Name)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            id,
		TaskQueue:             workflow.GetInfo(ctx).TaskQueueName,
		ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(stageKey.ValueSet(string(contract.StageSnapshot)), sourceKey.ValueSet(o.in.SourceDisplay)),
		// The Web UI's summary and details (user metadata: no command
		// attribute the replayer compares).
		StaticSummary: contract.ReplicationSummary(o.in.Name, o.in.SourceDisplay),
		StaticDetails: contract.ReplicationStaticDetails(o.in.Name, o.in.SourceDisplay),
	})
	child := workflow.ExecuteChildWorkflow(cctx, contract.WorkflowReplication, contract.ReplicationInput{
		Name: o.in.Name, SourceDisplay: o.in.SourceDisplay, StreamRun: o.in.StreamRun,
		VerifyInterval: o.in.VerifyInterval, DiscoverInterval: o.in.DiscoverInterval, DriftInterval: o.in.DriftInterval,
		StartedAt: workflow.Now(ctx),
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
	// The replication workflow speaks for the connector from now on (its
	// first stage is snapshot); this one only says where it went.
	o.setStage(ctx, contract.StageHandedOff)
	return &contract.OnboardingResult{Stage: contract.StageHandedOff, ReplicationWorkflowID: id}, nil
}

// finishDropped removes whatever Ardent created in the source and ends the
// workflow in stage dropped.
func (o *onboarding) finishDropped(ctx workflow.Context, created bool) (*contract.OnboardingResult, error) {
	if created {
		var res contract.DropConnectorResult
		err := workflow.ExecuteActivity(withDropOptions(ctx), contract.ActivityDropConnector,
			contract.DropConnectorInput{Name: o.in.Name, SourceURL: o.in.SourceURL}).Get(ctx, &res)
		if err != nil {
			o.fail(ctx, err)
			return nil, fmt.Errorf("drop connector %s: %w", o.in.Name, err)
		}
	}
	o.st.Error, o.st.Remedy = "", ""
	o.setStage(ctx, contract.StageDropped)
	return &contract.OnboardingResult{Stage: contract.StageDropped}, nil
}

// finishCancelled ends a cancelled onboarding in stage cancelled. What
// CreateConnector made (the catalog record, the bookkeeping schema) stays:
// the remedy says how to remove it or carry on.
func (o *onboarding) finishCancelled(ctx workflow.Context, created bool) (*contract.OnboardingResult, error) {
	name := o.in.Name
	o.st.NextCheckAt = nil
	o.st.Error = "the onboarding was cancelled (temporal workflow cancel)"
	o.st.Remedy = "nothing was created in the source; to onboard it, `ardent onboard --name " + name + " ...` again"
	if created {
		o.st.Remedy = "the connector's objects in the source (bookkeeping schema; no replication slot yet) were kept: `ardent drop " + name +
			"` removes them, or `ardent onboard --name " + name + " ...` starts over"
	}
	o.setStage(ctx, contract.StageCancelled)
	return nil, temporal.NewCanceledError(o.st.Error)
}

// continueAsNew starts the next run of the preflight loop with its state.
func (o *onboarding) continueAsNew(ctx workflow.Context) error {
	next := o.in
	next.Carried = &contract.OnboardingCarried{
		StartedAt: o.st.StartedAt, DeadlineAt: o.deadline, Backoff: o.backoff, Attempts: o.st.Attempts, Report: o.st.Report,
		Paused: o.ctl.paused, DropRequested: o.ctl.dropRequested, Runs: o.runs + 1,
	}
	return workflow.NewContinueAsNewError(ctx, contract.WorkflowOnboarding, next)
}

func (o *onboarding) fail(ctx workflow.Context, err error) {
	o.st.Error = errorMessage(err)
	o.st.Remedy = "fix the cause, then `ardent resume " + o.in.Name + "` to retry or `ardent drop " + o.in.Name + "`"
	o.setStage(ctx, contract.StageFailed)
}

func (o *onboarding) setStage(ctx workflow.Context, s contract.Stage) {
	advance(ctx, &o.st, s)
	o.publish(ctx)
}

func withDefaults(in contract.OnboardingInput) contract.OnboardingInput {
	if in.BackoffInitial == 0 {
		in.BackoffInitial = contract.DefaultBackoffInitial
	}
	if in.BackoffMax == 0 {
		in.BackoffMax = contract.DefaultBackoffMax
	}
	if in.BackoffMax < in.BackoffInitial {
		in.BackoffMax = in.BackoffInitial
	}
	if in.Deadline == 0 {
		in.Deadline = contract.DefaultDeadline
	}
	return in
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
