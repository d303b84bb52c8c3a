package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
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
	s.env.RegisterWorkflowWithOptions(OnboardingWorkflow, workflow.RegisterOptions{Name: contract.WorkflowOnboarding})
	s.env.RegisterWorkflowWithOptions(ReplicationWorkflow, workflow.RegisterOptions{Name: contract.WorkflowReplication})
}

func (s *onboardingSuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

// registerAll registers stand-ins under the activities' contract names, so
// OnActivity mocks replace them: the workflows know activities by name and
// types only (the worker's tests check the real ones have these types).
func registerAll(env interface {
	RegisterActivityWithOptions(any, activity.RegisterOptions)
}) {
	reg := func(fn any, name string) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(func(context.Context, contract.PreflightInput) (*contract.PreflightReport, error) { panic("mocked") }, contract.ActivityPreflight)
	reg(func(context.Context, contract.CreateConnectorInput) (*contract.CreateConnectorResult, error) {
		panic("mocked")
	},
		contract.ActivityCreateConnector)
	reg(func(context.Context, contract.DropConnectorInput) (*contract.DropConnectorResult, error) {
		panic("mocked")
	},
		contract.ActivityDropConnector)
	reg(func(context.Context, contract.SnapshotInput) (*contract.SnapshotResult, error) { panic("mocked") }, contract.ActivitySnapshot)
	reg(func(context.Context, contract.ReplicateInput) (*contract.ReplicateResult, error) { panic("mocked") }, contract.ActivityReplicate)
	reg(func(context.Context, contract.VerifyInput) (*contract.VerifyReport, error) { panic("mocked") }, contract.ActivityVerify)
	reg(func(context.Context, contract.DiscoverTablesInput) (*contract.DiscoverTablesResult, error) {
		panic("mocked")
	},
		contract.ActivityDiscoverTables)
	reg(func(context.Context, contract.BackfillInput) (*contract.BackfillResult, error) { panic("mocked") }, contract.ActivityBackfill)
	reg(func(context.Context, contract.ListTablesInput) (*contract.TablesReport, error) { panic("mocked") }, contract.ActivityListTables)
	// The drift guard runs every 15 min in every test that lasts: a
	// source that passes every check, unless a test mocks it.
	reg(func(context.Context, contract.DriftCheckInput) (*contract.DriftReport, error) {
		return &contract.DriftReport{Checks: []contract.Check{{ID: contract.CheckSlot, Status: contract.CheckPass}}}, nil
	}, contract.ActivityDriftCheck)
}

func input() contract.OnboardingInput {
	return contract.OnboardingInput{Name: "orders", SourceURL: "postgres://u:secret@db/app", DestinationURL: "postgres://d/dst",
		SourceDisplay: "db:5432/app", BackoffInitial: time.Minute, BackoffMax: 4 * time.Minute, Deadline: time.Hour}
}

var (
	failed = &contract.PreflightReport{Passed: false, Checks: []contract.Check{{ID: "wal_level", Status: "fail", Message: "replica", Remedy: "set wal_level"}}}
	passed = &contract.PreflightReport{Passed: true, Checks: []contract.Check{{ID: "wal_level", Status: "pass"}}}
)

func (s *onboardingSuite) status() contract.Status {
	v, err := s.env.QueryWorkflow(contract.QueryStatus.Name)
	s.Require().NoError(err)
	var st contract.Status
	s.Require().NoError(v.Get(&st))
	return st
}

func (s *onboardingSuite) expectHandOff() {
	s.env.OnActivity(contract.ActivityCreateConnector, mock.Anything, mock.Anything).
		Return(&contract.CreateConnectorResult{SourceDisplay: "db:5432/app", Tables: 3, Slot: "ardent_orders"}, nil).Once()
	s.env.OnWorkflow(contract.WorkflowReplication, mock.Anything, mock.Anything).Return(nil).Once()
}

func (s *onboardingSuite) result() contract.OnboardingResult {
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().NoError(s.env.GetWorkflowError())
	var res contract.OnboardingResult
	s.Require().NoError(s.env.GetWorkflowResult(&res))
	return res
}

func (s *onboardingSuite) TestPassFirstTime() {
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.expectHandOff()
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	res := s.result()
	s.Equal(contract.StageHandedOff, res.Stage)
	s.Equal("replication-orders", res.ReplicationWorkflowID)
	st := s.status()
	s.Equal(contract.StageHandedOff, st.Stage, "a finished onboarding says where the connector went, not a stage it is not in")
	s.Equal("replication-orders", st.HandedOffTo)
}

func (s *onboardingSuite) TestFailThenSignalThenPass() {
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(failed, nil).Once()
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.expectHandOff()
	s.env.RegisterDelayedCallback(func() {
		st := s.status()
		s.Equal(contract.StageWaitingForSQL, st.Stage)
		s.Equal(1, st.Attempts)
		s.Require().NotNil(st.Report)
		s.Equal("wal_level", st.Report.Checks[0].ID)
		s.env.SignalWorkflow(contract.SignalSQLApplied.Name, contract.SQLAppliedSignal{Note: "applied"})
	}, 10*time.Second) // well before the 1 min backoff timer
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(contract.StageHandedOff, s.result().Stage)
	// The re-check followed the signal, not the timer.
	s.Less(s.env.Now().Sub(startTime(s.env)), time.Minute)
}

func (s *onboardingSuite) TestTimerRechecksWithoutSignalAndBacksOff() {
	var calls []time.Time
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).
		Run(func(mock.Arguments) { calls = append(calls, s.env.Now()) }).Return(failed, nil).Times(3)
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.expectHandOff()
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(contract.StageHandedOff, s.result().Stage)
	s.Require().Len(calls, 3)
	s.InDelta(time.Minute.Seconds(), calls[1].Sub(calls[0]).Seconds(), 1)
	s.InDelta((2 * time.Minute).Seconds(), calls[2].Sub(calls[1]).Seconds(), 1)
}

