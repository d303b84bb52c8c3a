package workflows

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/activities"
)

type onboardingSuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment
}

func TestOnboarding(t *testing.T) { suite.Run(t, new(onboardingSuite)) }

func (s *onboardingSuite) SetupTest() {
	s.env = s.NewTestWorkflowEnvironment()
	s.env.SetStartTime(testStart)
	registerAll(s.env)
	s.env.RegisterWorkflowWithOptions(OnboardingWorkflow, workflow.RegisterOptions{Name: OnboardingWorkflowName})
	s.env.RegisterWorkflowWithOptions(ReplicationWorkflow, workflow.RegisterOptions{Name: ReplicationWorkflowName})
}

func (s *onboardingSuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

// registerAll registers the real activity methods by name so OnActivity
// mocks replace them (the real ones need databases).
func registerAll(env interface {
	RegisterActivityWithOptions(any, activity.RegisterOptions)
}) {
	env.RegisterActivityWithOptions(preflightActs.Preflight, activity.RegisterOptions{Name: activities.PreflightName})
	env.RegisterActivityWithOptions(connectorActs.CreateConnector, activity.RegisterOptions{Name: activities.CreateConnectorName})
	env.RegisterActivityWithOptions(connectorActs.DropConnector, activity.RegisterOptions{Name: activities.DropConnectorName})
	env.RegisterActivityWithOptions(snapshotActs.Snapshot, activity.RegisterOptions{Name: activities.SnapshotName})
	env.RegisterActivityWithOptions(streamActs.Replicate, activity.RegisterOptions{Name: activities.ReplicateName})
	env.RegisterActivityWithOptions(verifyActs.Verify, activity.RegisterOptions{Name: activities.VerifyName})
}

func input() OnboardingInput {
	return OnboardingInput{Name: "orders", SourceURL: "postgres://u:secret@db/app", DestinationURL: "postgres://d/dst",
		SourceDisplay: "db:5432/app", BackoffInitial: time.Minute, BackoffMax: 4 * time.Minute, Deadline: time.Hour}
}

var (
	failed = &activities.PreflightReport{Passed: false, Checks: []activities.Check{{ID: "wal_level", Status: "fail", Message: "replica", Remedy: "set wal_level"}}}
	passed = &activities.PreflightReport{Passed: true, Checks: []activities.Check{{ID: "wal_level", Status: "pass"}}}
)

func (s *onboardingSuite) status() Status {
	v, err := s.env.QueryWorkflow(QueryStatus)
	s.Require().NoError(err)
	var st Status
	s.Require().NoError(v.Get(&st))
	return st
}

func (s *onboardingSuite) expectHandOff() {
	s.env.OnActivity(activities.CreateConnectorName, mock.Anything, mock.Anything).
		Return(&activities.CreateConnectorResult{SourceDisplay: "db:5432/app", Tables: 3, Slot: "ardent_orders"}, nil).Once()
	s.env.OnWorkflow(ReplicationWorkflowName, mock.Anything, mock.Anything).Return(nil).Once()
}

func (s *onboardingSuite) result() OnboardingResult {
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	var res OnboardingResult
	s.Require().NoError(s.env.GetWorkflowResult(&res))
	return res
}

func (s *onboardingSuite) TestPassFirstTime() {
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.expectHandOff()
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	res := s.result()
	s.Equal(StageSnapshot, res.Stage)
	s.Equal("replication-orders", res.ReplicationWorkflowID)
}

func (s *onboardingSuite) TestFailThenSignalThenPass() {
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).Return(failed, nil).Once()
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.expectHandOff()
	s.env.RegisterDelayedCallback(func() {
		st := s.status()
		s.Equal(StageWaitingForSQL, st.Stage)
		s.Equal(1, st.Attempts)
		s.Require().NotNil(st.Report)
		s.Equal("wal_level", st.Report.Checks[0].ID)
		s.env.SignalWorkflow(SignalSQLApplied, SQLAppliedSignal{Note: "applied"})
	}, 10*time.Second) // well before the 1 min backoff timer
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(StageSnapshot, s.result().Stage)
	// The re-check followed the signal, not the timer.
	s.Less(s.env.Now().Sub(startTime(s.env)), time.Minute)
}

func (s *onboardingSuite) TestTimerRechecksWithoutSignalAndBacksOff() {
	var calls []time.Time
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).
		Run(func(mock.Arguments) { calls = append(calls, s.env.Now()) }).Return(failed, nil).Times(3)
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.expectHandOff()
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(StageSnapshot, s.result().Stage)
	s.Require().Len(calls, 3)
	s.InDelta(time.Minute.Seconds(), calls[1].Sub(calls[0]).Seconds(), 1)
	s.InDelta((2 * time.Minute).Seconds(), calls[2].Sub(calls[1]).Seconds(), 1)
}

