package workflows

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// historyRelease prefixes the names of the histories recorded now. Recorded
// histories come from the released version: when a release changes the
// workflows, bump it and record again, keeping the files of the earlier
// releases (v0: before the cancellation branch, changeCancel; v1: before
// the live table set, changeTables), which the
// replay test keeps replaying as workflows still running in production.
const historyRelease = "v2"

// TestRecordHistories records the histories TestReplayRecordedHistories
// replays, by running the workflows on a real dev server with stand-in
// activities. It runs only when ARDENT_RECORD_HISTORIES=1 (see
// historyRelease).
func TestRecordHistories(t *testing.T) {
	c := recorder(t)
	const queue = "record"
	preflights := 0
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(OnboardingWorkflow, workflow.RegisterOptions{Name: contract.WorkflowOnboarding})
	w.RegisterWorkflowWithOptions(ReplicationWorkflow, workflow.RegisterOptions{Name: contract.WorkflowReplication})
	w.RegisterActivityWithOptions(func(context.Context, contract.PreflightInput) (*contract.PreflightReport, error) {
		preflights++
		if preflights == 1 {
			return failed, nil
		}
		return passed, nil
	}, activity.RegisterOptions{Name: contract.ActivityPreflight})
	w.RegisterActivityWithOptions(func(context.Context, contract.CreateConnectorInput) (*contract.CreateConnectorResult, error) {
		return &contract.CreateConnectorResult{SourceDisplay: "db:5432/app", Tables: 2, Slot: "ardent_rec"}, nil
	}, activity.RegisterOptions{Name: contract.ActivityCreateConnector})
	w.RegisterActivityWithOptions(func(context.Context, contract.SnapshotInput) (*contract.SnapshotResult, error) {
		return snapDone, nil
	}, activity.RegisterOptions{Name: contract.ActivitySnapshot})
	w.RegisterActivityWithOptions(streamOneRun, activity.RegisterOptions{Name: contract.ActivityReplicate})
	w.RegisterActivityWithOptions(func(context.Context, contract.DropConnectorInput) (*contract.DropConnectorResult, error) {
		return &contract.DropConnectorResult{SlotDropped: true, Verified: true}, nil
	}, activity.RegisterOptions{Name: contract.ActivityDropConnector})
	require.NoError(t, w.Start())
	defer w.Stop()
	ctx := context.Background()

	// Onboarding: fail, signal, pass, create, hand off.
	in := contract.OnboardingInput{Name: "rec", SourceURL: "postgres://u@db/app", DestinationURL: "postgres://d/dst",
		SourceDisplay: "db:5432/app", BackoffInitial: time.Hour, StreamRun: 2 * time.Second}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: contract.OnboardingID("rec"), TaskQueue: queue}, contract.WorkflowOnboarding, in)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		v, err := c.QueryWorkflow(ctx, run.GetID(), "", contract.QueryStatus.Name)
		var st contract.Status
		return err == nil && v.Get(&st) == nil && st.Stage == contract.StageWaitingForSQL
	}, 30*time.Second, 100*time.Millisecond)
	require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), "", contract.SignalSQLApplied.Name, contract.SQLAppliedSignal{Note: "recorded"}))
	require.NoError(t, run.Get(ctx, nil))
	save(t, c, run.GetID(), "", "onboarding-fail-signal-pass.json")

	// Replication: snapshot, one streaming run, continue-as-new; then a
	// pause and a drop in the next run.
	rep := c.GetWorkflow(ctx, contract.ReplicationID("rec"), "")
	first := rep.GetRunID()
	require.Eventually(t, func() bool {
		d, err := c.DescribeWorkflowExecution(ctx, contract.ReplicationID("rec"), "")
		return err == nil && d.GetWorkflowExecutionInfo().GetExecution().GetRunId() != first
	}, 30*time.Second, 100*time.Millisecond)
	save(t, c, contract.ReplicationID("rec"), first, "replication-snapshot-stream-continue.json")
	require.NoError(t, c.SignalWorkflow(ctx, contract.ReplicationID("rec"), "", contract.SignalPause.Name, nil))
	time.Sleep(500 * time.Millisecond) // let the pause land before the drop: a distinct history
	require.NoError(t, c.SignalWorkflow(ctx, contract.ReplicationID("rec"), "", contract.SignalDrop.Name, contract.ControlSignal{Reason: "recorded"}))
	require.NoError(t, c.GetWorkflow(ctx, contract.ReplicationID("rec"), "").Get(ctx, nil))
	save(t, c, contract.ReplicationID("rec"), "", "replication-pause-drop.json")
}

