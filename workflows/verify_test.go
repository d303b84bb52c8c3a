package workflows

import (
	"context"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ardent-cdc/ardent/contract"
)

// equalReport and diffReport are Verify results: every table equal, or
// public.b (and public.c when named) different.
func equalReport(lsn string) *contract.VerifyReport {
	return &contract.VerifyReport{Connector: "orders", LSN: lsn, Equal: true, Tables: []contract.VerifyTable{
		{Table: "public.a", Equal: true, SourceRows: 10, DestinationRows: 10},
		{Table: "public.b", Equal: true, SourceRows: 5, DestinationRows: 5},
	}}
}

func diffReport(lsn string, tables ...string) *contract.VerifyReport {
	r := &contract.VerifyReport{Connector: "orders", LSN: lsn, Tables: []contract.VerifyTable{
		{Table: "public.a", Equal: true, SourceRows: 10, DestinationRows: 10}}}
	for _, t := range tables {
		r.Tables = append(r.Tables, contract.VerifyTable{Table: t, SourceRows: 5, DestinationRows: 4, Key: "id",
			Ranges:   []contract.VerifyRange{{From: "1", To: "100", SourceRows: 5, DestinationRows: 4}},
			Examples: []contract.VerifyDifference{{Key: "42", Kind: "missing"}}})
	}
	return r
}

// verifyInput streams, verifying every 25 minutes, in runs of an hour.
func verifyInput() contract.ReplicationInput {
	in := streamingInput()
	in.VerifyInterval = 25 * time.Minute
	return in
}

// streamFor mocks one Replicate run that completes after d.
func (s *replicationSuite) streamFor(d time.Duration) {
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(d).
		Return(&contract.ReplicateResult{ConfirmedLSN: "0/2000000"}, nil).Once()
}

// verifyCalls mocks Verify with results in turn and records when each
// started and with which input.
func (s *replicationSuite) verifyCalls(results ...any) (starts *[]time.Duration, inputs *[]contract.VerifyInput) {
	starts, inputs = new([]time.Duration), new([]contract.VerifyInput)
	s.env.OnActivity(contract.ActivityVerify, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in contract.VerifyInput) (*contract.VerifyReport, error) {
			i := len(*starts)
			*starts = append(*starts, s.env.Now().Sub(testStart))
			*inputs = append(*inputs, in)
			if err, ok := results[i].(error); ok {
				return nil, err
			}
			return results[i].(*contract.VerifyReport), nil
		}).Times(len(results))
	return starts, inputs
}

// update sends the verify update and returns what it ended with.
type updateOutcome struct {
	rejected error
	report   *contract.VerifyReport
	err      error
	done     bool
}

func (s *replicationSuite) update(req contract.VerifyRequest) *updateOutcome {
	out := &updateOutcome{}
	s.env.UpdateWorkflow(contract.UpdateVerify.Name, "", &testsuite.TestUpdateCallback{
		OnReject: func(err error) { out.rejected, out.done = err, true },
		OnAccept: func() {},
		OnComplete: func(v any, err error) {
			out.done, out.err = true, err
			switch v := v.(type) {
			case *contract.VerifyReport:
				out.report = v
			case converter.EncodedValue:
				if v != nil && v.HasValue() {
					out.report = new(contract.VerifyReport)
					s.Require().NoError(v.Get(out.report))
				}
			}
		},
	}, req)
	return out
}

func (s *replicationSuite) TestPeriodicVerificationBesideTheStream() {
	s.streamFor(time.Hour)
	starts, inputs := s.verifyCalls(equalReport("0/3000000"), equalReport("0/3100000"))
	s.at(30*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageStreaming, st.Stage)
		s.Require().NotNil(st.Verify)
		s.True(st.Verify.Equal)
		s.Equal("0/3000000", st.Verify.LSN)
		s.Equal(2, st.Verify.Tables)
		s.Empty(st.Verify.Different)
		s.Require().NotNil(st.Verify.NextAt)
		s.Equal(testStart.Add(50*time.Minute), st.Verify.NextAt.UTC())
		s.False(st.Diverged)
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, verifyInput())
	next := s.continuedAsNew() // the stream ran its hour: never cancelled
	s.Equal([]time.Duration{25 * time.Minute, 50 * time.Minute}, *starts)
	s.Empty((*inputs)[0].Tables, "a periodic run verifies every table")
	s.Equal("orders", (*inputs)[0].Name)
	s.Require().NotNil(next.NextVerifyAt, "the due time survives continue-as-new")
	s.Equal(testStart.Add(75*time.Minute), next.NextVerifyAt.UTC())
	s.Require().NotNil(next.Verify)
	s.Equal("0/3100000", next.Verify.LSN)
	s.Equal(25*time.Minute, next.VerifyInterval)
}

