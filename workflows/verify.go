package workflows

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
)

// Verification compares the destination with the source at one LSN (the
// Verify activity, internal/verify). It runs beside the Replicate activity
// and needs it: the destination side is read once the apply reaches the
// verify point. So:
//
//   - It runs only while the stream runs (stage streaming, or attention
//     for a divergence found earlier). The verify update's validator
//     rejects it otherwise; a periodic run that falls due then is skipped.
//   - One at a time: others wait for it (verifyState.busy).
//   - Pause, drop and a failure that parks the connector cancel it.
//   - The workflow continues as new only when none runs or waits: a run
//     that ends while one does is followed by another run.
//   - A verification that finds differences puts the connector in stage
//     attention while the stream keeps running, its tables named in the
//     status; one that finds them equal clears it. One that fails to
//     complete is recorded in the status and changes no stage.
//
// Periodic runs (every VerifyInterval, default 6 h, due time carried
// across continue-as-new) are new commands: they run behind
// GetVersion(changeVerify). The update and the signal are driven by their
// own history events, so they work on any version.
const changeVerify = "verify"

// maxNamedTables bounds the tables a status error names.
const maxNamedTables = 10

// verifyState is the replication workflow's side of verification.
type verifyState struct {
	periodic bool // version >= 1: periodic runs (verifyLoop)
	signals  signalChan[contract.VerifySignal]
	running  bool
	since    *time.Time
	waiting  int // runs waiting for the one running
	cancel   workflow.CancelFunc
	stopped  string // why the running one was cancelled
	// streaming is set while a Replicate activity runs.
	streaming bool
}

func (v *verifyState) busy() bool { return v.running || v.waiting > 0 }

// setupVerify registers the verify update and signal, and (version 1)
// starts the periodic loop.
func (r *replication) setupVerify(ctx workflow.Context) error {
	r.vs.signals = signalChannel(ctx, contract.SignalVerify)
	err := setUpdate(ctx, contract.UpdateVerify,
		func(ctx workflow.Context, req contract.VerifyRequest) (*contract.VerifyReport, error) {
			return r.verify(ctx, req.Tables)
		},
		func(req contract.VerifyRequest) error {
			for _, t := range req.Tables {
				if strings.TrimSpace(t) == "" {
					return temporal.NewNonRetryableApplicationError("verify: empty table name", contract.ErrTypeInvalidInput, nil)
				}
			}
			return r.canVerify()
		}, "verify the destination against the source at one LSN; returns the report")
	if err != nil {
		return fmt.Errorf("register verify update: %w", err)
	}
	if workflow.GetVersion(ctx, changeVerify, workflow.DefaultVersion, 1) < 1 {
		return nil
	}
	r.vs.periodic = true
	// A due time carried over stands even when periodic runs are off: it
	// is a verify signal the previous run had no time for.
	if r.in.NextVerifyAt == nil && r.in.VerifyInterval > 0 {
		next := workflow.Now(ctx).Add(r.in.VerifyInterval)
		r.in.NextVerifyAt = &next
	}
	workflow.Go(ctx, r.verifyLoop)
	return nil
}

// verifyLoop runs the periodic verifications and the ones the verify
// signal asks for, one after the other.
func (r *replication) verifyLoop(ctx workflow.Context) {
	var timer workflow.Future
	for ctx.Err() == nil {
		if timer == nil && r.in.NextVerifyAt != nil {
			timer = workflow.NewTimer(ctx, r.in.NextVerifyAt.Sub(workflow.Now(ctx)))
		}
		sel := workflow.NewSelector(ctx)
		if timer != nil {
			sel.AddFuture(timer, func(f workflow.Future) {
				timer = nil
				if f.Get(ctx, nil) == nil {
					r.periodicVerify(ctx)
				}
			})
		}
		sel.AddReceive(r.vs.signals.ReceiveChannel, func(workflow.ReceiveChannel, bool) {
			// A signal whose payload does not decode is dropped (not a
			// verification of every table). Before changeCancel the loop
			// waited here for the next one that decoded.
			var s contract.VerifySignal
			if r.cx.honour {
				var ok bool
				if s, ok = r.vs.signals.takeAsync(); !ok {
					return
				}
			} else {
				r.vs.signals.Receive(ctx, &s)
			}
			if err := r.canVerify(); err != nil {
				workflow.GetLogger(ctx).Warn("verify signal ignored", "error", err)
				return
			}
			_, _ = r.verify(ctx, s.Tables)
		})
		sel.Select(ctx)
	}
}

