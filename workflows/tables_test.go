package workflows

import (
	"context"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/ardent-cdc/ardent/contract"
)

// tablesInput streams with discovery every minute.
func tablesInput() contract.ReplicationInput {
	in := streamingInput()
	in.DiscoverInterval = time.Minute
	in.VerifyInterval = -1
	return in
}

// discoverReturns mocks DiscoverTables: results in turn, then nothing new.
func (s *replicationSuite) discoverReturns(results ...*contract.DiscoverTablesResult) *[]contract.DiscoverTablesInput {
	inputs := new([]contract.DiscoverTablesInput)
	s.env.OnActivity(contract.ActivityDiscoverTables, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in contract.DiscoverTablesInput) (*contract.DiscoverTablesResult, error) {
			*inputs = append(*inputs, in)
			if i := len(*inputs) - 1; i < len(results) {
				return results[i], nil
			}
			return &contract.DiscoverTablesResult{}, nil
		})
	return inputs
}

// backfills mocks Backfill, each taking d, and records the tables.
func (s *replicationSuite) backfills(d time.Duration) *[]string {
	tables := new([]string)
	s.env.OnActivity(contract.ActivityBackfill, mock.Anything, mock.Anything).After(d).Return(
		func(_ context.Context, in contract.BackfillInput) (*contract.BackfillResult, error) {
			*tables = append(*tables, in.Table)
			return &contract.BackfillResult{Table: in.Table, Rows: 100, HandedOverLSN: "0/3000000"}, nil
		})
	return tables
}

// TestNewTableIsBackfilledBesideTheStream: a table discovery finds is
// backfilled while the stream runs, shown in the status; the workflow
// continues as new only after the backfill.
func (s *replicationSuite) TestNewTableIsBackfilledBesideTheStream() {
	s.discoverReturns(&contract.DiscoverTablesResult{Backfill: []string{"public.new"}})
	done := s.backfills(50 * time.Minute)
	s.streamFor(30 * time.Minute) // a first run ends while the backfill runs: one more run
	s.streamFor(time.Hour)
	s.env.RegisterDelayedCallback(func() {
		st := s.status()
		s.Require().NotNil(st.Tables)
		s.Equal("public.new", st.Tables.Backfilling)
		s.Equal(contract.StageStreaming, st.Stage)
	}, 10*time.Minute)
	s.env.ExecuteWorkflow(ReplicationWorkflow, tablesInput())
	next := s.continuedAsNew()
	s.Equal([]string{"public.new"}, *done)
	s.Require().NotNil(next.Tables)
	s.Require().NotNil(next.Tables.LastBackfill)
	s.Equal("public.new", next.Tables.LastBackfill.Table)
	s.Empty(next.Backfills)
}

// TestResyncAndQuarantine: the resync signal queues tables; a quarantined
// table puts the connector in attention while it streams, naming the table
// and the remedy, until discovery no longer reports it.
func (s *replicationSuite) TestResyncAndQuarantine() {
	q := contract.TableInfo{Table: "public.bad", State: contract.TableQuarantined, Cause: "no usable replica identity",
		Remedy: "run ALTER TABLE public.bad REPLICA IDENTITY FULL on the source"}
	s.discoverReturns(&contract.DiscoverTablesResult{Attention: []contract.TableInfo{q}},
		&contract.DiscoverTablesResult{Attention: []contract.TableInfo{q}})
	done := s.backfills(time.Minute)
	s.streamFor(time.Hour)
	s.env.RegisterDelayedCallback(func() {
		st := s.status()
		s.Equal(contract.StageAttention, st.Stage)
		s.Contains(st.Error, "public.bad quarantined: no usable replica identity")
		s.Contains(st.Remedy, "REPLICA IDENTITY FULL")
		s.env.SignalWorkflow(contract.SignalResync.Name, contract.TablesSignal{Tables: []string{"public.a", "public.b"}})
	}, 90*time.Second)
	s.env.RegisterDelayedCallback(func() {
		s.Equal(contract.StageStreaming, s.status().Stage, "the third discovery no longer reports it")
	}, 4*time.Minute)
	s.env.ExecuteWorkflow(ReplicationWorkflow, tablesInput())
	s.continuedAsNew()
	s.Equal([]string{"public.a", "public.b"}, *done, "one at a time, in order")
}

// TestPauseCancelsTheBackfillAndRequeuesIt: a pause cancels the running
// backfill; after resume it runs again.
func (s *replicationSuite) TestPauseCancelsTheBackfillAndRequeuesIt() {
	in := tablesInput()
	in.Backfills = []string{"public.x"}
	s.discoverReturns()
	calls := 0
	s.env.OnActivity(contract.ActivityBackfill, mock.Anything, mock.Anything).After(10 * time.Minute).Return(
		func(_ context.Context, bin contract.BackfillInput) (*contract.BackfillResult, error) {
			calls++
			return &contract.BackfillResult{Table: bin.Table}, nil
		})
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(time.Hour).
		Return(&contract.ReplicateResult{ConfirmedLSN: "0/2000000"}, nil)
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(contract.SignalPause.Name, contract.ControlSignal{}) }, time.Second)
	s.env.RegisterDelayedCallback(func() {
		s.Equal([]string{"public.x"}, s.status().Tables.Queued, "back in the queue")
		s.env.SignalWorkflow(contract.SignalResume.Name, contract.ControlSignal{})
	}, time.Minute)
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.continuedAsNew()
	s.Equal(2, calls, "started, cancelled by the pause, started again after the resume")
}

// TestCatalogChangedDiscoversAtOnce: the stream's report that the source's
// tables changed runs a discovery at once, not at the next interval, and
// what it finds is backfilled.
func (s *replicationSuite) TestCatalogChangedDiscoversAtOnce() {
	in := tablesInput()
	in.DiscoverInterval = time.Hour // the backstop stays out of the test
	inputs := s.discoverReturns(&contract.DiscoverTablesResult{Backfill: []string{"public.new"}})
	var at time.Time
	s.env.OnActivity(contract.ActivityBackfill, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, bin contract.BackfillInput) (*contract.BackfillResult, error) {
			at = s.env.Now()
			return &contract.BackfillResult{Table: bin.Table}, nil
		})
	s.streamFor(30 * time.Minute)
	var start time.Time
	s.env.RegisterDelayedCallback(func() {
		s.Empty(*inputs, "no discovery before the report")
		start = s.env.Now()
		s.env.SignalWorkflow(contract.SignalProgress.Name, contract.ProgressReport{CatalogChanged: true, At: start})
	}, 5*time.Minute)
	s.env.ExecuteWorkflow(ReplicationWorkflow, in)
	s.continuedAsNew()
	s.Require().Len(*inputs, 1, "one discovery, the reported one")
	s.Require().False(at.IsZero(), "the table it found was backfilled")
	s.Less(at.Sub(start), time.Minute)
}