func (s *replicationSuite) TestNextRunKeepsTheDueTime() {
	in := verifyInput()
	due := testStart.Add(10 * time.Minute)
	in.NextVerifyAt = &due
	s.streamFor(50 * time.Minute)
	starts, _ := s.verifyCalls(equalReport("0/3000000"), equalReport("0/3000000"))
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.continuedAsNew()
	s.Equal([]time.Duration{10 * time.Minute, 35 * time.Minute}, *starts)
}

func (s *replicationSuite) TestDefaultIntervalAndDisabled() {
	s.streamFor(time.Hour)
	s.env.ExecuteWorkflow(ReplicationWorkflow, streamingInput())
	next := s.continuedAsNew()
	s.Equal(contract.DefaultVerifyInterval, next.VerifyInterval)
	s.Require().NotNil(next.NextVerifyAt)
	s.Equal(testStart.Add(contract.DefaultVerifyInterval), next.NextVerifyAt.UTC())

	s.env.AssertExpectations(s.T())
	s.SetupTest()
	in := streamingInput()
	in.VerifyInterval = -1
	s.streamFor(time.Hour)
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	next = s.continuedAsNew()
	s.Nil(next.NextVerifyAt, "a negative interval disables periodic verification")
	s.env.AssertNotCalled(s.T(), contract.ActivityVerify, mock.Anything, mock.Anything)
}

func (s *replicationSuite) TestDivergenceNeedsAttentionWhileStreamingThenClears() {
	var stages []string
	s.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if v, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(stageKey); ok {
			stages = append(stages, v)
		}
	}).Return(nil)
	s.streamFor(time.Hour)
	s.verifyCalls(diffReport("0/3000000", "public.b", "public.c"), equalReport("0/3100000"))
	s.at(30*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageAttention, st.Stage, "a divergence needs the operator")
		s.True(st.Diverged, "the stream keeps running")
		s.Contains(st.Error, "destination differs from source in public.b, public.c at LSN 0/3000000")
		s.Contains(st.Remedy, "`ardent verify orders`")
		s.Contains(st.Remedy, "`ardent resync orders --table TABLE`")
		s.Require().NotNil(st.Verify)
		s.False(st.Verify.Equal)
		s.Equal([]string{"public.b", "public.c"}, st.Verify.Different)
		s.Require().NotNil(st.Verify.Report)
		s.Len(st.Verify.Report.Tables, 2, "only the tables that differ are kept")
		s.Equal("42", st.Verify.Report.Tables[0].Examples[0].Key)
	})
	s.at(55*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageStreaming, st.Stage, "an equal verification clears the divergence")
		s.False(st.Diverged)
		s.Empty(st.Error)
		s.Empty(st.Remedy)
		s.True(st.Verify.Equal)
		s.Nil(st.Verify.Report)
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, verifyInput())
	next := s.continuedAsNew() // Replicate completed its run: not cancelled
	s.Empty(next.Error, "a divergence does not park the connector")
	s.Equal([]string{"streaming", "attention", "streaming"}, stages)
}

func (s *replicationSuite) TestDivergenceCarriedAcrossContinueAsNew() {
	in := verifyInput()
	at := testStart.Add(-time.Hour)
	in.Verify = &contract.VerifySummary{At: &at, LSN: "0/3000000", Different: []string{"public.b"}}
	s.streamFor(20 * time.Minute)
	s.at(10*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageAttention, st.Stage)
		s.True(st.Diverged)
		s.Contains(st.Error, "public.b at LSN 0/3000000")
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	next := s.continuedAsNew()
	s.Require().NotNil(next.Verify)
	s.Equal([]string{"public.b"}, next.Verify.Different)
	s.Empty(next.Error)
}

