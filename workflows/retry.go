package workflows

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
)

// The replication workflow retries Replicate itself, so that a failing
// connector says so (stage retrying, attempt, last error, next try) and
// stops pinning WAL forever (stage failed after a bound):
//
//   - A retryable failure (a Transient or Stalled activity error, a timeout
//     such as a worker killed mid-stream) waits contract.DefaultRetryInitial doubling
//     to contract.DefaultRetryMax, in stage retrying, then tries again. resume skips
//     the wait; pause and drop interrupt it.
//   - in.Attempt counts failures in a row WITHOUT PROGRESS. An attempt made
//     progress when the durable LSN it reports (in the error's
//     FailureDetails, or in the last heartbeat of a timed-out attempt) is
//     beyond the furthest one seen before (in.ConfirmedLSN, which starts at
//     the snapshot's consistent point). Progress resets the count to zero
//     before this failure is counted. Each attempt resumes from the
//     destination's checkpoint, so an error that recurs on the same change
//     never makes progress and reaches the bound, while workers killed
//     under load (each attempt applied something) never do.
//   - A heartbeat timeout that follows progress (the worker running the
//     attempt died: killed, its machine gone) retries at once, from
//     version 1 of changeResumeAtOnce: the timeout already waited, and a
//     replacement worker should stream within seconds of the kill (issue
//     19). Repeated timeouts without progress back off as above.
//   - After in.MaxAttempts (contract.DefaultMaxAttempts) failures in a row without
//     progress the connector parks in stage failed, with the last error and
//     a remedy; resume starts a fresh count.
//   - An attempt after failures runs in stage retrying until it has lasted
//     retryProbation without failing, then the stage is streaming again
//     (the count is kept until an attempt ends with progress).
//
// Failures that cannot be retried park at once: attention for a schema
// mismatch or a destination behind the slot, failed for the rest.

// retryProbation exceeds the Replicate activity's stall timeout, so an
// attempt that cannot apply anything fails before it is called streaming.
const retryProbation = 2 * time.Minute

// retry counts a retryable failure and waits before the next attempt, or
// records the failure that ends the retries.
func (r *replication) retry(ctx workflow.Context, err error) {
	if r.progressed(err) {
		r.in.Attempt = 0
	}
	r.in.Attempt++
	r.in.LastError = errorMessage(err)
	r.st.Attempt, r.st.MaxAttempts, r.st.LastError = r.in.Attempt, r.in.MaxAttempts, r.in.LastError
	workflow.GetLogger(ctx).Warn("replication attempt failed", "attempt", r.in.Attempt, "max_attempts", r.in.MaxAttempts, "error", err)
	if r.in.Attempt >= r.in.MaxAttempts {
		r.in.Error = fmt.Sprintf("replication failed %d times in a row without progress; last error: %s", r.in.Attempt, r.in.LastError)
		r.st.Error = r.in.Error
		r.st.Remedy = "fix the cause (the worker's log has each attempt's error), then `ardent resume " + r.in.Name +
			"` to retry, or `ardent drop " + r.in.Name + "`"
		r.st.NextTryAt = nil
		return
	}
	wait := retryDelay(r.in.Attempt)
	if r.in.Attempt == 1 && workerLost(err) && workflow.GetVersion(ctx, changeResumeAtOnce, workflow.DefaultVersion, 1) >= 1 {
		wait = 0
	}
	next := workflow.Now(ctx).Add(wait)
	r.st.NextTryAt = &next
	r.setStage(ctx, contract.StageRetrying)
	if wait > 0 {
		r.sleep(ctx, wait)
	}
}

// changeResumeAtOnce is the GetVersion change id of retrying at once after
// a heartbeat timeout that follows progress: version 1 starts no timer
// there. Histories from before it replay with the timer.
const changeResumeAtOnce = "resume-at-once"

// workerLost: the attempt stopped heartbeating, so the worker running it
// is gone (a live worker's attempt that fails says why).
func workerLost(err error) bool {
	var timeout *temporal.TimeoutError
	return errors.As(err, &timeout) && timeout.TimeoutType() == enumspb.TIMEOUT_TYPE_HEARTBEAT
}

// retryDelay is the wait after the attempt-th failure in a row.
func retryDelay(attempt int) time.Duration {
	d := contract.DefaultRetryInitial
	for i := 1; i < attempt && d < contract.DefaultRetryMax; i++ {
		d *= 2
	}
	return min(d, contract.DefaultRetryMax)
}

// sleep waits d, or less if a control signal or the cancellation arrives:
// resume means "try now", pause, drop and cancellation are handled by the
// main loop.
func (r *replication) sleep(ctx workflow.Context, d time.Duration) {
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimer(tctx, d)
	fired := false
	r.ctl.resumed = false
	for !fired && !r.ctl.resumed && !r.ctl.paused && !r.ctl.dropRequested && !r.cx.requested(ctx) {
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(timer, func(workflow.Future) { fired = true })
		r.ctl.addTo(ctx, sel)
		sel.Select(ctx)
	}
}

// retryable: the activity said so, or it timed out (worker gone). Other
// failures (panics, server errors) are retried too, within the bound;
// a cancellation nobody asked for is not.
func retryable(err error) bool {
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		return true
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return !app.NonRetryable()
	}
	var canceled *temporal.CanceledError
	return !errors.As(err, &canceled)
}

// progressed reports whether the failed attempt got further than any
// before it, and remembers how far it got.
func (r *replication) progressed(err error) bool {
	before := r.baseLSN()
	reached := reportedLSN(err)
	r.noteLSN(reached)
	return before != 0 && parseLSN(reached) > before
}

func (r *replication) baseLSN() uint64 {
	if n := parseLSN(r.in.ConfirmedLSN); n != 0 {
		return n
	}
	if r.in.Snapshot != nil {
		return parseLSN(r.in.Snapshot.ConsistentLSN)
	}
	return 0
}

// noteLSN remembers lsn if it is the furthest seen.
func (r *replication) noteLSN(lsn string) {
	if n := parseLSN(lsn); n != 0 && n > parseLSN(r.in.ConfirmedLSN) {
		r.in.ConfirmedLSN = lsn
	}
}

// reportedLSN is the durable position a failed Replicate attempt reached:
// from its error's details, or from the last heartbeat of an attempt that
// timed out.
func reportedLSN(err error) string {
	var timeout *temporal.TimeoutError
	if errors.As(err, &timeout) {
		var p contract.ReplicationProgress
		if timeout.HasLastHeartbeatDetails() && timeout.LastHeartbeatDetails(&p) == nil {
			return p.ConfirmedLSN
		}
		return ""
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.HasDetails() {
		var d contract.FailureDetails
		if app.Details(&d) == nil {
			return d.ConfirmedLSN
		}
	}
	return ""
}

// parseLSN reads PostgreSQL's X/Y form; 0 when malformed or empty.
func parseLSN(s string) uint64 {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0
	}
	return h<<32 | l
}

// recovered: an attempt after failures has run retryProbation without
// failing. It streams (attention while a divergence stands); the count
// stays until an attempt ends with progress.
func (r *replication) recovered(ctx workflow.Context) {
	r.st.Attempt, r.st.MaxAttempts, r.st.LastError, r.st.NextTryAt = 0, 0, "", nil
	r.setStreamStage(ctx)
}
