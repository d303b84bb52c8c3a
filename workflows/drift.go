package workflows

import (
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
)

// The drift guard runs beside the stream like verification (verify.go)
// and the live table set (tables.go), but in every stage after the
// snapshot, paused and stopped ones included: a paused connector's slot
// is exactly the one that grows.
//
//   - Every DriftInterval (default 15 min, due time carried across
//     continue-as-new) the DriftCheck activity re-runs the source checks
//     that can regress after onboarding (contract.DriftCheckIDs). Also at
//     once when the connector is paused or parked (so its status shows the
//     slot's position and retained WAL) and on resume (so a fix shows
//     without waiting for the next run).
//   - A failed check puts a streaming connector in stage attention with
//     the check's message and remedy (the stream keeps running); a later
//     run that finds it fixed puts it back to streaming. Warnings are shown
//     and change no stage. A run that cannot reach the source changes
//     nothing but its error in the status.
//   - One run at a time; read-only; a few attempts for transient errors.
//
// All of it is new commands: behind GetVersion(changeDrift).
const changeDrift = "drift"

type driftState struct {
	enabled bool
	wake    workflow.Channel // a run now (pause, park, resume)
	running bool
}

// startDrift (version 1) starts the drift loop.
func (r *replication) startDrift(ctx workflow.Context) {
	if workflow.GetVersion(ctx, changeDrift, workflow.DefaultVersion, 1) < 1 {
		return
	}
	r.ds.enabled = true
	r.ds.wake = workflow.NewBufferedChannel(ctx, 1)
	if r.in.DriftInterval == 0 {
		r.in.DriftInterval = contract.DefaultDriftInterval
	}
	if r.in.NextDriftAt == nil && r.in.DriftInterval > 0 {
		next := workflow.Now(ctx).Add(r.in.DriftInterval)
		r.in.NextDriftAt = &next
	}
	workflow.Go(ctx, r.driftLoop)
}

// driftNow asks the loop for a run now.
func (r *replication) driftNow() {
	if r.ds.enabled {
		r.ds.wake.SendAsync(true)
	}
}

func (r *replication) driftLoop(ctx workflow.Context) {
	var timer workflow.Future
	for ctx.Err() == nil {
		if timer == nil && r.in.NextDriftAt != nil {
			timer = workflow.NewTimer(ctx, max(r.in.NextDriftAt.Sub(workflow.Now(ctx)), time.Second))
		}
		due, periodic := false, false
		sel := workflow.NewSelector(ctx)
		if timer != nil {
			sel.AddFuture(timer, func(f workflow.Future) { timer, due, periodic = nil, f.Get(ctx, nil) == nil, true })
		}
		sel.AddReceive(r.ds.wake, func(c workflow.ReceiveChannel, _ bool) { c.ReceiveAsync(nil); due = true })
		sel.Select(ctx)
		if periodic {
			r.in.NextDriftAt = nil
			if r.in.DriftInterval > 0 {
				next := workflow.Now(ctx).Add(r.in.DriftInterval)
				r.in.NextDriftAt = &next
			}
		}
		if due && r.canDrift(ctx) {
			r.driftCheck(ctx)
		}
	}
}

// canDrift: the connector has a slot to look at and is not going away.
func (r *replication) canDrift(ctx workflow.Context) bool {
	return r.in.Snapshot != nil && !r.ctl.dropRequested && !r.cx.requested(ctx) &&
		r.st.Stage != contract.StageDropped && r.st.Stage != contract.StageCancelled
}

func (r *replication) driftCheck(ctx workflow.Context) {
	r.ds.running = true
	var rep contract.DriftReport
	err := workflow.ExecuteActivity(withDriftOptions(ctx), contract.ActivityDriftCheck,
		contract.DriftCheckInput{Name: r.in.Name}).Get(ctx, &rep)
	r.ds.running = false
	var sum contract.DriftSummary
	if r.in.Drift != nil {
		sum = *r.in.Drift
	}
	if err != nil {
		workflow.GetLogger(ctx).Warn("drift check failed", "error", err)
		now := workflow.Now(ctx)
		sum.Error, sum.ErrorAt = errorMessage(err), &now
	} else {
		at := rep.CheckedAt
		sum = contract.DriftSummary{CheckedAt: &at, Problems: rep.Problems(), Slot: rep.Slot}
		if reg := rep.Regressions(); len(reg) > 0 {
			ids := make([]string, len(reg))
			for i, c := range reg {
				ids[i] = c.ID
			}
			workflow.GetLogger(ctx).Warn("drift: the source regressed", "checks", strings.Join(ids, ","))
		}
	}
	r.in.Drift = &sum
	if r.in.Error == "" && (r.st.Stage == contract.StageStreaming || r.st.Stage == contract.StageAttention) {
		r.setStreamStage(ctx)
	}
	r.publish(ctx)
}

// driftProblem is the status error and remedy of the drift guard's
// regressions, empty without any.
func (r *replication) driftProblem() (msg, remedy string) {
	reg := r.in.Drift.Regressions()
	if len(reg) == 0 {
		return "", ""
	}
	var parts, remedies []string
	for _, c := range reg {
		parts = append(parts, c.ID+": "+c.Message)
		if c.Remedy != "" && !slices.Contains(remedies, c.Remedy) {
			remedies = append(remedies, c.Remedy)
		}
	}
	next := "the next drift check"
	if r.in.DriftInterval > 0 {
		next += " (every " + r.in.DriftInterval.String() + ")"
	}
	return "the source regressed since onboarding (drift guard; the stream keeps running): " + strings.Join(parts, "; "),
		strings.Join(remedies, "; ") + "; " + next + " clears this once fixed, or at once: `ardent resume " + r.in.Name + "`"
}

// The drift checks read catalogs: short, a few attempts.
func withDriftOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 30 * time.Second, MaximumAttempts: 3, NonRetryableErrorTypes: permanent},
	})
}