func save(t *testing.T, c client.Client, id, runID, name string) {
	t.Helper()
	iter := c.GetWorkflowHistory(context.Background(), id, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for iter.HasNext() {
		e, err := iter.Next()
		require.NoError(t, err)
		hist.Events = append(hist.Events, e)
	}
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(hist)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll("testdata", 0o755))
	require.NoError(t, os.WriteFile(filepath.Join("testdata", historyRelease+"-"+name), b, 0o644))
}

// TestRecordRetryHistory records replication-retry-attention-resume.json:
// a Replicate attempt fails (retryable), the retry hits a schema mismatch
// (attention), the operator resumes, a run completes and the workflow
// continues as new. Same switch as TestRecordHistories.
func TestRecordRetryHistory(t *testing.T) {
	c := recorder(t)
	const queue = "record-retry"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(ReplicationWorkflow, workflow.RegisterOptions{Name: contract.WorkflowReplication})
	calls := 0
	w.RegisterActivityWithOptions(func(ctx context.Context, in contract.ReplicateInput) (*contract.ReplicateResult, error) {
		calls++
		switch calls {
		case 1:
			return nil, temporal.NewApplicationError("apply 3 changes to the destination: connection reset by peer",
				contract.ErrTypeTransient, contract.FailureDetails{ConfirmedLSN: snapDone.ConsistentLSN})
		case 2:
			return nil, mismatch
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(in.MaxDuration):
			return &contract.ReplicateResult{ConfirmedLSN: "0/3000000"}, nil
		}
	}, activity.RegisterOptions{Name: contract.ActivityReplicate})
	require.NoError(t, w.Start())
	defer w.Stop()
	ctx := context.Background()

	in := contract.ReplicationInput{Name: "retry", SourceDisplay: "db:5432/app", StreamRun: 2 * time.Second, Snapshot: snapDone}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: contract.ReplicationID("retry"), TaskQueue: queue}, contract.WorkflowReplication, in)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		v, err := c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), contract.QueryStatus.Name)
		var st contract.Status
		return err == nil && v.Get(&st) == nil && st.Stage == contract.StageAttention
	}, 30*time.Second, 100*time.Millisecond)
	require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), contract.SignalResume.Name, nil))
	require.Eventually(t, func() bool {
		d, err := c.DescribeWorkflowExecution(ctx, run.GetID(), "")
		return err == nil && d.GetWorkflowExecutionInfo().GetExecution().GetRunId() != run.GetRunID()
	}, 30*time.Second, 100*time.Millisecond)
	save(t, c, run.GetID(), run.GetRunID(), "replication-retry-attention-resume.json")
	require.NoError(t, c.TerminateWorkflow(ctx, run.GetID(), "", "recorded"))
}