func (s *onboardingSuite) TestEarlySignalIsNotLost() {
	// sql-applied arrives while the first (failing) preflight still runs.
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).After(30*time.Second).Return(failed, nil).Once()
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.expectHandOff()
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalSQLApplied.Name, nil) }, 5*time.Second)
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(contract.StageHandedOff, s.result().Stage)
	s.Less(s.env.Now().Sub(startTime(s.env)), time.Minute, "the early signal triggered the re-check before the timer")
}

// preflightCalls mocks Preflight with results in turn and records when
// each ran (test clock, from the start).
func (s *onboardingSuite) preflightCalls(results ...*contract.PreflightReport) *[]time.Duration {
	at := new([]time.Duration)
	for _, r := range results {
		s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).
			Run(func(mock.Arguments) { *at = append(*at, s.env.Now().Sub(testStart)) }).Return(r, nil).Once()
	}
	return at
}

func (s *onboardingSuite) TestDuplicateSignalsCauseOneRecheck() {
	at := s.preflightCalls(failed, failed, passed)
	s.expectHandOff()
	// Three signals that reach the workflow together (one workflow task),
	// as `ardent signal sql-applied` run three times in a row does.
	s.env.RegisterDelayedCallback(func() {
		s.env.SignalWorkflowSkippingWorkflowTask(contract.SignalSQLApplied.Name, nil)
		s.env.SignalWorkflowSkippingWorkflowTask(contract.SignalSQLApplied.Name, contract.SQLAppliedSignal{Note: "again"})
		s.env.SignalWorkflow(contract.SignalSQLApplied.Name, nil)
	}, 10*time.Second)
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(contract.StageHandedOff, s.result().Stage)
	// One re-check at once for the three signals; the next waited for the
	// timer (the backoff started over: 1 min), not for a leftover signal.
	s.Equal([]time.Duration{0, 10 * time.Second, 10*time.Second + time.Minute}, *at)
}

