package workflows

import (
	"context"
	"encoding/json"
	"time"

	"github.com/stretchr/testify/mock"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/contract"
)

// streamingInput is a connector past its snapshot.
func streamingInput() contract.ReplicationInput {
	in := repInput()
	in.Snapshot = snapDone // consistent at 0/16B3748
	return in
}

var (
	mismatch = temporal.NewNonRetryableApplicationError(
		`schema mismatch: the destination refused a change to "app"."orders" (column "note"): column "note" of relation "orders" does not exist (SQLSTATE 42703)`,
		contract.ErrTypeSchemaMismatch, nil, contract.FailureDetails{
			Remedy: "make the destination table match the source (e.g. ALTER TABLE \"app\".\"orders\" ADD COLUMN \"note\" <type as on the source>), " +
				"then `ardent resume orders`; or `ardent drop orders` and onboard again"})
	dropped = &contract.DropConnectorResult{SlotDropped: true, Verified: true}
)

// transient is a retryable Replicate failure that got to lsn ("" = no
// position reported).
func transient(lsn string) error {
	return temporal.NewApplicationError("apply 3 changes to the destination: connection reset by peer",
		contract.ErrTypeTransient, contract.FailureDetails{ConfirmedLSN: lsn})
}

func (s *replicationSuite) at(d time.Duration, f func()) { s.env.RegisterDelayedCallback(f, d) }

func (s *replicationSuite) TestSchemaMismatchParksInAttentionThenDrop() {
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(nil, mismatch).Once()
	s.env.OnActivity(contract.ActivityDropConnector, mock.Anything, mock.Anything).Return(dropped, nil).Once()
	s.at(time.Hour, func() {
		st := s.status()
		s.Equal(contract.StageAttention, st.Stage, "a schema mismatch waits for the operator, it is not retried")
		s.Contains(st.Error, `"app"."orders"`)
		s.Contains(st.Error, `column "note"`)
		s.Contains(st.Remedy, `ALTER TABLE "app"."orders" ADD COLUMN "note"`)
		s.Contains(st.Remedy, "`ardent resume orders`")
		s.Zero(st.Attempt)
		s.Nil(st.NextTryAt)
		s.env.SignalWorkflow(contract.SignalDrop.Name, nil)
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, streamingInput())
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(contract.StageDropped, s.status().Stage)
}

func (s *replicationSuite) TestResumeFromAttentionRetries() {
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(nil, mismatch).Once()
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(time.Hour).
		Return(&contract.ReplicateResult{ConfirmedLSN: "0/2000000"}, nil).Once()
	s.at(time.Hour, func() {
		s.Equal(contract.StageAttention, s.status().Stage)
		s.env.SignalWorkflow(contract.SignalResume.Name, nil)
	})
	s.at(90*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageStreaming, st.Stage)
		s.Empty(st.Error)
		s.Empty(st.Remedy)
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, streamingInput())
	next := s.continuedAsNew()
	s.Empty(next.Error)
	s.Equal("0/2000000", next.ConfirmedLSN)
}

func (s *replicationSuite) TestRetryingThenStreaming() {
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(nil, transient("")).Twice()
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(time.Hour).
		Return(&contract.ReplicateResult{ConfirmedLSN: "0/2000000"}, nil).Once()
	// Attempt 1 fails at 0 s (next at 2 s), attempt 2 at 2 s (next at 6 s).
	s.at(time.Second, func() {
		st := s.status()
		s.Equal(contract.StageRetrying, st.Stage)
		s.Equal(1, st.Attempt)
		s.Equal(contract.DefaultMaxAttempts, st.MaxAttempts)
		s.Contains(st.LastError, "connection reset by peer")
		s.Require().NotNil(st.NextTryAt)
		s.Equal(testStart.Add(2*time.Second), st.NextTryAt.UTC())
		s.Empty(st.Error, "retrying is not failed")
	})
	s.at(5*time.Second, func() {
		st := s.status()
		s.Equal(contract.StageRetrying, st.Stage)
		s.Equal(2, st.Attempt)
		s.Require().NotNil(st.NextTryAt)
		s.Equal(testStart.Add(6*time.Second), st.NextTryAt.UTC())
	})
	s.at(time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageRetrying, st.Stage, "an attempt after failures is retrying until it has proven itself")
		s.Nil(st.NextTryAt, "an attempt is running")
	})
	s.at(10*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageStreaming, st.Stage)
		s.Zero(st.Attempt)
		s.Empty(st.LastError)
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, streamingInput())
	next := s.continuedAsNew()
	s.Zero(next.Attempt, "a completed run clears the count")
	s.Empty(next.LastError)
	s.Empty(next.Error)
}