func (s *replicationSuite) TestFailedVerificationIsRecordedAndChangesNoStage() {
	s.streamFor(time.Hour)
	notReached := temporal.NewNonRetryableApplicationError("the connector's apply did not reach the verify point",
		contract.ErrTypeApplyNotReached, nil, contract.FailureDetails{Remedy: "check `ardent status orders`"})
	s.verifyCalls(notReached, equalReport("0/3000000"))
	s.at(30*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageStreaming, st.Stage)
		s.Empty(st.Error)
		s.Require().NotNil(st.Verify)
		s.Contains(st.Verify.Error, "did not reach the verify point")
		s.NotNil(st.Verify.ErrorAt)
		s.Nil(st.Verify.At, "no verification completed yet")
	})
	s.at(55*time.Minute, func() {
		st := s.status()
		s.Empty(st.Verify.Error, "a completed verification clears the last failure")
		s.True(st.Verify.Equal)
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, verifyInput())
	s.continuedAsNew()
}

func (s *replicationSuite) TestFailureWhileDivergedParksAndResumeRestoresTheDivergence() {
	in := verifyInput()
	in.Verify = &contract.VerifySummary{LSN: "0/3000000", Different: []string{"public.b"}}
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(nil, mismatch).Once()
	s.streamFor(20 * time.Minute)
	s.at(10*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageAttention, st.Stage)
		s.False(st.Diverged, "parked on the schema mismatch, not the divergence")
		s.Contains(st.Error, `column "note"`)
		s.Contains(st.Remedy, "ALTER TABLE")
		s.env.SignalWorkflow(contract.SignalResume.Name, nil)
	})
	s.at(15*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageAttention, st.Stage)
		s.True(st.Diverged)
		s.Contains(st.Error, "destination differs from source in public.b")
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.continuedAsNew()
}

