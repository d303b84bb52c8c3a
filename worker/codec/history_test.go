package codec

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

const plainSignalMarker = "plain-json-signal-7c1e"

func leakyActivity(_ context.Context, in onboardInput) (string, error) {
	// A driver error that echoes the connection string, as some do.
	return "", temporal.NewNonRetryableApplicationError("connect "+in.SourceURL+": refused", "ConnectFailed", nil)
}

func leakyWorkflow(ctx workflow.Context, in onboardInput) (string, error) {
	var reason string
	workflow.GetSignalChannel(ctx, "sql-applied").Receive(ctx, &reason)
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	err := workflow.ExecuteActivity(ctx, leakyActivity, in).Get(ctx, nil)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return "", err
	}
	// The result and the failure both carry the secret back.
	return "after " + reason + ": " + appErr.Error() + " for " + in.SourceURL, nil
}

// TestHistoryOnServerIsEncrypted runs a workflow through a real dev server
// with the codec, then reads the history raw (no codec) as anything with
// access to the server would, and finds the password nowhere in it.
func TestHistoryOnServerIsEncrypted(t *testing.T) {
	srv := temporaltest.Start(t)
	kr := keyring(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	c, err := client.Dial(ClientOptions(kr, client.Options{HostPort: srv.Address, Namespace: srv.Namespace}))
	require.NoError(t, err)
	defer c.Close()
	raw, err := client.Dial(client.Options{HostPort: srv.Address, Namespace: srv.Namespace})
	require.NoError(t, err)
	defer raw.Close()

	queue := "codec-" + t.Name()
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(leakyWorkflow)
	w.RegisterActivity(leakyActivity)
	require.NoError(t, w.Start())
	defer w.Stop()

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "codec-history", TaskQueue: queue}, leakyWorkflow, input())
	require.NoError(t, err)
	// Sent without the codec, as `temporal workflow signal` or the Web UI would.
	require.NoError(t, raw.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), "sql-applied", plainSignalMarker))

	var result string
	require.NoError(t, run.Get(ctx, &result))
	assert.Contains(t, result, password, "the codec client decodes the result")
	assert.Contains(t, result, plainSignalMarker, "the plain JSON signal was accepted")

	var history []byte
	it := raw.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, 0)
	events := 0
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(t, err)
		// Binary form: payload bytes appear as stored, not base64'd.
		b, err := proto.Marshal(ev)
		require.NoError(t, err)
		history = append(history, b...)
		j, err := protojson.Marshal(ev)
		require.NoError(t, err)
		history = append(history, j...)
		events++
	}
	require.Greater(t, events, 5)
	assert.NotContains(t, string(history), password)
	assert.NotContains(t, string(history), "db:5432")
	assert.Contains(t, string(history), "ConnectFailed", "failure types stay readable")
	// Control: the scan sees plaintext where there is some (the signal sent
	// without the codec is stored as sent).
	assert.Contains(t, string(history), plainSignalMarker)

	// Without the codec the result does not decode.
	var rawResult string
	err = raw.GetWorkflow(ctx, run.GetID(), run.GetRunID()).Get(ctx, &rawResult)
	require.Error(t, err)
	assert.NotContains(t, rawResult, password)
}
