package workflows

import (
	"context"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/contract"
)

var (
	safe        = int64(900 << 20)
	driftClean  = &contract.DriftReport{Checks: []contract.Check{{ID: contract.CheckRoleValid, Status: contract.CheckPass}}}
	roleExpires = contract.Check{ID: contract.CheckRoleValid, Status: contract.CheckFail,
		Message: `role "ardent" expires at 2026-01-02T00:00:00Z (VALID UNTIL), in 23h0m0s`,
		Remedy:  `as a superuser or a role with CREATEROLE: ALTER ROLE "ardent" VALID UNTIL 'infinity'; (or a later date)`}
	driftExpiring = &contract.DriftReport{Checks: []contract.Check{roleExpires,
		{ID: contract.CheckWalRetention, Status: contract.CheckWarn, Message: "max_slot_wal_keep_size = -1", Remedy: "bound it"}}}
	slotRead = &contract.SlotState{ConfirmedLSN: "0/3000000", RestartLSN: "0/2F00000", RetainedBytes: 3 << 30, WALStatus: "extended",
		SafeWALSize: &safe}
)

// queryWorkflowMetadata is the SDK's built-in query behind the Web UI's
// user metadata (internal.QueryTypeWorkflowMetadata; not exported).
const queryWorkflowMetadata = "__temporal_workflow_metadata"

// details is the workflow's current details (the Web UI's user metadata).
func (s *replicationSuite) details() string {
	v, err := s.env.QueryWorkflow(queryWorkflowMetadata)
	s.Require().NoError(err)
	var md sdk.WorkflowMetadata
	s.Require().NoError(v.Get(&md))
	return md.GetCurrentDetails()
}

// A drift check that fails puts a streaming connector in attention with
// the check's message and remedy, everywhere: status, search attribute,
// Web UI details. The stream keeps running; the run after the fix puts it
// back to streaming.
func (s *replicationSuite) TestDriftRegressionIsAttentionUntilFixed() {
	var stages []string
	s.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if v, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(stageKey); ok {
			stages = append(stages, v)
		}
	}).Return(nil)
	in := streamingInput()
	in.DriftInterval = 10 * time.Minute
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(time.Hour).
		Return(&contract.ReplicateResult{ConfirmedLSN: "0/2000000"}, nil).Once()
	checks := 0
	s.env.OnActivity(contract.ActivityDriftCheck, mock.Anything, contract.DriftCheckInput{Name: "orders"}).Return(
		func(context.Context, contract.DriftCheckInput) (*contract.DriftReport, error) {
			checks++
			if checks == 1 {
				return driftExpiring, nil
			}
			return driftClean, nil
		})
	s.at(15*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageAttention, st.Stage)
		s.Contains(st.Error, "the source regressed since onboarding")
		s.Contains(st.Error, "role_valid: "+roleExpires.Message)
		s.Contains(st.Remedy, roleExpires.Remedy)
		s.Contains(st.Remedy, "`ardent resume orders`")
		s.Require().NotNil(st.Drift)
		s.Len(st.Drift.Problems, 2, "the warning is shown too")
		s.Require().NotNil(st.Drift.NextAt)
		s.Equal(testStart.Add(20*time.Minute), st.Drift.NextAt.UTC())
		d := s.details()
		for _, want := range []string{"**Stage: attention**", "the source regressed", roleExpires.Remedy, "**Drift guard**", "`wal_retention`"} {
			s.Contains(d, want)
		}
	})
	s.at(25*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageStreaming, st.Stage, "the next run found it fixed")
		s.Empty(st.Error)
		s.Empty(st.Drift.Problems)
		s.Contains(s.details(), "every check passes")
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	next := s.continuedAsNew()
	s.Require().NotNil(next.Drift, "what the guard found is carried")
	s.Require().NotNil(next.NextDriftAt, "and when it runs next")
	s.Equal(10*time.Minute, next.DriftInterval)
	s.Equal([]string{"streaming", "attention", "streaming"}, stages)
}

// resume runs the drift checks at once: a fix shows without waiting.
func (s *replicationSuite) TestResumeRunsTheDriftChecksAtOnce() {
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(time.Hour).
		Return(&contract.ReplicateResult{}, nil).Once()
	s.env.OnActivity(contract.ActivityDriftCheck, mock.Anything, mock.Anything).Return(driftExpiring, nil).Once()
	s.env.OnActivity(contract.ActivityDriftCheck, mock.Anything, mock.Anything).Return(driftClean, nil)
	s.at(16*time.Minute, func() {
		s.Equal(contract.StageAttention, s.status().Stage)
		s.env.SignalWorkflow(contract.SignalResume.Name, nil)
	})
	s.at(17*time.Minute, func() { s.Equal(contract.StageStreaming, s.status().Stage) })
	s.env.ExecuteWorkflow(ReplicationWorkflow, streamingInput())
	s.continuedAsNew()
}

// A paused connector's status says since when, where the destination
// stands and how much WAL the slot keeps: a drift check runs at the pause.
func (s *replicationSuite) TestPausedShowsPositionAndRetainedWAL() {
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(time.Hour).Return(&contract.ReplicateResult{}, nil).Once()
	s.env.OnActivity(contract.ActivityDriftCheck, mock.Anything, mock.Anything).
		Return(&contract.DriftReport{CheckedAt: testStart.Add(3 * time.Minute), Slot: slotRead,
			Checks: []contract.Check{{ID: contract.CheckSlot, Status: contract.CheckPass}}}, nil).Once()
	s.env.OnActivity(contract.ActivityDropConnector, mock.Anything, mock.Anything).Return(dropped, nil).Once()
	s.at(3*time.Minute, func() { s.env.SignalWorkflow(contract.SignalPause.Name, nil) })
	s.at(5*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StagePaused, st.Stage)
		s.Require().NotNil(st.PausedSince)
		s.Equal(testStart.Add(3*time.Minute), st.PausedSince.UTC())
		s.Require().NotNil(st.Drift)
		s.Require().NotNil(st.Drift.Slot, "the pause ran a drift check, which read the slot")
		s.Equal("0/3000000", st.Drift.Slot.ConfirmedLSN)
		s.Equal(int64(3<<30), st.Drift.Slot.RetainedBytes)
		d := s.details()
		s.Contains(d, "Paused since 2026")
		s.Contains(d, "retains 3.0 GiB of WAL on the source")
		s.env.SignalWorkflow(contract.SignalDrop.Name, nil)
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, streamingInput())
	s.Require().NoError(s.env.GetWorkflowError())
}

