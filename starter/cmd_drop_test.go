package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
	"github.com/ardent-cdc/ardent/worker/codec"
	"github.com/ardent-cdc/ardent/workflows"
)

// dropWorld is a dev server and a worker running the real workflows with
// stand-in activities: Replicate runs until cancelled, DropConnector
// reports the slot and the bookkeeping schema removed.
func dropWorld(t *testing.T) client.Client {
	t.Helper()
	srv := temporaltest.Start(t)
	key, err := secrets.GenerateKey()
	require.NoError(t, err)
	kr, err := secrets.NewKeyring(key)
	require.NoError(t, err)
	const queue = "cli-drop-wait"
	t.Setenv("ARDENT_TEMPORAL_ADDRESS", srv.Address)
	t.Setenv("ARDENT_TEMPORAL_NAMESPACE", srv.Namespace)
	t.Setenv("ARDENT_TASK_QUEUE", queue)
	t.Setenv("ARDENT_MASTER_KEY", secrets.EncodeKey(key))
	t.Setenv("ARDENT_MASTER_KEY_FILE", "")
	tc, err := client.Dial(codec.ClientOptions(kr, client.Options{HostPort: srv.Address, Namespace: srv.Namespace}))
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	w := worker.New(tc, queue, worker.Options{MaxHeartbeatThrottleInterval: 50 * time.Millisecond, DefaultHeartbeatThrottleInterval: 50 * time.Millisecond})
	w.RegisterWorkflowWithOptions(workflows.ReplicationWorkflow, workflow.RegisterOptions{Name: contract.WorkflowReplication})
	w.RegisterActivityWithOptions(func(ctx context.Context, _ contract.ReplicateInput) (*contract.ReplicateResult, error) {
		for ctx.Err() == nil {
			activity.RecordHeartbeat(ctx)
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
		return nil, ctx.Err()
	}, activity.RegisterOptions{Name: contract.ActivityReplicate})
	w.RegisterActivityWithOptions(func(context.Context, contract.DropConnectorInput) (*contract.DropConnectorResult, error) {
		return &contract.DropConnectorResult{SlotDropped: true, BookkeepingDropped: true, Verified: true, CatalogDropped: true}, nil
	}, activity.RegisterOptions{Name: contract.ActivityDropConnector})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return tc
}

func startReplication(t *testing.T, tc client.Client, name string) client.WorkflowRun {
	t.Helper()
	run, err := tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{ID: contract.ReplicationID(name), TaskQueue: "cli-drop-wait"},
		contract.WorkflowReplication, contract.ReplicationInput{Name: name, SourceDisplay: "db:5432/app",
			Snapshot: &contract.SnapshotResult{ConsistentLSN: "0/1"}, VerifyInterval: -1})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		out, _, _ := runSourceCLI(t, "", "status", name, "--format", "json")
		return jsonStage(out) == contract.StageStreaming
	}, 30*time.Second, 200*time.Millisecond)
	return run
}

// TestDropAsksWaitsAndReports: drop refuses to run unconfirmed off a
// terminal (exit 2), asks on one (a wrong name drops nothing), and waits
// for the drop, reporting what was removed.
func TestDropAsksWaitsAndReports(t *testing.T) {
	tc := dropWorld(t)
	startReplication(t, tc, "shop")

	out, stderr, code := runSourceCLI(t, "", "drop", "shop")
	assert.Equal(t, 2, code, out)
	assert.Contains(t, stderr, "--yes")

	old := interactive
	interactive = func(io.Reader, io.Writer) bool { return true }
	t.Cleanup(func() { interactive = old })
	out, stderr, code = runSourceCLI(t, "shops\n", "drop", "shop")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "Type the connector's name to confirm")
	assert.Contains(t, stderr, "not confirmed")
	out, _, _ = runSourceCLI(t, "", "status", "shop", "--format", "json")
	assert.Equal(t, contract.StageStreaming, jsonStage(out), "an unconfirmed drop dropped")

	out, stderr, code = runSourceCLI(t, "shop\n", "drop", "shop")
	require.Equal(t, 0, code, out+stderr)
	assert.Contains(t, out, "replication slot ardent_shop: removed")
	assert.Contains(t, out, "bookkeeping schema _ardent: removed")
	assert.Contains(t, out, "catalog record: marked dropped")
	out, _, _ = runSourceCLI(t, "", "status", "shop", "--format", "json")
	assert.Equal(t, contract.StageDropped, jsonStage(out), "drop returned before the drop finished")
}

