package workflows

import (
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/contract"
)

// A snapshot waiting for the snapshot scheduler shows stage queued, with
// why and since when, in the status, the search attribute and the Web UI
// details; its copy's start makes it snapshot again, then streaming.
func (s *replicationSuite) TestQueuedSnapshot() {
	var stages []string
	s.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		if v, ok := args.Get(0).(temporal.SearchAttributes).GetKeyword(stageKey); ok {
			stages = append(stages, v)
		}
	}).Return(nil)
	s.env.OnActivity(contract.ActivitySnapshot, mock.Anything, mock.Anything).After(time.Hour).Return(snapDone, nil).Once()
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(time.Hour).
		Return(&contract.ReplicateResult{}, nil).Once()
	since := testStart.Add(30 * time.Second)
	wait := &contract.QueueWait{Reason: contract.QueueReasonSourceHost, Host: "db:5432", Running: 2, Limit: 2, Since: since}
	s.at(time.Minute, func() {
		s.env.SignalWorkflow(contract.SignalProgress.Name, contract.ProgressReport{Snapshot: &contract.SnapshotProgress{Tables: 3, Queued: wait}})
	})
	s.at(2*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageQueued, st.Stage)
		s.Require().NotNil(st.Queued)
		s.Equal(*wait, *st.Queued)
		d := s.details()
		s.Contains(d, "**Stage: queued**")
		s.Contains(d, "Initial snapshot queued since "+stamp(since)+": waiting for the source host db:5432 (2 of 2 running)")
		// The copy starts.
		s.env.SignalWorkflow(contract.SignalProgress.Name, contract.ProgressReport{Snapshot: &contract.SnapshotProgress{Tables: 3}})
	})
	s.at(3*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageSnapshot, st.Stage)
		s.Nil(st.Queued)
		s.NotContains(s.details(), "queued")
	})
	s.at(90*time.Minute, func() { s.Equal(contract.StageStreaming, s.status().Stage) })
	s.env.ExecuteWorkflow(ReplicationWorkflow, repInput())
	s.continuedAsNew()
	s.Equal([]string{"snapshot", "queued", "snapshot", "streaming"}, stages)
}

// A queued report that arrives after the snapshot ended (here: failed)
// moves no stage.
func (s *replicationSuite) TestQueuedReportAfterSnapshotIgnored() {
	s.env.OnActivity(contract.ActivitySnapshot, mock.Anything, mock.Anything).
		Return(nil, temporal.NewNonRetryableApplicationError("source gone", contract.ErrTypePermanent, nil)).Once()
	s.at(time.Minute, func() {
		s.env.SignalWorkflow(contract.SignalProgress.Name, contract.ProgressReport{Snapshot: &contract.SnapshotProgress{
			Queued: &contract.QueueWait{Reason: contract.QueueReasonWorker, Running: 2, Limit: 2, Since: testStart}}})
	})
	s.at(2*time.Minute, func() {
		st := s.status()
		s.Equal(contract.StageFailed, st.Stage)
		s.Nil(st.Queued)
		s.env.SignalWorkflow(contract.SignalDrop.Name, nil)
	})
	s.env.OnActivity(contract.ActivityDropConnector, mock.Anything, mock.Anything).Return(&contract.DropConnectorResult{}, nil).Once()
	s.env.ExecuteWorkflow(ReplicationWorkflow, repInput())
	s.Require().True(s.env.IsWorkflowCompleted())
}
