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

	"github.com/ardent-cdc/ardent/contract"
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
	s.env.RegisterWorkflowWithOptions(ReplicationWorkflow, workflow.RegisterOptions{Name: contract.WorkflowReplication})
}

func (s *replicationSuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

func repInput() contract.ReplicationInput {
	return contract.ReplicationInput{Name: "orders", SourceDisplay: "db:5432/app", StreamRun: time.Hour}
}

func (s *replicationSuite) status() contract.Status {
	v, err := s.env.QueryWorkflow(contract.QueryStatus.Name)
	s.Require().NoError(err)
	var st contract.Status
	s.Require().NoError(v.Get(&st))
	return st
}

var snapDone = &contract.SnapshotResult{ConsistentLSN: "0/16B3748", Rows: 10, Tables: 2}

// continuedAsNew asserts the run ended in continue-as-new and returns the
// input the next run gets.
func (s *replicationSuite) continuedAsNew() contract.ReplicationInput {
	s.Require().True(s.env.IsWorkflowCompleted())
	err := s.env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	s.Require().ErrorAs(err, &can)
	var next contract.ReplicationInput
	s.Require().NoError(converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	return next
}

func (s *replicationSuite) TestSnapshotThenStreamThenContinueAsNew() {
	s.env.OnActivity(contract.ActivitySnapshot, mock.Anything, mock.Anything).Return(snapDone, nil).Once()
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(time.Hour).
		Return(&contract.ReplicateResult{ConfirmedLSN: "0/2000000"}, nil).Once()
	s.env.RegisterDelayedCallback(func() { s.Equal(contract.StageStreaming, s.status().Stage) }, 10*time.Minute)
	s.env.ExecuteWorkflow(ReplicationWorkflow, repInput())
	next := s.continuedAsNew()
	s.Require().NotNil(next.Snapshot, "the next run must not snapshot again")
	s.Equal(1, next.Runs)
	s.False(next.Paused)
}

func (s *replicationSuite) TestContinuedRunSkipsSnapshot() {
	in := repInput()
	in.Snapshot = snapDone
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(&contract.ReplicateResult{}, nil).Once()
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.continuedAsNew()
	s.env.AssertNotCalled(s.T(), contract.ActivitySnapshot, mock.Anything, mock.Anything)
}

func (s *replicationSuite) TestPauseDuringSnapshotCancelsAndResumeRestartsIt() {
	// First attempt runs until cancelled; the second completes.
	s.env.OnActivity(contract.ActivitySnapshot, mock.Anything, mock.Anything).After(24*time.Hour).Return(snapDone, nil).Once()
	s.env.OnActivity(contract.ActivitySnapshot, mock.Anything, mock.Anything).Return(snapDone, nil).Once()
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(&contract.ReplicateResult{}, nil).Once()
	s.env.RegisterDelayedCallback(func() {
		s.Equal(contract.StageSnapshot, s.status().Stage)
		s.env.SignalWorkflow(contract.SignalPause.Name, contract.ControlSignal{Reason: "maintenance"})
	}, time.Minute)
	s.env.RegisterDelayedCallback(func() {
		s.Equal(contract.StagePaused, s.status().Stage)
		s.env.SignalWorkflow(contract.SignalResume.Name, nil)
	}, 2*time.Hour)
	s.env.ExecuteWorkflow(ReplicationWorkflow, repInput())
	s.continuedAsNew()
}

func (s *replicationSuite) TestPauseAndDropWhileStreaming() {
	in := repInput()
	in.Snapshot = snapDone
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(time.Hour).Return(&contract.ReplicateResult{}, nil).Once()
	s.env.OnActivity(contract.ActivityDropConnector, mock.Anything, mock.Anything).Return(&contract.DropConnectorResult{SlotDropped: true, Verified: true}, nil).Once()
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalPause.Name, nil) }, time.Minute)
	s.env.RegisterDelayedCallback(func() {
		s.Equal(contract.StagePaused, s.status().Stage)
		s.env.SignalWorkflow(contract.SignalDrop.Name, nil)
	}, 5*time.Minute)
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(contract.StageDropped, s.status().Stage)
}

func (s *replicationSuite) TestDropDuringSnapshot() {
	s.env.OnActivity(contract.ActivitySnapshot, mock.Anything, mock.Anything).After(24*time.Hour).Return(snapDone, nil).Once()
	s.env.OnActivity(contract.ActivityDropConnector, mock.Anything, mock.Anything).Return(&contract.DropConnectorResult{}, nil).Once()
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalDrop.Name, nil) }, time.Minute)
	s.env.ExecuteWorkflow(ReplicationWorkflow, repInput())
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(contract.StageDropped, s.status().Stage)
	s.Less(s.env.Now().Sub(testStart), time.Hour)
}

func (s *replicationSuite) TestSlotLostParksInFailedWithRemedyThenDrop() {
	in := repInput()
	in.Snapshot = snapDone
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).
		Return(nil, temporal.NewNonRetryableApplicationError("replication slot \"ardent_orders\" does not exist", contract.ErrTypeSlotLost, nil)).Once()
	s.env.OnActivity(contract.ActivityDropConnector, mock.Anything, mock.Anything).Return(&contract.DropConnectorResult{}, nil).Once()
	s.env.RegisterDelayedCallback(func() {
		st := s.status()
		s.Equal(contract.StageFailed, st.Stage)
		s.Contains(st.Error, "does not exist")
		s.Contains(st.Remedy, "ardent drop orders")
		s.env.SignalWorkflow(contract.SignalDrop.Name, nil)
	}, time.Hour)
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(contract.StageDropped, s.status().Stage)
}

func (s *replicationSuite) TestFailedResumeRetries() {
	in := repInput()
	in.Snapshot = snapDone
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).
		Return(nil, temporal.NewNonRetryableApplicationError("permission denied for table t", contract.ErrTypePermanent, nil)).Once()
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(&contract.ReplicateResult{}, nil).Once()
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalResume.Name, nil) }, time.Hour)
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	next := s.continuedAsNew()
	s.Empty(next.Error)
}

func (s *replicationSuite) TestSignalsCarriedAcrossContinueAsNew() {
	in := repInput()
	in.Snapshot = snapDone
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(&contract.ReplicateResult{}, nil).Once()
	in.Paused = true
	s.env.RegisterDelayedCallback(func() {
		s.Equal(contract.StagePaused, s.status().Stage)
		s.env.SignalWorkflow(contract.SignalResume.Name, nil)
	}, time.Hour)
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.continuedAsNew()
}