func (s *onboardingSuite) TestEarlySignalIsNotLost() {
	// sql-applied arrives while the first (failing) preflight still runs.
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).After(30*time.Second).Return(failed, nil).Once()
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.expectHandOff()
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(SignalSQLApplied, nil) }, 5*time.Second)
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(StageSnapshot, s.result().Stage)
	s.Less(s.env.Now().Sub(startTime(s.env)), time.Minute, "the early signal triggered the re-check before the timer")
}

func (s *onboardingSuite) TestDuplicateSignalsCauseOneRecheck() {
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).Return(failed, nil).Twice()
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.expectHandOff()
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflow(SignalSQLApplied, nil)
		s.env.SignalWorkflow(SignalSQLApplied, nil)
		s.env.SignalWorkflow(SignalSQLApplied, nil)
	}, 10*time.Second)
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(StageSnapshot, s.result().Stage)
}

func (s *onboardingSuite) TestDeadline() {
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).Return(failed, nil)
	in := input()
	in.Deadline = 5 * time.Minute
	s.env.ExecuteWorkflow(OnboardingWorkflow, in)
	s.True(s.env.IsWorkflowCompleted())
	err := s.env.GetWorkflowError()
	s.Require().Error(err)
	s.Contains(err.Error(), "did not pass within 5m0s")
	s.Equal(StageFailed, s.status().Stage)
}

func (s *onboardingSuite) TestPreflightActivityErrorKeepsLooping() {
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).Return(nil, errors.New("boom")).Times(3)
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.expectHandOff()
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(StageSnapshot, s.result().Stage)
}

func (s *onboardingSuite) TestDropWhileWaitingCreatesNothing() {
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).Return(failed, nil).Once()
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(SignalDrop, ControlSignal{Reason: "test"}) }, 10*time.Second)
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(StageDropped, s.result().Stage)
	s.env.AssertNotCalled(s.T(), activities.DropConnectorName, mock.Anything, mock.Anything)
}

func (s *onboardingSuite) TestPauseResumeWhileWaiting() {
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).Return(failed, nil).Once()
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.expectHandOff()
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(SignalPause, nil) }, 10*time.Second)
	s.env.RegisterDelayedCallback(func() {
		st := s.status()
		s.Equal(StagePaused, st.Stage)
		s.True(st.Paused)
		s.env.SignalWorkflow(SignalResume, nil)
	}, 3*time.Hour) // far past the backoff: a paused workflow does not re-check
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(StageSnapshot, s.result().Stage)
	s.GreaterOrEqual(s.env.Now().Sub(startTime(s.env)), 3*time.Hour)
}

func (s *onboardingSuite) TestPauseDuringCreateHoldsHandOffAndDropCleansUp() {
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.env.OnActivity(activities.CreateConnectorName, mock.Anything, mock.Anything).After(time.Minute).
		Return(&activities.CreateConnectorResult{Tables: 1}, nil).Once()
	s.env.OnActivity(activities.DropConnectorName, mock.Anything, mock.Anything).
		Return(&activities.DropConnectorResult{SlotDropped: true, Verified: true}, nil).Once()
	s.env.RegisterDelayedCallback(func() {
		s.Equal(StageCreatingConnector, s.status().Stage)
		s.env.SignalWorkflow(SignalPause, nil)
	}, 10*time.Second)
	s.env.RegisterDelayedCallback(func() {
		s.Equal(StagePaused, s.status().Stage)
		s.env.SignalWorkflow(SignalDrop, nil)
	}, 2*time.Hour)
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(StageDropped, s.result().Stage)
}

func (s *onboardingSuite) TestCreateFailureWaitsForResume() {
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.env.OnActivity(activities.CreateConnectorName, mock.Anything, mock.Anything).
		Return(nil, temporal.NewNonRetryableApplicationError("name taken by another source", activities.ErrTypeConflict, nil)).Once()
	s.expectHandOff()
	s.env.RegisterDelayedCallback(func() {
		st := s.status()
		s.Equal(StageFailed, st.Stage)
		s.Contains(st.Error, "name taken")
		s.Contains(st.Remedy, "ardent resume orders")
		s.env.SignalWorkflow(SignalResume, nil)
	}, time.Hour)
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(StageSnapshot, s.result().Stage)
}

func (s *onboardingSuite) TestGarbageSignalIsIgnored() {
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).Return(failed, nil).Once()
	s.env.OnActivity(activities.PreflightName, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.expectHandOff()
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(SignalSQLApplied, "not an object") }, 10*time.Second)
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(StageSnapshot, s.result().Stage)
}

func TestOnboardingRejectsBadInput(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	registerAll(env)
	in := input()
	in.SourceURL = ""
	env.ExecuteWorkflow(OnboardingWorkflow, in)
	require.True(t, env.IsWorkflowCompleted())
	var app *temporal.ApplicationError
	require.ErrorAs(t, env.GetWorkflowError(), &app)
	require.Equal(t, activities.ErrTypeInvalidInput, app.Type())
}

// startTime is the test clock's start, pinned so elapsed workflow time can be measured.
func startTime(*testsuite.TestWorkflowEnvironment) time.Time { return testStart }

var testStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