// TestRecordVerifyHistory records replication-verify-divergence-equal.json:
// periodic verifications beside the stream (behind GetVersion(verify)), the
// first finds a table that differs (stage attention, the stream runs on),
// a verify update and the next periodic one find every table equal
// (streaming again), then the run ends and the workflow continues as new.
// Same switch as TestRecordHistories.
func TestRecordVerifyHistory(t *testing.T) {
	c := recorder(t)
	const queue = "record-verify"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(ReplicationWorkflow, workflow.RegisterOptions{Name: contract.WorkflowReplication})
	w.RegisterActivityWithOptions(streamOneRun, activity.RegisterOptions{Name: contract.ActivityReplicate})
	var calls atomic.Int32
	w.RegisterActivityWithOptions(func(ctx context.Context, in contract.VerifyInput) (*contract.VerifyReport, error) {
		r := &contract.VerifyReport{Connector: in.Name, LSN: "0/3000000", Equal: true,
			Tables: []contract.VerifyTable{{Table: "public.a", Equal: true, SourceRows: 3, DestinationRows: 3}}}
		if calls.Add(1) == 1 {
			r.Equal = false
			r.Tables = append(r.Tables, contract.VerifyTable{Table: "public.b", SourceRows: 3, DestinationRows: 2, Key: "id",
				Ranges: []contract.VerifyRange{{From: "1", To: "10", SourceRows: 3, DestinationRows: 2}}, Examples: []contract.VerifyDifference{{Key: "2", Kind: "missing"}}})
		}
		return r, nil
	}, activity.RegisterOptions{Name: contract.ActivityVerify})
	require.NoError(t, w.Start())
	defer w.Stop()
	ctx := context.Background()

	in := contract.ReplicationInput{Name: "verify", SourceDisplay: "db:5432/app", StreamRun: 8 * time.Second, Snapshot: snapDone,
		VerifyInterval: 2 * time.Second}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: contract.ReplicationID("verify"), TaskQueue: queue}, contract.WorkflowReplication, in)
	require.NoError(t, err)
	stage := func(want contract.Stage) func() bool {
		return func() bool {
			v, err := c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), contract.QueryStatus.Name)
			var st contract.Status
			return err == nil && v.Get(&st) == nil && st.Stage == want
		}
	}
	require.Eventually(t, stage(contract.StageAttention), 30*time.Second, 50*time.Millisecond)
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateName: contract.UpdateVerify.Name,
		Args: []any{contract.VerifyRequest{Tables: []string{"public.b"}}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	require.NoError(t, err)
	var rep contract.VerifyReport
	require.NoError(t, h.Get(ctx, &rep))
	require.True(t, rep.Equal)
	require.Eventually(t, stage(contract.StageStreaming), 30*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool {
		d, err := c.DescribeWorkflowExecution(ctx, run.GetID(), "")
		return err == nil && d.GetWorkflowExecutionInfo().GetExecution().GetRunId() != run.GetRunID()
	}, 60*time.Second, 100*time.Millisecond)
	save(t, c, run.GetID(), run.GetRunID(), "replication-verify-divergence-equal.json")
	require.NoError(t, c.TerminateWorkflow(ctx, run.GetID(), "", "recorded"))
}

// recorder skips unless ARDENT_RECORD_HISTORIES=1 and returns a client of a
// fresh dev server (started with extra flags, if any), closed when the test
// ends.
func recorder(t *testing.T, serverArgs ...string) client.Client {
	t.Helper()
	if os.Getenv("ARDENT_RECORD_HISTORIES") != "1" {
		t.Skip("set ARDENT_RECORD_HISTORIES=1 to re-record workflows/testdata")
	}
	srv := temporaltest.StartWith(t, temporaltest.Options{ExtraArgs: serverArgs})
	c, err := client.Dial(client.Options{HostPort: srv.Address, Namespace: srv.Namespace})
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return c
}

// heartbeatUntilCancelled stands in for a long activity: it heartbeats (so
// a cancellation reaches it) until cancelled or d has passed.
func heartbeatUntilCancelled(ctx context.Context, d time.Duration) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	end := time.After(d)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-end:
			return nil
		case <-tick.C:
			activity.RecordHeartbeat(ctx)
		}
	}
}

