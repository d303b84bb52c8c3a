package main

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/contract"
)

// A worker told to stop (SIGTERM) ends its running activities at once
// rather than waiting for them: the long ones (Replicate, Snapshot,
// Verify, Backfill) would otherwise run until the SDK's stop timeout
// cancels them, and then fail as "cancelled", which the server refuses for
// a cancellation it did not request. Each attempt ends with a retryable
// error instead, so the next one starts (on another worker, or this one
// restarted) from the durable checkpoint without waiting for a heartbeat
// timeout. Replicate hands back with its result instead, as at the end of
// a run, so the stream goes on at once without counting a failure. Nothing
// is lost: every activity resumes from what its destination committed.

// workerStoppingMessage is the error an activity ends with when its worker
// stops.
const workerStoppingMessage = "the worker is shutting down: this attempt ends here and the next one resumes from the durable position"

// stopPromptly is the worker interceptor that does it.
type stopPromptly struct {
	interceptor.WorkerInterceptorBase
}

func (*stopPromptly) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	a := &stopActivity{}
	a.Next = next
	return a
}

type stopActivity struct {
	interceptor.ActivityInboundInterceptorBase
}

// ExecuteActivity runs the activity with a context cancelled when the
// worker stops, and turns what it returns then into workerStopping.
func (a *stopActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	stop := activity.GetWorkerStopChannel(ctx)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	res, err := a.Next.ExecuteActivity(ctx, in)
	select {
	case <-stop:
		if err != nil {
			return nil, workerStopping(err)
		}
	default:
	}
	return res, err // Replicate hands back with a result when its worker stops
}

// workerStopping is the retryable, benign (logged at debug by the SDK, not
// counted as a failure in its metrics) error an activity cut short by its
// worker's stop ends with. It keeps the durable position err carried
// (FailureDetails), so the replication workflow sees the attempt's
// progress.
func workerStopping(err error) error {
	var details []any
	var d contract.FailureDetails
	var canceled *temporal.CanceledError
	var app *temporal.ApplicationError
	switch {
	case errors.As(err, &canceled) && canceled.HasDetails() && canceled.Details(&d) == nil:
		details = []any{d}
	case errors.As(err, &app) && app.HasDetails() && app.Details(&d) == nil:
		details = []any{d}
	}
	return temporal.NewApplicationErrorWithOptions(workerStoppingMessage, contract.ErrTypeTransient,
		temporal.ApplicationErrorOptions{Category: temporal.ApplicationErrorCategoryBenign, Details: details})
}

// quietCancels is the worker's Temporal logger. The SDK logs every
// activity that returns an error at ERROR, a cancellation the workflow
// asked for (pause, drop, a verification stopped) included: that one is an
// expected end, logged at INFO here. Everything else passes unchanged.
func quietCancels(l tlog.Logger) tlog.Logger { return quietLogger{l} }

type quietLogger struct{ tlog.Logger }

func (q quietLogger) Error(msg string, keyvals ...any) {
	if cancelled(keyvals) {
		q.Logger.Info("Activity cancelled.", keyvals...)
		return
	}
	q.Logger.Error(msg, keyvals...)
}

func (q quietLogger) With(keyvals ...any) tlog.Logger {
	return quietLogger{tlog.With(q.Logger, keyvals...)}
}

func (q quietLogger) WithCallerSkip(depth int) tlog.Logger {
	return quietLogger{tlog.Skip(q.Logger, depth)}
}

// cancelled: an entry's error value is a cancellation.
func cancelled(keyvals []any) bool {
	for _, v := range keyvals {
		if err, ok := v.(error); ok {
			var c *temporal.CanceledError
			if errors.As(err, &c) || errors.Is(err, context.Canceled) {
				return true
			}
		}
	}
	return false
}