// drainVerifySignals, before continue-as-new, turns verify signals not
// yet taken into a verification due at once in the next run.
func (r *replication) drainVerifySignals(ctx workflow.Context) {
	for r.vs.signals.ReceiveAsync(nil) {
		now := workflow.Now(ctx)
		r.in.NextVerifyAt = &now
	}
}

// periodicVerify runs the verification that fell due, or skips it when
// the connector does not stream (or one runs already), and schedules the
// next.
func (r *replication) periodicVerify(ctx workflow.Context) {
	if err := r.canVerify(); err != nil {
		workflow.GetLogger(ctx).Info("periodic verification skipped", "reason", err)
	} else if !r.vs.busy() {
		_, _ = r.verify(ctx, nil)
	}
	r.in.NextVerifyAt = nil
	if r.in.VerifyInterval > 0 {
		next := workflow.Now(ctx).Add(r.in.VerifyInterval)
		r.in.NextVerifyAt = &next
	}
}

// canVerify is nil when a verification can run now: the stream runs.
func (r *replication) canVerify() error {
	name := r.in.Name
	switch {
	case r.ctl.dropRequested || r.st.Stage == contract.StageDropped:
		return notStreaming("connector %s is being dropped: there is nothing to verify", name)
	case r.in.Error != "":
		return notStreaming("connector %s is stopped in stage %s (%s): verify compares at a point the running stream reaches; see `ardent status %s`",
			name, r.st.Stage, r.in.Error, name)
	case r.ctl.paused || r.st.Stage == contract.StagePaused:
		return notStreaming("connector %s is paused: verify compares at a point the running stream reaches; `ardent resume %s` first", name, name)
	case r.in.Snapshot == nil:
		return notStreaming("connector %s is still taking its initial snapshot: verify once it is streaming (`ardent status %s`)", name, name)
	case r.st.Stage == contract.StageRetrying:
		return notStreaming("connector %s is retrying its stream after failures (last error: %s): verify once it is streaming again (`ardent status %s`)",
			name, r.in.LastError, name)
	case !r.vs.streaming:
		return notStreaming("connector %s is between two stream runs: verify again in a few seconds", name)
	}
	return nil
}

func notStreaming(format string, a ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, a...), contract.ErrTypeNotStreaming, nil)
}

// verify runs one verification of the tables only names (all when empty)
// once no other runs, records its outcome and returns its report.
func (r *replication) verify(ctx workflow.Context, only []string) (*contract.VerifyReport, error) {
	r.vs.waiting++
	err := workflow.Await(ctx, func() bool { return !r.vs.running })
	r.vs.waiting--
	if err != nil {
		return nil, err
	}
	if err := r.canVerify(); err != nil { // the stream may have stopped meanwhile
		return nil, err
	}
	now := workflow.Now(ctx)
	vctx, cancel := workflow.WithCancel(ctx)
	r.vs.running, r.vs.since, r.vs.cancel, r.vs.stopped = true, &now, cancel, ""
	var rep contract.VerifyReport
	err = workflow.ExecuteActivity(withVerifyOptions(vctx), contract.ActivityVerify,
		contract.VerifyInput{Name: r.in.Name, Tables: only}).Get(ctx, &rep)
	cancel()
	r.vs.running, r.vs.since, r.vs.cancel = false, nil, nil
	var canceled *temporal.CanceledError
	switch {
	case errors.As(err, &canceled) && r.vs.stopped != "":
		return nil, temporal.NewNonRetryableApplicationError("verification cancelled: "+r.vs.stopped, contract.ErrTypeVerifyCancelled, nil)
	case err != nil:
		workflow.GetLogger(ctx).Warn("verification failed", "error", err)
		r.recordVerifyError(ctx, err)
		return nil, verifyFailure(err)
	}
	r.recordVerify(ctx, only, &rep)
	return &rep, nil
}