// A drift check that cannot reach the source changes no stage.
func (s *replicationSuite) TestDriftCheckFailureChangesNoStage() {
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(time.Hour).Return(&contract.ReplicateResult{}, nil).Once()
	s.env.OnActivity(contract.ActivityDriftCheck, mock.Anything, mock.Anything).
		Return(nil, temporal.NewApplicationError("drift check of db:5432/app: connection refused", contract.ErrTypeTransient))
	s.at(40*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageStreaming, st.Stage)
		s.Require().NotNil(st.Drift)
		s.Contains(st.Drift.Error, "connection refused")
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, streamingInput())
	s.continuedAsNew()
}

// A negative interval turns the guard off: no check ever runs.
func (s *replicationSuite) TestDriftOff() {
	in := streamingInput()
	in.DriftInterval = -1
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(time.Hour).Return(&contract.ReplicateResult{}, nil).Once()
	s.env.OnActivity(contract.ActivityDriftCheck, mock.Anything, mock.Anything).Return(driftExpiring, nil).Maybe()
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.continuedAsNew()
	s.env.AssertNotCalled(s.T(), contract.ActivityDriftCheck, mock.Anything, mock.Anything)
}

// The stream's own reports make the stage true: unhealthy (reconnecting,
// nothing applied) is retrying while the attempt runs, healthy again is
// streaming; lag and position reach the status and the details.
func (s *replicationSuite) TestUnhealthyStreamIsRetrying() {
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(time.Hour).Return(&contract.ReplicateResult{}, nil).Once()
	report := func(h contract.StreamHealth) func() {
		return func() { s.env.SignalWorkflow(contract.SignalProgress.Name, contract.ProgressReport{Stream: &h}) }
	}
	s.at(time.Minute, report(contract.StreamHealth{Healthy: true, ConfirmedLSN: "0/2000000", LagBytes: 2048, LagSeconds: 0.5}))
	s.at(2*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageStreaming, st.Stage)
		s.Require().NotNil(st.Stream)
		s.Equal("0/2000000", st.Stream.ConfirmedLSN)
		s.True(st.Stream.Running, "an attempt runs: the report is its health")
		s.Contains(s.details(), "confirmed LSN `0/2000000`; lag 2.0 KiB, 0.5 s")
	})
	s.at(3*time.Minute, report(contract.StreamHealth{Healthy: false, Error: "apply: connection refused"}))
	s.at(4*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageRetrying, st.Stage, "a stream that applies nothing is not streaming")
		s.Contains(st.LastError, "apply: connection refused")
		s.Contains(s.details(), "**not applying**")
	})
	s.at(5*time.Minute, report(contract.StreamHealth{Healthy: true}))
	s.at(6*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageStreaming, st.Stage)
		s.Empty(st.LastError)
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, streamingInput())
	s.continuedAsNew()
}

// The snapshot's reports show in the details while it copies.
func (s *replicationSuite) TestSnapshotProgressInDetails() {
	s.env.OnActivity(contract.ActivitySnapshot, mock.Anything, mock.Anything).After(time.Hour).Return(snapDone, nil).Once()
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(&contract.ReplicateResult{}, nil).Once()
	s.at(time.Minute, func() {
		s.env.SignalWorkflow(contract.SignalProgress.Name, contract.ProgressReport{Snapshot: &contract.SnapshotProgress{
			Tables: 3, TablesDone: 1, Rows: 1000, EstimatedRows: 5000, Bytes: 1 << 20}})
	})
	s.at(2*time.Minute, func() {
		d := s.details()
		s.Contains(d, "**Stage: snapshot**")
		s.Contains(d, "Initial snapshot: 1 of 3 tables, 1000 rows of ~5000, 1.0 MiB")
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, repInput())
	s.continuedAsNew()
}

// A finished onboarding says handed_off in its search attribute (`ardent
// list`, the Web UI), not the snapshot it no longer runs; its details say
// where the connector went.
func (s *onboardingSuite) TestFinishedOnboardingIsHandedOffEverywhere() {
	var stages []string
	s.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if v, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(stageKey); ok {
			stages = append(stages, v)
		}
	}).Return(nil)
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(failed, nil).Once()
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.expectHandOff()
	s.env.RegisterDelayedCallback(func() {
		v, err := s.env.QueryWorkflow(queryWorkflowMetadata)
		s.Require().NoError(err)
		var md sdk.WorkflowMetadata
		s.Require().NoError(v.Get(&md))
		for _, want := range []string{"**Stage: waiting_for_sql**", "**Preflight checks that block**", "`wal_level`: replica — set wal_level",
			"ardent signal sql-applied orders"} {
			s.Contains(md.GetCurrentDetails(), want)
		}
	}, 10*time.Second)
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(contract.StageHandedOff, s.result().Stage)
	s.Equal(contract.StageHandedOff, s.status().Stage)
	s.Equal([]string{"preflight", "waiting_for_sql", "preflight", "creating_connector", "handed_off"}, stages)
}