func (s *onboardingSuite) TestDeadline() {
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(failed, nil)
	in := input()
	in.Deadline = 5 * time.Minute
	s.env.ExecuteWorkflow(OnboardingWorkflow, in)
	s.True(s.env.IsWorkflowCompleted())
	err := s.env.GetWorkflowError()
	s.Require().Error(err)
	s.Contains(err.Error(), "did not pass within 5m0s")
	s.Equal(contract.StageFailed, s.status().Stage)
}

func (s *onboardingSuite) TestPreflightActivityErrorKeepsLooping() {
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(nil, errors.New("boom")).Times(3)
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.expectHandOff()
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(contract.StageHandedOff, s.result().Stage)
}

func (s *onboardingSuite) TestDropWhileWaitingCreatesNothing() {
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(failed, nil).Once()
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalDrop.Name, contract.ControlSignal{Reason: "test"}) }, 10*time.Second)
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(contract.StageDropped, s.result().Stage)
	s.env.AssertNotCalled(s.T(), contract.ActivityDropConnector, mock.Anything, mock.Anything)
}

func (s *onboardingSuite) TestPauseResumeWhileWaiting() {
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(failed, nil).Once()
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.expectHandOff()
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalPause.Name, nil) }, 10*time.Second)
	s.env.RegisterDelayedCallback(func() {
		st := s.status()
		s.Equal(contract.StagePaused, st.Stage)
		s.True(st.Paused)
		s.env.SignalWorkflow(contract.SignalResume.Name, nil)
	}, 3*time.Hour) // far past the backoff: a paused workflow does not re-check
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(contract.StageHandedOff, s.result().Stage)
	s.GreaterOrEqual(s.env.Now().Sub(startTime(s.env)), 3*time.Hour)
}

func (s *onboardingSuite) TestPauseDuringCreateHoldsHandOffAndDropCleansUp() {
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.env.OnActivity(contract.ActivityCreateConnector, mock.Anything, mock.Anything).After(time.Minute).
		Return(&contract.CreateConnectorResult{Tables: 1}, nil).Once()
	s.env.OnActivity(contract.ActivityDropConnector, mock.Anything, mock.Anything).
		Return(&contract.DropConnectorResult{SlotDropped: true, Verified: true}, nil).Once()
	s.env.RegisterDelayedCallback(func() {
		s.Equal(contract.StageCreatingConnector, s.status().Stage)
		s.env.SignalWorkflow(contract.SignalPause.Name, nil)
	}, 10*time.Second)
	s.env.RegisterDelayedCallback(func() {
		s.Equal(contract.StagePaused, s.status().Stage)
		s.env.SignalWorkflow(contract.SignalDrop.Name, nil)
	}, 2*time.Hour)
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(contract.StageDropped, s.result().Stage)
}

func (s *onboardingSuite) TestCreateFailureWaitsForResume() {
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.env.OnActivity(contract.ActivityCreateConnector, mock.Anything, mock.Anything).
		Return(nil, temporal.NewNonRetryableApplicationError("name taken by another source", contract.ErrTypeConflict, nil)).Once()
	s.expectHandOff()
	s.env.RegisterDelayedCallback(func() {
		st := s.status()
		s.Equal(contract.StageFailed, st.Stage)
		s.Contains(st.Error, "name taken")
		s.Contains(st.Remedy, "ardent resume orders")
		s.env.SignalWorkflow(contract.SignalResume.Name, nil)
	}, time.Hour)
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(contract.StageHandedOff, s.result().Stage)
}