// TestTerminatedConnector: after `temporal workflow terminate` nothing ran
// the drop: status and list say so (exit 1) and name --force, plain drop
// refuses and names it, and all of that without the master key too.
func TestTerminatedConnector(t *testing.T) {
	tc := dropWorld(t)
	startReplication(t, tc, "gone")
	require.NoError(t, tc.TerminateWorkflow(context.Background(), contract.ReplicationID("gone"), "", "by hand"))

	out, _, code := runSourceCLI(t, "", "status", "gone")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "terminated: slot still on the source, run `ardent drop gone --force`")
	out, _, code = runSourceCLI(t, "", "drop", "gone", "--yes")
	assert.Equal(t, 1, code, out)
	_, stderr, _ := runSourceCLI(t, "", "drop", "gone", "--yes")
	assert.Contains(t, stderr, "was terminated")
	assert.Contains(t, stderr, "`ardent drop gone --force`")

	t.Setenv("ARDENT_MASTER_KEY", "")
	require.Eventually(t, func() bool {
		out, _, code := runSourceCLI(t, "", "list")
		return code == 0 && containsAll(out, "gone", "terminated", "`ardent drop gone --force`")
	}, 30*time.Second, 500*time.Millisecond, "list (visibility is eventually consistent)")
	out, stderr, code = runSourceCLI(t, "", "status", "gone", "--format", "json")
	assert.Equal(t, 1, code, out+stderr)
	assert.Equal(t, contract.StageTerminated, jsonStage(out))
}

// TestStatusWithoutKey: list and status need Temporal, not the master key:
// without it status shows the stage and the source.
func TestStatusWithoutKey(t *testing.T) {
	tc := dropWorld(t)
	startReplication(t, tc, "plain")
	t.Setenv("ARDENT_MASTER_KEY", "")
	out, stderr, code := runSourceCLI(t, "", "status", "plain", "--format", "json")
	require.Equal(t, 0, code, out+stderr)
	assert.Equal(t, contract.StageStreaming, jsonStage(out))
	assert.Contains(t, out, "db:5432/app")
	assert.Contains(t, stderr, "no master key")
	require.Eventually(t, func() bool {
		out, _, code := runSourceCLI(t, "", "list")
		return code == 0 && containsAll(out, "plain", "streaming", "db:5432/app")
	}, 30*time.Second, 500*time.Millisecond)
}

// TestSpeaker: of a connector's replication and onboarding, the running
// one speaks, the replication when both run, else the one started last.
func TestSpeaker(t *testing.T) {
	at := func(min int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(2026, 1, 1, 0, min, 0, 0, time.UTC))
	}
	exec := func(typ string, s enums.WorkflowExecutionStatus, start int) *workflowpb.WorkflowExecutionInfo {
		return &workflowpb.WorkflowExecutionInfo{Type: &commonpb.WorkflowType{Name: typ}, Status: s, StartTime: at(start)}
	}
	const (
		running   = enums.WORKFLOW_EXECUTION_STATUS_RUNNING
		completed = enums.WORKFLOW_EXECUTION_STATUS_COMPLETED
	)
	rep, onb := contract.WorkflowReplication, contract.WorkflowOnboarding
	for _, tc := range []struct {
		name  string
		infos []*workflowpb.WorkflowExecutionInfo
		want  string
	}{
		{"streaming after a hand-off", []*workflowpb.WorkflowExecutionInfo{exec(rep, running, 5), exec(onb, completed, 1)}, rep},
		{"hand-off under way", []*workflowpb.WorkflowExecutionInfo{exec(rep, running, 5), exec(onb, running, 1)}, rep},
		{"onboarding again after a drop", []*workflowpb.WorkflowExecutionInfo{exec(rep, completed, 5), exec(onb, running, 9)}, onb},
		{"ended again after a drop", []*workflowpb.WorkflowExecutionInfo{exec(rep, completed, 5), exec(onb, completed, 9)}, onb},
		{"dropped after the hand-off", []*workflowpb.WorkflowExecutionInfo{exec(rep, completed, 5), exec(onb, completed, 1)}, rep},
		{"only an onboarding", []*workflowpb.WorkflowExecutionInfo{exec(onb, running, 1)}, onb},
	} {
		assert.Equal(t, tc.want, speaker(tc.infos).GetType().GetName(), tc.name)
	}
}

func jsonStage(out string) contract.Stage {
	var st contract.Status
	if json.Unmarshal([]byte(out), &st) != nil {
		return ""
	}
	return st.Stage
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
