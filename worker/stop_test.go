package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/ardent-cdc/ardent/contract"
)

// TestStopEndsActivitiesRetryably: an activity that runs until cancelled
// (Replicate) ends as soon as its worker stops, with a retryable, benign
// error that keeps the durable position it reported.
func TestStopEndsActivitiesRetryably(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&stopPromptly{}}})
	stop := make(chan struct{})
	env.SetWorkerStopChannel(stop)
	env.RegisterActivityWithOptions(func(ctx context.Context) error {
		<-ctx.Done()
		return temporal.NewCanceledError(contract.FailureDetails{ConfirmedLSN: "0/16B3748"})
	}, activity.RegisterOptions{Name: "stream"})

	done := make(chan error, 1)
	go func() {
		_, err := env.ExecuteActivity("stream")
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	close(stop)
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the activity still runs 5 s after its worker stopped")
	}
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	assert.Equal(t, contract.ErrTypeTransient, app.Type())
	assert.False(t, app.NonRetryable())
	assert.Equal(t, temporal.ApplicationErrorCategoryBenign, app.Category(), "the SDK logs a benign error at debug")
	var d contract.FailureDetails
	require.NoError(t, app.Details(&d))
	assert.Equal(t, "0/16B3748", d.ConfirmedLSN)
}

// TestStopKeepsAHandBack: an activity that hands back with a result when
// its worker stops (Replicate) returns that result.
func TestStopKeepsAHandBack(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&stopPromptly{}}})
	stop := make(chan struct{})
	env.SetWorkerStopChannel(stop)
	env.RegisterActivityWithOptions(func(ctx context.Context) (*contract.ReplicateResult, error) {
		<-ctx.Done()
		return &contract.ReplicateResult{ConfirmedLSN: "0/16B3748"}, nil
	}, activity.RegisterOptions{Name: "stream"})
	time.AfterFunc(100*time.Millisecond, func() { close(stop) })
	v, err := env.ExecuteActivity("stream")
	require.NoError(t, err)
	var res contract.ReplicateResult
	require.NoError(t, v.Get(&res))
	assert.Equal(t, "0/16B3748", res.ConfirmedLSN)
}

// TestStopLeavesOtherEndsAlone: without a stop, results and errors pass
// unchanged.
func TestStopLeavesOtherEndsAlone(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&stopPromptly{}}})
	env.RegisterActivityWithOptions(func(context.Context) (string, error) { return "ok", nil }, activity.RegisterOptions{Name: "fine"})
	env.RegisterActivityWithOptions(func(context.Context) error {
		return temporal.NewNonRetryableApplicationError("bad", contract.ErrTypePermanent, nil)
	}, activity.RegisterOptions{Name: "bad"})
	v, err := env.ExecuteActivity("fine")
	require.NoError(t, err)
	var got string
	require.NoError(t, v.Get(&got))
	assert.Equal(t, "ok", got)
	_, err = env.ExecuteActivity("bad")
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	assert.Equal(t, contract.ErrTypePermanent, app.Type())
}

// TestQuietCancels: the SDK's ERROR for an activity cancelled on request
// (pause, drop) is logged at INFO; a real activity error stays ERROR.
func TestQuietCancels(t *testing.T) {
	var buf bytes.Buffer
	l := quietCancels(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	l = tlog.With(l, "Namespace", "default")

	l.Error("Activity error.", "ActivityType", "Replicate", "Error", temporal.NewCanceledError())
	assert.Contains(t, buf.String(), "level=INFO")
	assert.Contains(t, buf.String(), "Activity cancelled.")
	assert.NotContains(t, buf.String(), "level=ERROR")

	buf.Reset()
	l.Error("Activity error.", "ActivityType", "Replicate", "Error", errors.New("connection refused"))
	assert.Contains(t, buf.String(), "level=ERROR")
}
