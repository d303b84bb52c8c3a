package main

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
	"github.com/ardent-cdc/ardent/worker/codec"
	"github.com/ardent-cdc/ardent/workflows"
)

// TestDropAfterCancel: a replication workflow cancelled with `temporal
// workflow cancel` ends in stage cancelled with the slot kept, `ardent
// status` says so (exit 1) and names the drop, and `ardent drop` then
// drops the connector although no workflow of it runs. The workflows are
// the real ones; the activities stand in.
func TestDropAfterCancel(t *testing.T) {
	srv := temporaltest.Start(t)
	key, err := secrets.GenerateKey()
	require.NoError(t, err)
	kr, err := secrets.NewKeyring(key)
	require.NoError(t, err)
	const queue = "cli-drop"
	t.Setenv("ARDENT_TEMPORAL_ADDRESS", srv.Address)
	t.Setenv("ARDENT_TEMPORAL_NAMESPACE", srv.Namespace)
	t.Setenv("ARDENT_TASK_QUEUE", queue)
	t.Setenv("ARDENT_MASTER_KEY", secrets.EncodeKey(key))
	t.Setenv("ARDENT_MASTER_KEY_FILE", "")

	tc, err := client.Dial(codec.ClientOptions(kr, client.Options{HostPort: srv.Address, Namespace: srv.Namespace}))
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	var mu sync.Mutex
	var dropped []string
	w := worker.New(tc, queue, worker.Options{MaxHeartbeatThrottleInterval: 50 * time.Millisecond, DefaultHeartbeatThrottleInterval: 50 * time.Millisecond})
	w.RegisterWorkflowWithOptions(workflows.ReplicationWorkflow, workflow.RegisterOptions{Name: contract.WorkflowReplication})
	w.RegisterActivityWithOptions(func(ctx context.Context, in contract.ReplicateInput) (*contract.ReplicateResult, error) {
		for ctx.Err() == nil {
			activity.RecordHeartbeat(ctx)
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
		return nil, ctx.Err()
	}, activity.RegisterOptions{Name: contract.ActivityReplicate})
	w.RegisterActivityWithOptions(func(_ context.Context, in contract.DropConnectorInput) (*contract.DropConnectorResult, error) {
		mu.Lock()
		defer mu.Unlock()
		dropped = append(dropped, in.Name)
		return &contract.DropConnectorResult{SlotDropped: true, BookkeepingDropped: true, Verified: true}, nil
	}, activity.RegisterOptions{Name: contract.ActivityDropConnector})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)

	ctx := context.Background()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: contract.ReplicationID("gone"), TaskQueue: queue}, contract.WorkflowReplication,
		contract.ReplicationInput{Name: "gone", SourceDisplay: "db:5432/app", Snapshot: &contract.SnapshotResult{ConsistentLSN: "0/1"}, VerifyInterval: -1})
	require.NoError(t, err)
	status := func() (contract.Status, int) {
		out, stderr, code := runSourceCLI(t, "", "status", "gone", "--format", "json")
		var st contract.Status
		if code == 0 || code == 1 {
			require.NoError(t, json.Unmarshal([]byte(out), &st), out+stderr)
		}
		return st, code
	}
	require.Eventually(t, func() bool { st, _ := status(); return st.Stage == contract.StageStreaming }, 30*time.Second, 200*time.Millisecond)

	require.NoError(t, tc.CancelWorkflow(ctx, run.GetID(), ""))
	require.Error(t, run.Get(ctx, nil))
	st, code := status()
	assert.Equal(t, 1, code, "a cancelled connector waits for the operator")
	assert.Equal(t, contract.StageCancelled, st.Stage)
	assert.Contains(t, st.Error, "slot was kept")
	assert.Contains(t, st.Remedy, "`ardent drop gone`")
	mu.Lock()
	assert.Empty(t, dropped, "a cancel keeps the slot")
	mu.Unlock()

	out, stderr, code := runSourceCLI(t, "", "pause", "gone")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, stderr, "nothing to pause")

	out, stderr, code = runSourceCLI(t, "", "drop", "gone", "--yes")
	require.Equal(t, 0, code, out+stderr)
	assert.Contains(t, out, "replication-gone ended (canceled) without dropping the connector")
	assert.Contains(t, out, "dropped gone")
	mu.Lock()
	assert.Equal(t, []string{"gone"}, dropped)
	mu.Unlock()
	st, code = status()
	assert.Equal(t, 0, code)
	assert.Equal(t, contract.StageDropped, st.Stage)

	out, stderr, code = runSourceCLI(t, "", "drop", "gone", "--yes")
	assert.Equal(t, 1, code, "a dropped connector is not dropped again: %s", out)
	assert.Contains(t, stderr, "nothing to drop")
}