func (s *replicationSuite) TestRetriesWithoutProgressEndInFailed() {
	in := streamingInput()
	in.MaxAttempts = 3
	// Each attempt resumes from the same checkpoint and fails on the same
	// change: no progress (the snapshot's consistent LSN is the base).
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(nil, transient(snapDone.ConsistentLSN)).Times(3)
	s.env.OnActivity(contract.ActivityDropConnector, mock.Anything, mock.Anything).Return(dropped, nil).Once()
	s.at(time.Hour, func() {
		st := s.status()
		s.Equal(contract.StageFailed, st.Stage)
		s.Contains(st.Error, "3 times in a row without progress")
		s.Contains(st.Error, "connection reset by peer")
		s.Contains(st.Remedy, "`ardent resume orders`")
		s.Contains(st.Remedy, "`ardent drop orders`")
		s.Nil(st.NextTryAt)
		s.env.SignalWorkflow(contract.SignalDrop.Name, nil)
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(contract.StageDropped, s.status().Stage)
}

func (s *replicationSuite) TestResumeAfterFailedStartsAFreshCount() {
	in := streamingInput()
	in.MaxAttempts = 2
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(nil, transient("")).Times(2)
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(&contract.ReplicateResult{}, nil).Once()
	s.at(time.Hour, func() {
		s.Equal(contract.StageFailed, s.status().Stage)
		s.env.SignalWorkflow(contract.SignalResume.Name, nil)
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	next := s.continuedAsNew()
	s.Zero(next.Attempt)
	s.Empty(next.Error)
}

func (s *replicationSuite) TestProgressBetweenFailuresResetsTheBound() {
	in := streamingInput()
	in.MaxAttempts = 2
	// Workers killed under load: every attempt applied something before it
	// died, reported in its error or (heartbeat timeout) its last heartbeat.
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(nil, transient("0/2000000")).Once()
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).
		Return(nil, temporal.NewHeartbeatTimeoutError(contract.ReplicationProgress{ConfirmedLSN: "0/3000000"})).Once()
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(nil, transient("0/4000000")).Once()
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).
		Return(nil, temporal.NewHeartbeatTimeoutError(contract.ReplicationProgress{ConfirmedLSN: "1/0"})).Once()
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(&contract.ReplicateResult{ConfirmedLSN: "1/100"}, nil).Once()
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	next := s.continuedAsNew()
	s.Zero(next.Attempt)
	s.Equal("1/100", next.ConfirmedLSN)
}

func (s *replicationSuite) TestTimeoutsWithoutProgressCount() {
	in := streamingInput()
	in.MaxAttempts = 2
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(nil, temporal.NewHeartbeatTimeoutError()).Twice()
	s.env.OnActivity(contract.ActivityDropConnector, mock.Anything, mock.Anything).Return(dropped, nil).Once()
	s.at(time.Hour, func() {
		st := s.status()
		s.Equal(contract.StageFailed, st.Stage)
		s.Contains(st.Error, "2 times in a row")
		s.env.SignalWorkflow(contract.SignalDrop.Name, nil)
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.Require().NoError(s.env.GetWorkflowError())
}

func (s *replicationSuite) TestResumeWhileRetryingTriesNow() {
	var starts []time.Time
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(
		func(context.Context, contract.ReplicateInput) (*contract.ReplicateResult, error) {
			starts = append(starts, s.env.Now())
			if len(starts) < 5 {
				return nil, transient("")
			}
			return &contract.ReplicateResult{}, nil
		}).Times(5)
	// The 4th failure waits 16 s; resume 1 s into it.
	s.at(15*time.Second, func() {
		st := s.status()
		s.Equal(4, st.Attempt)
		s.Require().NotNil(st.NextTryAt)
		s.Equal(testStart.Add(30*time.Second), st.NextTryAt.UTC())
		s.env.SignalWorkflow(contract.SignalResume.Name, nil)
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, streamingInput())
	s.continuedAsNew()
	s.Require().Len(starts, 5)
	s.Equal(testStart.Add(15*time.Second), starts[4].UTC())
}

func (s *replicationSuite) TestContinueAsNewWhileRetryingKeepsTheCount() {
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(nil, transient("")).Once()
	s.at(time.Second, func() { s.env.SetContinueAsNewSuggested(true) })
	s.env.ExecuteWorkflow(ReplicationWorkflow, streamingInput())
	next := s.continuedAsNew()
	s.Equal(1, next.Attempt)
	s.Contains(next.LastError, "connection reset by peer")
	s.Equal(0, next.Runs-1, "one continue-as-new")
}

func (s *replicationSuite) TestStatusJSONNames() {
	next := testStart.Add(time.Second)
	b, err := json.Marshal(contract.Status{Stage: contract.StageRetrying, Attempt: 2, MaxAttempts: 10, LastError: "boom", NextTryAt: &next})
	s.Require().NoError(err)
	for _, k := range []string{`"stage":"retrying"`, `"attempt":2`, `"max_attempts":10`, `"last_error":"boom"`, `"next_try_at":`} {
		s.Contains(string(b), k)
	}
}

// `ardent list` and the Web UI read the stage from the ArdentStage search
// attribute: retrying and attention must reach it.
func (s *replicationSuite) TestRetryingAndAttentionReachTheSearchAttribute() {
	var stages []string
	s.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if v, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(stageKey); ok {
			stages = append(stages, v)
		}
	}).Return(nil)
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(nil, transient("")).Once()
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(nil, mismatch).Once()
	s.env.OnActivity(contract.ActivityDropConnector, mock.Anything, mock.Anything).Return(dropped, nil).Once()
	s.at(time.Hour, func() { s.env.SignalWorkflow(contract.SignalDrop.Name, nil) })
	s.env.ExecuteWorkflow(ReplicationWorkflow, streamingInput())
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal([]string{"streaming", "retrying", "attention", "dropped"}, stages)
}

// A worker killed mid-stream: its attempt times out on its heartbeat. After
// progress the next attempt starts at once (the timeout was the wait);
// timeouts without progress and other failures back off.
func (s *replicationSuite) TestRetryWaitAfterFailure() {
	lostAt := func(lsn string) error {
		return temporal.NewHeartbeatTimeoutError(contract.ReplicationProgress{ConfirmedLSN: lsn})
	}
	for _, c := range []struct {
		name string
		errs []error
		want []time.Duration // each attempt's start after the first
	}{
		{"worker lost after progress", []error{lostAt("0/2000000"), lostAt("0/3000000")}, []time.Duration{0, 0}},
		{"worker lost without progress", []error{lostAt(""), lostAt("")}, []time.Duration{0, 4 * time.Second}},
		{"transient after progress", []error{transient("0/2000000")}, []time.Duration{2 * time.Second}},
		{"start-to-close timeout", []error{temporal.NewTimeoutError(enumspb.TIMEOUT_TYPE_START_TO_CLOSE, nil)}, []time.Duration{2 * time.Second}},
	} {
		s.Run(c.name, func() {
			s.SetupTest()
			var starts []time.Time
			s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).Return(
				func(context.Context, contract.ReplicateInput) (*contract.ReplicateResult, error) {
					starts = append(starts, s.env.Now())
					if n := len(starts); n <= len(c.errs) {
						return nil, c.errs[n-1]
					}
					return &contract.ReplicateResult{}, nil
				}).Times(len(c.errs) + 1)
			s.env.ExecuteWorkflow(ReplicationWorkflow, streamingInput())
			s.continuedAsNew()
			s.Require().Len(starts, len(c.errs)+1)
			var got []time.Duration
			for i := 1; i < len(starts); i++ {
				got = append(got, starts[i].Sub(starts[i-1]))
			}
			s.Equal(c.want, got)
			s.env.AssertExpectations(s.T())
		})
	}
}