// TestRecordCancelHistories records the cancellation branch (changeCancel):
// onboarding-cancel-waiting.json, an onboarding cancelled while it waits
// for the SQL; replication-cancel-streaming-verifying.json, a replication
// cancelled while it streams and verifies (both activities cancelled and
// waited for, stage cancelled); and replication-drop-after-cancel.json, the
// replication workflow `ardent drop` starts for that connector afterwards.
// Same switch as TestRecordHistories.
func TestRecordCancelHistories(t *testing.T) {
	c := recorder(t)
	const queue = "record-cancel"
	// Cancellations reach activities through heartbeats: no throttling.
	w := worker.New(c, queue, worker.Options{MaxHeartbeatThrottleInterval: 50 * time.Millisecond,
		DefaultHeartbeatThrottleInterval: 50 * time.Millisecond})
	w.RegisterWorkflowWithOptions(OnboardingWorkflow, workflow.RegisterOptions{Name: contract.WorkflowOnboarding})
	w.RegisterWorkflowWithOptions(ReplicationWorkflow, workflow.RegisterOptions{Name: contract.WorkflowReplication})
	w.RegisterActivityWithOptions(func(context.Context, contract.PreflightInput) (*contract.PreflightReport, error) {
		return failed, nil
	}, activity.RegisterOptions{Name: contract.ActivityPreflight})
	w.RegisterActivityWithOptions(func(ctx context.Context, in contract.ReplicateInput) (*contract.ReplicateResult, error) {
		if err := heartbeatUntilCancelled(ctx, in.MaxDuration); err != nil {
			return nil, err
		}
		return &contract.ReplicateResult{ConfirmedLSN: "0/3000000"}, nil
	}, activity.RegisterOptions{Name: contract.ActivityReplicate})
	w.RegisterActivityWithOptions(func(ctx context.Context, in contract.VerifyInput) (*contract.VerifyReport, error) {
		if err := heartbeatUntilCancelled(ctx, time.Hour); err != nil {
			return nil, err
		}
		return &contract.VerifyReport{Connector: in.Name, Equal: true}, nil
	}, activity.RegisterOptions{Name: contract.ActivityVerify})
	w.RegisterActivityWithOptions(func(context.Context, contract.DropConnectorInput) (*contract.DropConnectorResult, error) {
		return &contract.DropConnectorResult{SlotDropped: true, BookkeepingDropped: true, Verified: true}, nil
	}, activity.RegisterOptions{Name: contract.ActivityDropConnector})
	require.NoError(t, w.Start())
	defer w.Stop()
	ctx := context.Background()
	stage := func(id string, want contract.Stage) func() bool {
		return func() bool {
			v, err := c.QueryWorkflow(ctx, id, "", contract.QueryStatus.Name)
			var st contract.Status
			return err == nil && v.Get(&st) == nil && st.Stage == want
		}
	}
	var canceled *temporal.CanceledError

	in := contract.OnboardingInput{Name: "cancel", SourceURL: "postgres://u@db/app", DestinationURL: "postgres://d/dst",
		SourceDisplay: "db:5432/app", BackoffInitial: time.Hour}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: contract.OnboardingID("cancel"), TaskQueue: queue}, contract.WorkflowOnboarding, in)
	require.NoError(t, err)
	require.Eventually(t, stage(run.GetID(), contract.StageWaitingForSQL), 30*time.Second, 100*time.Millisecond)
	require.NoError(t, c.CancelWorkflow(ctx, run.GetID(), ""))
	require.ErrorAs(t, run.Get(ctx, nil), &canceled)
	require.True(t, stage(run.GetID(), contract.StageCancelled)())
	save(t, c, run.GetID(), "", "onboarding-cancel-waiting.json")

	rin := contract.ReplicationInput{Name: "cancel", SourceDisplay: "db:5432/app", StreamRun: time.Hour, Snapshot: snapDone, VerifyInterval: -1}
	rrun, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: contract.ReplicationID("cancel"), TaskQueue: queue}, contract.WorkflowReplication, rin)
	require.NoError(t, err)
	require.Eventually(t, stage(rrun.GetID(), contract.StageStreaming), 30*time.Second, 100*time.Millisecond)
	_, err = c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: rrun.GetID(), UpdateName: contract.UpdateVerify.Name,
		Args: []any{contract.VerifyRequest{}}, WaitForStage: client.WorkflowUpdateStageAccepted})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		v, err := c.QueryWorkflow(ctx, rrun.GetID(), "", contract.QueryStatus.Name)
		var st contract.Status
		return err == nil && v.Get(&st) == nil && st.Verify != nil && st.Verify.RunningSince != nil
	}, 30*time.Second, 100*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // both activities heartbeat
	require.NoError(t, c.CancelWorkflow(ctx, rrun.GetID(), ""))
	require.ErrorAs(t, rrun.Get(ctx, nil), &canceled)
	require.True(t, stage(rrun.GetID(), contract.StageCancelled)())
	save(t, c, rrun.GetID(), "", "replication-cancel-streaming-verifying.json")

	drop, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: contract.ReplicationID("cancel"), TaskQueue: queue},
		contract.WorkflowReplication, contract.ReplicationInput{Name: "cancel", SourceDisplay: "db:5432/app", DropRequested: true})
	require.NoError(t, err)
	require.NoError(t, drop.Get(ctx, nil))
	require.True(t, stage(drop.GetID(), contract.StageDropped)())
	save(t, c, drop.GetID(), "", "replication-drop-after-cancel.json")
}

