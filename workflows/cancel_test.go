package workflows

import (
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
)

// endedCancelled asserts the workflow ended as cancelled, in stage
// cancelled, with a remedy, and returns its status.
func (s *replicationSuite) endedCancelled() contract.Status {
	s.Require().True(s.env.IsWorkflowCompleted())
	var canceled *temporal.CanceledError
	s.Require().ErrorAs(s.env.GetWorkflowError(), &canceled, "a cancelled workflow ends cancelled, not failed")
	st := s.status()
	s.Equal(contract.StageCancelled, st.Stage)
	return st
}

func (s *replicationSuite) TestCancelWhileStreamingStopsTheStreamAndTheVerificationAndKeepsTheSlot() {
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(time.Hour).
		Return(&contract.ReplicateResult{}, nil).Once()
	s.env.OnActivity(contract.ActivityVerify, mock.Anything, mock.Anything).After(time.Hour).Return(equalReport("0/3000000"), nil).Once()
	var stopped []string
	s.env.SetOnActivityCanceledListener(func(info *activity.Info) { stopped = append(stopped, info.ActivityType.Name) })
	var out *updateOutcome
	s.at(time.Minute, func() { out = s.update(contract.VerifyRequest{}) })
	s.at(2*time.Minute, func() {
		s.NotNil(s.status().Verify.RunningSince)
		s.env.CancelWorkflow()
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, verifyInput())
	st := s.endedCancelled()
	s.ElementsMatch([]string{contract.ActivityReplicate, contract.ActivityVerify}, stopped, "both activities were cancelled")
	s.Contains(st.Error, "cancelled")
	s.Contains(st.Error, "slot was kept")
	s.Contains(st.Remedy, "`ardent drop orders`")
	s.Nil(st.Verify.RunningSince)
	s.Empty(st.Verify.Error, "a cancelled verification is no failure")
	s.Require().True(out.done, "the verify update answered before the workflow ended")
	var app *temporal.ApplicationError
	s.Require().ErrorAs(out.err, &app)
	s.Equal(contract.ErrTypeVerifyCancelled, app.Type())
	s.Contains(app.Message(), "cancelled")
	s.Less(s.env.Now().Sub(testStart), time.Hour, "nothing waited for the run to end")
	s.env.AssertNotCalled(s.T(), contract.ActivityDropConnector, mock.Anything, mock.Anything)
}

func (s *replicationSuite) TestCancelDuringSnapshot() {
	s.env.OnActivity(contract.ActivitySnapshot, mock.Anything, mock.Anything).After(24*time.Hour).Return(snapDone, nil).Once()
	var stopped []string
	s.env.SetOnActivityCanceledListener(func(info *activity.Info) { stopped = append(stopped, info.ActivityType.Name) })
	s.at(time.Minute, func() { s.env.CancelWorkflow() })
	s.env.ExecuteWorkflow(ReplicationWorkflow, repInput())
	st := s.endedCancelled()
	s.Equal([]string{contract.ActivitySnapshot}, stopped)
	s.Contains(st.Error, "snapshot stopped")
	s.Contains(st.Remedy, "`ardent drop orders`")
}

func (s *replicationSuite) TestCancelWhilePausedOrRetryingOrParked() {
	for _, tc := range []struct {
		name     string
		setup    func()
		cancelAt time.Duration
	}{
		{"paused", func() {
			s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(time.Hour).Return(&contract.ReplicateResult{}, nil).Once()
			s.at(time.Minute, func() { s.env.SignalWorkflow(contract.SignalPause.Name, nil) })
			s.at(time.Hour, func() { s.Equal(contract.StagePaused, s.status().Stage) })
		}, 2 * time.Hour},
		{"retrying", func() {
			// Failures at 0, 2 s and 6 s; the next try is due at 14 s.
			s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(nil, transient("")).Times(3)
			s.at(10*time.Second, func() {
				st := s.status()
				s.Equal(contract.StageRetrying, st.Stage)
				s.NotNil(st.NextTryAt)
			})
		}, 11 * time.Second},
		{"attention", func() {
			s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(nil, mismatch).Once()
			s.at(time.Hour, func() { s.Equal(contract.StageAttention, s.status().Stage) })
		}, 2 * time.Hour},
	} {
		s.Run(tc.name, func() {
			s.SetupTest()
			tc.setup()
			s.at(tc.cancelAt, func() { s.env.CancelWorkflow() })
			s.env.ExecuteWorkflow(ReplicationWorkflow, streamingInput())
			st := s.endedCancelled()
			s.Contains(st.Remedy, "`ardent drop orders`")
			if tc.name == "attention" {
				s.Contains(st.Error, "it had stopped in stage attention: schema mismatch", "the cause it stopped on stays in the status")
			}
			s.Nil(st.NextTryAt, "no retry pending: nothing runs any more")
			s.Equal(tc.cancelAt, s.env.Now().Sub(testStart), "it ended when cancelled")
			s.env.AssertExpectations(s.T())
			s.env.AssertNotCalled(s.T(), contract.ActivityDropConnector, mock.Anything, mock.Anything)
		})
	}
}

// TestCancelDuringDropFinishesTheDrop: the operator's drop was under way;
// half a drop would leave the slot without a workflow.
func (s *replicationSuite) TestCancelDuringDropFinishesTheDrop() {
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(time.Hour).Return(&contract.ReplicateResult{}, nil).Once()
	s.env.OnActivity(contract.ActivityDropConnector, mock.Anything, mock.Anything).After(10*time.Minute).Return(dropped, nil).Once()
	s.at(time.Minute, func() { s.env.SignalWorkflow(contract.SignalDrop.Name, nil) })
	s.at(5*time.Minute, func() { s.env.CancelWorkflow() })
	s.env.ExecuteWorkflow(ReplicationWorkflow, streamingInput())
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(contract.StageDropped, s.status().Stage)
}

// TestCancelInAHistoryFromBeforeTheBranch: a run that started before the
// cancellation branch (changeCancel at DefaultVersion) does what it did:
// the cancelled Replicate is a failure. Replaying such a history must not
// take the new branch.
func (s *replicationSuite) TestCancelInAHistoryFromBeforeTheBranch() {
	s.env.OnGetVersion(changeCancel, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(time.Hour).Return(&contract.ReplicateResult{}, nil).Once()
	s.at(time.Minute, func() { s.env.CancelWorkflow() })
	s.at(2*time.Minute, func() {
		s.Equal(contract.StageFailed, s.status().Stage)
		s.env.SignalWorkflow(contract.SignalDrop.Name, nil)
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, streamingInput())
	s.Require().True(s.env.IsWorkflowCompleted())
}

func (s *onboardingSuite) endedCancelled() contract.Status {
	s.Require().True(s.env.IsWorkflowCompleted())
	var canceled *temporal.CanceledError
	s.Require().ErrorAs(s.env.GetWorkflowError(), &canceled, "a cancelled workflow ends cancelled, not failed")
	st := s.status()
	s.Equal(contract.StageCancelled, st.Stage)
	return st
}

func (s *onboardingSuite) TestCancelWhileWaitingForSQL() {
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(failed, nil).Once()
	s.env.RegisterDelayedCallback(func() { s.env.CancelWorkflow() }, 10*time.Second)
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	st := s.endedCancelled()
	s.Contains(st.Remedy, "nothing was created")
	s.Contains(st.Remedy, "ardent onboard --name orders")
	s.Nil(st.NextCheckAt)
	s.env.AssertNotCalled(s.T(), contract.ActivityCreateConnector, mock.Anything, mock.Anything)
	s.env.AssertNotCalled(s.T(), contract.ActivityDropConnector, mock.Anything, mock.Anything)
}

func (s *onboardingSuite) TestCancelDuringCreateWaitsForItAndNamesTheDrop() {
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.env.OnActivity(contract.ActivityCreateConnector, mock.Anything, mock.Anything).After(time.Minute).
		Return(&contract.CreateConnectorResult{Tables: 1}, nil).Once()
	var stopped []string
	s.env.SetOnActivityCanceledListener(func(info *activity.Info) { stopped = append(stopped, info.ActivityType.Name) })
	s.env.RegisterDelayedCallback(func() { s.env.CancelWorkflow() }, 10*time.Second)
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	st := s.endedCancelled()
	s.Equal([]string{contract.ActivityCreateConnector}, stopped)
	s.Contains(st.Remedy, "`ardent drop orders`")
	s.env.AssertNotCalled(s.T(), contract.ActivityDropConnector, mock.Anything, mock.Anything)
	s.env.AssertNotCalled(s.T(), contract.WorkflowReplication, mock.Anything, mock.Anything)
}

func (s *onboardingSuite) TestCancelWhileCreateFailedWaits() {
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.env.OnActivity(contract.ActivityCreateConnector, mock.Anything, mock.Anything).
		Return(nil, temporal.NewNonRetryableApplicationError("name taken by another source", contract.ErrTypeConflict, nil)).Once()
	s.env.RegisterDelayedCallback(func() {
		s.Equal(contract.StageFailed, s.status().Stage)
		s.env.CancelWorkflow()
	}, time.Hour)
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	st := s.endedCancelled()
	s.Contains(st.Remedy, "`ardent drop orders`")
}