// TestGarbageSignalIsIgnored: an sql-applied whose payload is not an
// sql-applied object (sent by hand: `temporal workflow signal --input
// '"not an object"'`) makes no re-check; the timer's re-check still runs,
// and a real signal afterwards still works.
func (s *onboardingSuite) TestGarbageSignalIsIgnored() {
	at := s.preflightCalls(failed, failed, passed)
	s.expectHandOff()
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalSQLApplied.Name, "not an object") }, 10*time.Second)
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalSQLApplied.Name, []int{1, 2, 3}) }, 20*time.Second)
	s.env.RegisterDelayedCallback(func() {
		st := s.status()
		s.Equal(contract.StageWaitingForSQL, st.Stage)
		s.Equal(1, st.Attempts, "no re-check for garbage")
	}, 30*time.Second)
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalSQLApplied.Name, contract.SQLAppliedSignal{}) }, 90*time.Second)
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Equal(contract.StageHandedOff, s.result().Stage)
	s.Equal([]time.Duration{0, time.Minute, 90 * time.Second}, *at, "the timer re-checked at 1 min, then the real signal at 90 s")
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
	require.Equal(t, contract.ErrTypeInvalidInput, app.Type())
}

// startTime is the test clock's start, pinned so elapsed workflow time can be measured.
func startTime(*testsuite.TestWorkflowEnvironment) time.Time { return testStart }

var testStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestContinuesAsNewWhenSuggested: a long preflight loop keeps its history
// short; the next run carries the loop's state.
func (s *onboardingSuite) TestContinuesAsNewWhenSuggested() {
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(failed, nil).Once()
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalPause.Name, nil) }, 10*time.Second)
	s.env.RegisterDelayedCallback(func() { s.env.SetContinueAsNewSuggested(true) }, 20*time.Second)
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalResume.Name, nil) }, 30*time.Second)
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.Require().True(s.env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	s.Require().ErrorAs(s.env.GetWorkflowError(), &can)
	s.Equal(contract.WorkflowOnboarding, can.WorkflowType.Name)
	var next contract.OnboardingInput
	s.Require().NoError(converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	s.Equal("orders", next.Name)
	s.Equal(input().SourceURL, next.SourceURL)
	c := next.Carried
	s.Require().NotNil(c)
	s.Equal(testStart, c.StartedAt.UTC())
	s.Equal(testStart.Add(time.Hour), c.DeadlineAt.UTC(), "the deadline is the first run's")
	s.Equal(1, c.Attempts)
	s.Equal(time.Minute, c.Backoff, "paused while waiting: the backoff did not grow")
	s.Require().NotNil(c.Report)
	s.Equal("wal_level", c.Report.Checks[0].ID)
	s.False(c.Paused)
	s.Equal(1, c.Runs)
	s.Equal(30*time.Second, s.env.Now().Sub(testStart), "it continued between two preflight runs, at once")
}

// TestCarriedStateIsTheOnboardingsState: the run after continue-as-new
// looks like the same onboarding (started at, attempts) and keeps its
// deadline.
func (s *onboardingSuite) TestCarriedStateIsTheOnboardingsState() {
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(failed, nil).Once()
	in := input()
	in.Carried = &contract.OnboardingCarried{StartedAt: testStart.Add(-50 * time.Minute), DeadlineAt: testStart.Add(30 * time.Second),
		Backoff: 4 * time.Minute, Attempts: 7, Report: failed, Runs: 3}
	s.env.RegisterDelayedCallback(func() {
		st := s.status()
		s.Equal(contract.StageWaitingForSQL, st.Stage)
		s.Equal(8, st.Attempts)
		s.Equal(testStart.Add(-50*time.Minute), st.StartedAt.UTC())
		s.Equal(testStart.Add(30*time.Second), st.NextCheckAt.UTC(), "the wait ends at the carried deadline")
	}, 10*time.Second)
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(failed, nil).Once()
	s.env.ExecuteWorkflow(OnboardingWorkflow, in)
	s.Require().True(s.env.IsWorkflowCompleted())
	s.Require().ErrorContains(s.env.GetWorkflowError(), "did not pass within 1h0m0s")
	s.Equal(30*time.Second, s.env.Now().Sub(testStart))
}