func (s *replicationSuite) TestUpdateReturnsTheReport() {
	s.streamFor(time.Hour)
	_, inputs := s.verifyCalls(diffReport("0/3000000", "public.b"))
	var out *updateOutcome
	s.at(5*time.Minute, func() { out = s.update(contract.VerifyRequest{Tables: []string{"public.a", "public.b"}}) })
	s.at(10*time.Minute, func() {
		s.Require().True(out.done)
		s.Require().NoError(out.rejected)
		s.Require().NoError(out.err)
		s.Require().NotNil(out.report)
		s.Equal("0/3000000", out.report.LSN)
		s.Equal([]string{"public.b"}, out.report.Different())
		s.Len(out.report.Tables, 2, "the update returns the whole report")
		st := s.status()
		s.Equal(contract.StageAttention, st.Stage)
		s.Contains(st.Error, "public.b")
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, verifyInput())
	s.continuedAsNew()
	s.Equal([]string{"public.a", "public.b"}, (*inputs)[0].Tables)
}

func (s *replicationSuite) TestUpdateOfSomeTablesKeepsTheOthersVerdict() {
	in := verifyInput()
	in.Verify = &contract.VerifySummary{LSN: "0/3000000", Different: []string{"public.b", "public.c"},
		Report: diffReport("0/3000000", "public.b", "public.c")}
	s.streamFor(time.Hour)
	s.verifyCalls(&contract.VerifyReport{LSN: "0/3100000", Equal: true, Tables: []contract.VerifyTable{{Table: "public.b", Equal: true}}})
	s.at(5*time.Minute, func() { s.update(contract.VerifyRequest{Tables: []string{"public.b"}}) })
	s.at(10*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageAttention, st.Stage, "public.c was not verified again: it still differs")
		s.Equal([]string{"public.c"}, st.Verify.Different)
		s.Require().NotNil(st.Verify.Report)
		s.Require().Len(st.Verify.Report.Tables, 1)
		s.Equal("public.c", st.Verify.Report.Tables[0].Table)
		s.Contains(st.Error, "public.c at LSN 0/3100000")
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.continuedAsNew()
}

func (s *replicationSuite) TestUpdateFailureCarriesTheActivityError() {
	s.streamFor(time.Hour)
	s.verifyCalls(temporal.NewNonRetryableApplicationError("the connector does not replicate public.nope (it replicates public.a)",
		contract.ErrTypeInvalidInput, nil))
	var out *updateOutcome
	s.at(5*time.Minute, func() { out = s.update(contract.VerifyRequest{Tables: []string{"public.nope"}}) })
	s.at(10*time.Minute, func() {
		s.Require().True(out.done)
		var app *temporal.ApplicationError
		s.Require().ErrorAs(out.err, &app)
		s.Equal(contract.ErrTypeInvalidInput, app.Type())
		s.Contains(app.Message(), "does not replicate public.nope")
		s.Equal(contract.StageStreaming, s.status().Stage)
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, verifyInput())
	s.continuedAsNew()
}

func (s *replicationSuite) TestUpdateRejectedUnlessStreaming() {
	in := verifyInput()
	in.Paused = true
	s.env.OnActivity(contract.ActivityDropConnector, mock.Anything, mock.Anything).Return(dropped, nil).Once()
	var paused, empty *updateOutcome
	s.at(time.Minute, func() {
		s.Equal(contract.StagePaused, s.status().Stage)
		paused = s.update(contract.VerifyRequest{})
		empty = s.update(contract.VerifyRequest{Tables: []string{" "}})
	})
	s.at(2*time.Minute, func() { s.env.SignalWorkflow(contract.SignalDrop.Name, nil) })
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.Require().NoError(s.env.GetWorkflowError())
	s.Require().Error(paused.rejected)
	s.Contains(paused.rejected.Error(), "connector orders is paused")
	s.Contains(paused.rejected.Error(), "`ardent resume orders` first")
	s.Require().Error(empty.rejected)
	s.Contains(empty.rejected.Error(), "empty table name")
	s.env.AssertNotCalled(s.T(), contract.ActivityVerify, mock.Anything, mock.Anything)
}

func (s *replicationSuite) TestUpdateRejectedWhileParkedOrRetrying() {
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(nil, transient("")).Once()
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(nil, mismatch).Once()
	s.env.OnActivity(contract.ActivityDropConnector, mock.Anything, mock.Anything).Return(dropped, nil).Once()
	var retrying, parked *updateOutcome
	s.at(time.Second, func() { retrying = s.update(contract.VerifyRequest{}) })
	s.at(time.Minute, func() {
		parked = s.update(contract.VerifyRequest{})
		s.env.SignalWorkflow(contract.SignalDrop.Name, nil)
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, verifyInput())
	s.Require().NoError(s.env.GetWorkflowError())
	s.Require().Error(retrying.rejected)
	s.Contains(retrying.rejected.Error(), "is retrying its stream")
	s.Require().Error(parked.rejected)
	s.Contains(parked.rejected.Error(), "stopped in stage attention")
}

func (s *replicationSuite) TestPauseCancelsARunningVerification() {
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(time.Hour).
		Return(&contract.ReplicateResult{}, nil).Once()
	s.env.OnActivity(contract.ActivityVerify, mock.Anything, mock.Anything).After(time.Hour).Return(equalReport("0/3000000"), nil).Once()
	s.env.OnActivity(contract.ActivityDropConnector, mock.Anything, mock.Anything).Return(dropped, nil).Once()
	var out *updateOutcome
	s.at(time.Minute, func() { out = s.update(contract.VerifyRequest{}) })
	s.at(2*time.Minute, func() {
		st := s.status()
		s.Require().NotNil(st.Verify)
		s.NotNil(st.Verify.RunningSince)
		s.env.SignalWorkflow(contract.SignalPause.Name, nil)
	})
	s.at(5*time.Minute, func() {
		s.Require().True(out.done)
		var app *temporal.ApplicationError
		s.Require().ErrorAs(out.err, &app)
		s.Equal(contract.ErrTypeVerifyCancelled, app.Type())
		s.Contains(app.Message(), "paused")
		st := s.status()
		s.Equal(contract.StagePaused, st.Stage)
		s.Nil(st.Verify.RunningSince)
		s.Empty(st.Verify.Error, "a cancelled verification is no failure")
		s.env.SignalWorkflow(contract.SignalDrop.Name, nil)
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, verifyInput())
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(contract.StageDropped, s.status().Stage)
}

func (s *replicationSuite) TestRunEndingDuringAVerificationStreamsOnBeforeContinuingAsNew() {
	s.streamFor(time.Hour)
	s.streamFor(time.Hour)
	s.env.OnActivity(contract.ActivityVerify, mock.Anything, mock.Anything).After(20*time.Minute).Return(equalReport("0/3000000"), nil).Once()
	var out *updateOutcome
	s.at(50*time.Minute, func() { out = s.update(contract.VerifyRequest{}) })
	s.at(65*time.Minute, func() {
		s.False(out.done, "the verification still runs")
		s.Equal(contract.StageStreaming, s.status().Stage)
	})
	in := verifyInput()
	in.VerifyInterval = -1
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.continuedAsNew()
	s.Require().True(out.done)
	s.Require().NoError(out.err)
	s.Equal(2*time.Hour, s.env.Now().Sub(testStart), "a second run, then continue-as-new")
}

func (s *replicationSuite) TestVerifySignal() {
	in := verifyInput()
	in.VerifyInterval = -1
	s.streamFor(time.Hour)
	starts, inputs := s.verifyCalls(diffReport("0/3000000", "public.b"))
	s.at(5*time.Minute, func() {
		s.env.SignalWorkflow(contract.SignalVerify.Name, contract.VerifySignal{Tables: []string{"public.b"}})
	})
	s.at(10*time.Minute, func() { s.Equal(contract.StageAttention, s.status().Stage) })
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.continuedAsNew()
	s.Equal([]time.Duration{5 * time.Minute}, *starts)
	s.Equal([]string{"public.b"}, (*inputs)[0].Tables)
}

// TestGarbageVerifySignalIsIgnored: a verify signal whose payload is not a
// verify object starts nothing and holds nothing up: the periodic run
// after it still runs on time.
func (s *replicationSuite) TestGarbageVerifySignalIsIgnored() {
	s.streamFor(time.Hour)
	starts, inputs := s.verifyCalls(equalReport("0/3000000"), equalReport("0/3100000"))
	s.at(5*time.Minute, func() { s.env.SignalWorkflow(contract.SignalVerify.Name, "every table, please") })
	s.env.ExecuteWorkflow(ReplicationWorkflow, verifyInput())
	s.continuedAsNew()
	s.Equal([]time.Duration{25 * time.Minute, 50 * time.Minute}, *starts, "only the periodic runs")
	s.Empty((*inputs)[0].Tables)
}

func (s *replicationSuite) TestPeriodicRunSkippedWhenNotStreaming() {
	in := verifyInput()
	in.Paused = true
	s.streamFor(time.Hour)
	starts, _ := s.verifyCalls(equalReport("0/3000000"))
	s.at(30*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StagePaused, st.Stage)
		s.Require().NotNil(st.Verify)
		s.Nil(st.Verify.At, "skipped")
		s.Equal(testStart.Add(50*time.Minute), st.Verify.NextAt.UTC(), "rescheduled")
		s.env.SignalWorkflow(contract.SignalResume.Name, nil)
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.continuedAsNew()
	s.Equal([]time.Duration{50 * time.Minute}, *starts)
}

func (s *replicationSuite) TestRecoveryAfterRetriesKeepsTheDivergence() {
	in := verifyInput()
	in.Verify = &contract.VerifySummary{LSN: "0/3000000", Different: []string{"public.b"}}
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(nil, transient("")).Once()
	s.streamFor(20 * time.Minute)
	s.at(time.Second, func() { s.Equal(contract.StageRetrying, s.status().Stage) })
	s.at(10*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageAttention, st.Stage, "a recovered stream is not called streaming while the divergence stands")
		s.True(st.Diverged)
		s.Contains(st.Error, "public.b")
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.continuedAsNew()
}

func (s *onboardingSuite) TestHandOffCarriesTheVerifyInterval() {
	s.env.OnActivity(contract.ActivityPreflight, mock.Anything, mock.Anything).Return(passed, nil).Once()
	s.env.OnActivity(contract.ActivityCreateConnector, mock.Anything, mock.Anything).
		Return(&contract.CreateConnectorResult{SourceDisplay: "db:5432/app", Tables: 3, Slot: "ardent_orders"}, nil).Once()
	var got contract.ReplicationInput
	s.env.OnWorkflow(contract.WorkflowReplication, mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) { got = args.Get(1).(contract.ReplicationInput) }).Return(nil).Once()
	in := input()
	in.VerifyInterval = -1
	s.env.ExecuteWorkflow(OnboardingWorkflow, in)
	s.result()
	s.Equal(time.Duration(-1), got.VerifyInterval)
}