// stopVerify cancels the running verification, if any: the stream it
// needs is stopping.
func (r *replication) stopVerify(why string) {
	if r.vs.cancel != nil {
		r.vs.stopped = why
		r.vs.cancel()
	}
}

// verifyFailure is what the update returns for a failed run: the
// activity's own message and type (not the ActivityError around them).
func verifyFailure(err error) error {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		opts := temporal.ApplicationErrorOptions{NonRetryable: true}
		var d contract.FailureDetails
		if app.HasDetails() && app.Details(&d) == nil {
			opts.Details = []any{d}
		}
		return temporal.NewApplicationErrorWithOptions(app.Message(), app.Type(), opts)
	}
	return temporal.NewNonRetryableApplicationError(errorMessage(err), contract.ErrTypeVerifyFailed, nil)
}

func (r *replication) recordVerifyError(ctx workflow.Context, err error) {
	sum := contract.VerifySummary{}
	if r.in.Verify != nil {
		sum = *r.in.Verify
	}
	now := workflow.Now(ctx)
	sum.Error, sum.ErrorAt = errorMessage(err), &now
	r.in.Verify = &sum
}

// recordVerify keeps a completed run's outcome and sets the stage. A run of
// some tables keeps the other tables' earlier verdicts.
func (r *replication) recordVerify(ctx workflow.Context, only []string, rep *contract.VerifyReport) {
	var prev contract.VerifySummary
	if r.in.Verify != nil {
		prev = *r.in.Verify
	}
	compared := make(map[string]bool, len(rep.Tables))
	for _, t := range rep.Tables {
		compared[t.Table] = true
	}
	different := rep.Different()
	var kept []contract.VerifyTable
	if len(only) > 0 {
		for _, t := range prev.Different {
			if !compared[t] {
				different = append(different, t)
			}
		}
		if prev.Report != nil {
			for _, t := range prev.Report.Tables {
				if !compared[t.Table] {
					kept = append(kept, t)
				}
			}
		}
	}
	sort.Strings(different)
	at := rep.FinishedAt
	if at.IsZero() {
		at = workflow.Now(ctx)
	}
	sum := contract.VerifySummary{At: &at, LSN: rep.LSN, Equal: len(different) == 0, Tables: len(rep.Tables), Different: different}
	if len(different) > 0 {
		trimmed := *rep
		trimmed.Tables = nil
		for _, t := range append(kept, rep.Tables...) {
			if !t.Equal && len(trimmed.Tables) < contract.MaxReportTables {
				trimmed.Tables = append(trimmed.Tables, t)
			}
		}
		sum.Report = &trimmed
	}
	r.in.Verify = &sum
	workflow.GetLogger(ctx).Info("verification completed", "lsn", rep.LSN, "equal", rep.Equal, "different", strings.Join(different, ","))
	if r.in.Error != "" {
		return // parked on a failure: that failure is the status
	}
	if r.st.Stage == contract.StageStreaming || r.st.Stage == contract.StageAttention {
		r.setStreamStage(ctx)
		return
	}
	r.st.Error, r.st.Remedy = r.divergence()
}

// diverged: the last verifications found tables that differ.
func (r *replication) diverged() bool { return r.in.Verify != nil && len(r.in.Verify.Different) > 0 }