// TestRecordOnboardingContinueAsNew records onboarding-continue-as-new.json:
// preflight fails and fails again on a short backoff until the server
// (told to suggest it after a few events) suggests continuing as new, and
// onboarding-carried-hand-off.json: the next run, carrying the loop's
// state, passes and hands off. Same switch as TestRecordHistories.
func TestRecordOnboardingContinueAsNew(t *testing.T) {
	c := recorder(t, "--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=40")
	const queue = "record-continue"
	var pass atomic.Bool
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(OnboardingWorkflow, workflow.RegisterOptions{Name: contract.WorkflowOnboarding})
	w.RegisterActivityWithOptions(func(context.Context, contract.PreflightInput) (*contract.PreflightReport, error) {
		if pass.Load() {
			return passed, nil
		}
		return failed, nil
	}, activity.RegisterOptions{Name: contract.ActivityPreflight})
	w.RegisterActivityWithOptions(func(context.Context, contract.CreateConnectorInput) (*contract.CreateConnectorResult, error) {
		return &contract.CreateConnectorResult{SourceDisplay: "db:5432/app", Tables: 2, Slot: "ardent_long"}, nil
	}, activity.RegisterOptions{Name: contract.ActivityCreateConnector})
	// The hand-off's child: a stand-in that ends at once.
	w.RegisterWorkflowWithOptions(func(workflow.Context, contract.ReplicationInput) error { return nil },
		workflow.RegisterOptions{Name: contract.WorkflowReplication})
	require.NoError(t, w.Start())
	defer w.Stop()
	ctx := context.Background()

	in := contract.OnboardingInput{Name: "long", SourceURL: "postgres://u@db/app", DestinationURL: "postgres://d/dst",
		SourceDisplay: "db:5432/app", BackoffInitial: 200 * time.Millisecond, BackoffMax: 200 * time.Millisecond}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: contract.OnboardingID("long"), TaskQueue: queue}, contract.WorkflowOnboarding, in)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		d, err := c.DescribeWorkflowExecution(ctx, run.GetID(), "")
		return err == nil && d.GetWorkflowExecutionInfo().GetExecution().GetRunId() != run.GetRunID()
	}, 60*time.Second, 100*time.Millisecond, "the server never suggested continue-as-new")
	pass.Store(true)
	save(t, c, run.GetID(), run.GetRunID(), "onboarding-continue-as-new.json")
	next := c.GetWorkflow(ctx, run.GetID(), "")
	var res contract.OnboardingResult
	require.NoError(t, next.Get(ctx, &res))
	require.Equal(t, contract.StageHandedOff, res.Stage)
	save(t, c, run.GetID(), "", "onboarding-carried-hand-off.json")
}

