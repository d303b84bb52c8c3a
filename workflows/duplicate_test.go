package workflows

import (
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/contract"
)

// A source that already has a live connector fails the onboarding at the
// first preflight, naming that connector: no SQL can pass the check, so
// waiting for some (up to the 7-day deadline) helps nobody.
func (s *onboardingSuite) TestDuplicateSourceFailsAtOnce() {
	dup := &contract.PreflightReport{Passed: false, Checks: []contract.Check{
		{ID: "wal_level", Status: "pass"},
		{ID: contract.CheckDuplicateSource, Status: contract.CheckFail,
			Message: `this database (system 7, database app) is already connected to Ardent as connector "shop"`,
			Remedy:  "use the existing connector, or drop it first: ardent drop shop"},
	}}
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(dup, nil).Once()
	s.env.ExecuteWorkflow(OnboardingWorkflow, input())
	s.True(s.env.IsWorkflowCompleted())
	err := s.env.GetWorkflowError()
	s.Require().Error(err)
	var app *temporal.ApplicationError
	s.Require().ErrorAs(err, &app)
	s.Equal(contract.ErrTypeConflict, app.Type())
	s.True(app.NonRetryable())
	s.Contains(app.Message(), `connector "shop"`)
	st := s.status()
	s.Equal(contract.StageFailed, st.Stage)
	s.Contains(st.Error, `connector "shop"`)
	s.Contains(st.Remedy, "ardent drop shop")
	s.Less(s.env.Now().Sub(testStart), time.Minute, "it waited for SQL")
}