// setStreamStage is the stage of a running stream: retrying while the
// attempt reports that it cannot apply (progress.go); attention while a
// divergence, tables needing the operator or a drift regression stand (the
// stream keeps running); streaming otherwise.
func (r *replication) setStreamStage(ctx workflow.Context) {
	var msgs, remedies []string
	for _, p := range [][2]string{pair(r.divergence()), pair(r.tablesProblem()), pair(r.driftProblem())} {
		if p[0] != "" {
			msgs, remedies = append(msgs, p[0]), append(remedies, p[1])
		}
	}
	r.st.Error, r.st.Remedy = strings.Join(msgs, "; "), strings.Join(remedies, "; ")
	switch {
	case r.ps.unhealthy:
		r.st.LastError = "the stream reconnects after errors and applies nothing; last error: " + r.in.Stream.Error
		r.st.NextTryAt = nil
		r.setStage(ctx, contract.StageRetrying)
	case len(msgs) > 0:
		r.clearStreamError()
		r.setStage(ctx, contract.StageAttention)
	default:
		r.clearStreamError()
		r.setStage(ctx, contract.StageStreaming)
	}
}

func pair(a, b string) [2]string { return [2]string{a, b} }

// clearStreamError forgets an unhealthy report's error once the stream is
// healthy, unless failed attempts are being counted.
func (r *replication) clearStreamError() {
	if r.in.Attempt == 0 {
		r.st.LastError = ""
	}
}

// divergence is the status error and remedy of a standing divergence,
// empty without one.
func (r *replication) divergence() (msg, remedy string) {
	if !r.diverged() {
		return "", ""
	}
	v := r.in.Verify
	names := v.Different
	more := ""
	if len(names) > maxNamedTables {
		more = fmt.Sprintf(" and %d more tables", len(names)-maxNamedTables)
		names = names[:maxNamedTables]
	}
	msg = fmt.Sprintf("destination differs from source in %s%s at LSN %s", strings.Join(names, ", "), more, v.LSN)
	remedy = fmt.Sprintf("run `ardent verify %s` to see the key ranges and example keys that differ; to repair, `ardent resync %s --table TABLE` "+
		"copies a table again while the others stream. The stream keeps running; a verification that finds these tables equal clears this",
		r.in.Name, r.in.Name)
	return msg, remedy
}

// status is the answer to the status query.
func (r *replication) status() contract.Status {
	st := r.st
	if r.in.Verify != nil || r.in.NextVerifyAt != nil || r.vs.running {
		var v contract.VerifySummary
		if r.in.Verify != nil {
			v = *r.in.Verify
		}
		v.RunningSince, v.NextAt = r.vs.since, r.in.NextVerifyAt
		st.Verify = &v
	}
	st.Diverged = r.in.Error == "" && st.Stage == contract.StageAttention && r.diverged()
	if r.in.Tables != nil {
		t := *r.in.Tables
		t.Queued = slices.Clone(r.in.Backfills)
		t.Attention = r.tablesAttention()
		st.Tables = &t
	}
	if st.Stage == contract.StagePaused {
		since := st.UpdatedAt
		st.PausedSince = &since
	}
	if r.in.Stream != nil {
		h := *r.in.Stream
		h.Running = r.vs.streaming
		st.Stream = &h
	}
	if r.in.Drift != nil || r.in.NextDriftAt != nil {
		var d contract.DriftSummary
		if r.in.Drift != nil {
			d = *r.in.Drift
		}
		d.NextAt = r.in.NextDriftAt
		st.Drift = &d
	}
	return st
}

// A verification reads every table twice: allow for large databases. It is
// retried a little for transient errors; the activity heartbeats while it
// runs.
func withVerifyOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 24 * time.Hour,
		HeartbeatTimeout:    heartbeatTimeout,
		WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			MaximumAttempts: 3, NonRetryableErrorTypes: slices.Concat(permanent, []string{contract.ErrTypeNoFreeSlot, contract.ErrTypeApplyNotReached})},
	})
}