// streamOneRun stands in for Replicate: it streams (waits) for its run,
// then hands back, unless cancelled first.
func streamOneRun(ctx context.Context, in contract.ReplicateInput) (*contract.ReplicateResult, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(in.MaxDuration):
		return &contract.ReplicateResult{ConfirmedLSN: "0/3000000"}, nil
	}
}

// TestRecordTablesHistory records replication-tables.json: the live table
// set beside the stream (behind GetVersion(tables)): a discovery finds a new
// table, its backfill runs, a resync signal queues another, the tables
// update lists them, and the run continues as new once no backfill runs.
// Same switch as TestRecordHistories.
func TestRecordTablesHistory(t *testing.T) {
	c := recorder(t)
	const queue = "record-tables"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(ReplicationWorkflow, workflow.RegisterOptions{Name: contract.WorkflowReplication})
	w.RegisterActivityWithOptions(streamOneRun, activity.RegisterOptions{Name: contract.ActivityReplicate})
	var discoveries atomic.Int32
	w.RegisterActivityWithOptions(func(context.Context, contract.DiscoverTablesInput) (*contract.DiscoverTablesResult, error) {
		if discoveries.Add(1) == 1 {
			return &contract.DiscoverTablesResult{Backfill: []string{"public.new"}}, nil
		}
		return &contract.DiscoverTablesResult{}, nil
	}, activity.RegisterOptions{Name: contract.ActivityDiscoverTables})
	w.RegisterActivityWithOptions(func(ctx context.Context, in contract.BackfillInput) (*contract.BackfillResult, error) {
		if err := heartbeatUntilCancelled(ctx, time.Second); err != nil {
			return nil, err
		}
		return &contract.BackfillResult{Table: in.Table, Rows: 10, ConsistentLSN: "0/2000000", HandedOverLSN: "0/2100000"}, nil
	}, activity.RegisterOptions{Name: contract.ActivityBackfill})
	w.RegisterActivityWithOptions(func(_ context.Context, in contract.ListTablesInput) (*contract.TablesReport, error) {
		return &contract.TablesReport{Connector: in.Name, Tables: []contract.TableInfo{{Table: "public.a", State: contract.TableStreaming, Rows: 3}}}, nil
	}, activity.RegisterOptions{Name: contract.ActivityListTables})
	require.NoError(t, w.Start())
	defer w.Stop()
	ctx := context.Background()

	in := contract.ReplicationInput{Name: "tables", SourceDisplay: "db:5432/app", StreamRun: 6 * time.Second, Snapshot: snapDone,
		VerifyInterval: -1, DiscoverInterval: time.Second}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: contract.ReplicationID("tables"), TaskQueue: queue}, contract.WorkflowReplication, in)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return discoveries.Load() >= 2 }, 30*time.Second, 50*time.Millisecond)
	require.NoError(t, c.SignalWorkflow(ctx, run.GetID(), run.GetRunID(), contract.SignalResync.Name, contract.TablesSignal{Tables: []string{"public.a"}}))
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), RunID: run.GetRunID(), UpdateName: contract.UpdateTables.Name,
		Args: []any{contract.TablesRequest{}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	require.NoError(t, err)
	var rep contract.TablesReport
	require.NoError(t, h.Get(ctx, &rep))
	require.NotEmpty(t, rep.Tables)
	require.Eventually(t, func() bool {
		d, err := c.DescribeWorkflowExecution(ctx, run.GetID(), "")
		return err == nil && d.GetWorkflowExecutionInfo().GetExecution().GetRunId() != run.GetRunID()
	}, 60*time.Second, 100*time.Millisecond)
	save(t, c, run.GetID(), run.GetRunID(), "replication-tables.json")
	require.NoError(t, c.TerminateWorkflow(ctx, run.GetID(), "", "recorded"))
}
