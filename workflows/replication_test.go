package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/activities"
)

type replicationSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment
}

func TestReplication(t *testing.T) { suite.Run(t, new(replicationSuite)) }

func (s *replicationSuite) SetupTest() {
	s.env = s.NewTestWorkflowEnvironment()
	s.env.SetStartTime(testStart)
	registerAll(s.env)
	s.env.RegisterWorkflowWithOptions(ReplicationWorkflow, workflow.RegisterOptions{Name: ReplicationWorkflowName})
}

func (s *replicationSuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

func repInput() ReplicationInput {
	return ReplicationInput{Version: 1, Name: "orders", SourceDisplay: "db:5432/app", StreamRun: time.Hour}
}

func (s *replicationSuite) status() Status {
	v, err := s.env.QueryWorkflow(QueryStatus)
	s.Require().NoError(err)
	var st Status
	s.Require().NoError(v.Get(&st))
	return st
}

var snapDone = &activities.SnapshotResult{ConsistentLSN: "0/16B3748", Rows: 10, Tables: 2}

// continuedAsNew asserts the run ended in continue-as-new and returns the
// input the next run gets.
func (s *replicationSuite) continuedAsNew() ReplicationInput {
	s.Require().True(s.env.IsWorkflowCompleted())
	err := s.env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	s.Require().ErrorAs(err, &can)
	var next ReplicationInput
	s.Require().NoError(converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	return next
}

func (s *replicationSuite) TestSnapshotThenStreamThenContinueAsNew() {
	s.env.OnActivity(activities.SnapshotName, mock.Anything, mock.Anything).Return(snapDone, nil).Once()
	s.env.OnActivity(activities.ReplicateName, mock.Anything, mock.Anything).After(time.Hour).
		Return(&activities.ReplicateResult{ConfirmedLSN: "0/2000000"}, nil).Once()
	s.env.RegisterDelayedCallback(func() { s.Equal(StageStreaming, s.status().Stage) }, 10*time.Minute)
	s.env.ExecuteWorkflow(ReplicationWorkflow, repInput())
	next := s.continuedAsNew()
	s.Require().NotNil(next.Snapshot, "the next run must not snapshot again")
	s.Equal(1, next.Runs)
	s.False(next.Paused)
}

func (s *replicationSuite) TestContinuedRunSkipsSnapshot() {
	in := repInput()
	in.Snapshot = snapDone
	s.env.OnActivity(activities.ReplicateName, mock.Anything, mock.Anything).Return(&activities.ReplicateResult{}, nil).Once()
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.continuedAsNew()
	s.env.AssertNotCalled(s.T(), activities.SnapshotName, mock.Anything, mock.Anything)
}

func (s *replicationSuite) TestPauseDuringSnapshotCancelsAndResumeRestartsIt() {
	// First attempt runs until cancelled; the second completes.
	s.env.OnActivity(activities.SnapshotName, mock.Anything, mock.Anything).After(24*time.Hour).Return(snapDone, nil).Once()
	s.env.OnActivity(activities.SnapshotName, mock.Anything, mock.Anything).Return(snapDone, nil).Once()
	s.env.OnActivity(activities.ReplicateName, mock.Anything, mock.Anything).Return(&activities.ReplicateResult{}, nil).Once()
	s.env.RegisterDelayedCallback(func() {
		s.Equal(StageSnapshot, s.status().Stage)
		s.env.SignalWorkflow(SignalPause, ControlSignal{Reason: "maintenance"})
	}, time.Minute)
	s.env.RegisterDelayedCallback(func() {
		s.Equal(StagePaused, s.status().Stage)
		s.env.SignalWorkflow(SignalResume, nil)
	}, 2*time.Hour)
	s.env.ExecuteWorkflow(ReplicationWorkflow, repInput())
	s.continuedAsNew()
}

func (s *replicationSuite) TestPauseAndDropWhileStreaming() {
	in := repInput()
	in.Snapshot = snapDone
	s.env.OnActivity(activities.ReplicateName, mock.Anything, mock.Anything).After(time.Hour).Return(&activities.ReplicateResult{}, nil).Once()
	s.env.OnActivity(activities.DropConnectorName, mock.Anything, mock.Anything).Return(&activities.DropConnectorResult{SlotDropped: true, Verified: true}, nil).Once()
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(SignalPause, nil) }, time.Minute)
	s.env.RegisterDelayedCallback(func() {
		s.Equal(StagePaused, s.status().Stage)
		s.env.SignalWorkflow(SignalDrop, nil)
	}, 5*time.Minute)
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(StageDropped, s.status().Stage)
}

func (s *replicationSuite) TestDropDuringSnapshot() {
	s.env.OnActivity(activities.SnapshotName, mock.Anything, mock.Anything).After(24*time.Hour).Return(snapDone, nil).Once()
	s.env.OnActivity(activities.DropConnectorName, mock.Anything, mock.Anything).Return(&activities.DropConnectorResult{}, nil).Once()
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(SignalDrop, nil) }, time.Minute)
	s.env.ExecuteWorkflow(ReplicationWorkflow, repInput())
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(StageDropped, s.status().Stage)
	s.Less(s.env.Now().Sub(testStart), time.Hour)
}

func (s *replicationSuite) TestSlotLostParksInFailedWithRemedyThenDrop() {
	in := repInput()
	in.Snapshot = snapDone
	s.env.OnActivity(activities.ReplicateName, mock.Anything, mock.Anything).
		Return(nil, temporal.NewNonRetryableApplicationError("replication slot \"ardent_orders\" does not exist", activities.ErrTypeSlotLost, nil)).Once()
	s.env.OnActivity(activities.DropConnectorName, mock.Anything, mock.Anything).Return(&activities.DropConnectorResult{}, nil).Once()
	s.env.RegisterDelayedCallback(func() {
		st := s.status()
		s.Equal(StageFailed, st.Stage)
		s.Contains(st.Error, "does not exist")
		s.Contains(st.Remedy, "ardent drop orders")
		s.env.SignalWorkflow(SignalDrop, nil)
	}, time.Hour)
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(StageDropped, s.status().Stage)
}

func (s *replicationSuite) TestFailedResumeRetries() {
	in := repInput()
	in.Snapshot = snapDone
	s.env.OnActivity(activities.ReplicateName, mock.Anything, mock.Anything).
		Return(nil, temporal.NewNonRetryableApplicationError("permission denied for table t", activities.ErrTypePermanent, nil)).Once()
	s.env.OnActivity(activities.ReplicateName, mock.Anything, mock.Anything).Return(&activities.ReplicateResult{}, nil).Once()
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(SignalResume, nil) }, time.Hour)
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	next := s.continuedAsNew()
	s.Empty(next.Error)
}

func (s *replicationSuite) TestSignalsCarriedAcrossContinueAsNew() {
	in := repInput()
	in.Snapshot = snapDone
	s.env.OnActivity(activities.ReplicateName, mock.Anything, mock.Anything).Return(&activities.ReplicateResult{}, nil).Once()
	in.Paused = true
	s.env.RegisterDelayedCallback(func() {
		s.Equal(StagePaused, s.status().Stage)
		s.env.SignalWorkflow(SignalResume, nil)
	}, time.Hour)
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.continuedAsNew()
}
