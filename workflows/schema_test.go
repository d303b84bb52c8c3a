package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ardent-cdc/ardent/contract"
)

// historyOutcome is what a schema-history update ended with.
type historyOutcome struct {
	rejected error
	report   *contract.SchemaHistoryReport
	err      error
	done     bool
}

func (s *replicationSuite) schemaHistoryUpdate(req contract.SchemaHistoryRequest) *historyOutcome {
	out := &historyOutcome{}
	s.env.UpdateWorkflow(contract.UpdateSchemaHistory.Name, "", &testsuite.TestUpdateCallback{
		OnReject: func(err error) { out.rejected, out.done = err, true },
		OnAccept: func() {},
		OnComplete: func(v any, err error) {
			out.done, out.err = true, err
			switch v := v.(type) {
			case *contract.SchemaHistoryReport:
				out.report = v
			case converter.EncodedValue:
				if v != nil && v.HasValue() {
					out.report = new(contract.SchemaHistoryReport)
					s.Require().NoError(v.Get(out.report))
				}
			}
		},
	}, req)
	return out
}

// stubSchemaHistory stands in for the SchemaHistory activity: it records
// its inputs and answers with the changes of the table asked for (all
// when none is), or fails with failWith.
func (s *replicationSuite) stubSchemaHistory(failWith error) *[]contract.SchemaHistoryInput {
	inputs := new([]contract.SchemaHistoryInput)
	at := testStart.Add(5 * time.Minute)
	all := []contract.SchemaChangeInfo{
		{Table: "public.orders", LSN: "0/3000010", Change: "column note added (text)",
			Statement: `ALTER TABLE "public"."orders" ADD COLUMN "note" text`, Outcome: "applied", At: at},
		{Table: "public.items", LSN: "0/3000000", Change: "column qty retyped integer -> text", Outcome: "quarantined",
			Detail: "a narrowing the policy does not follow", At: at},
	}
	s.env.RegisterActivityWithOptions(func(_ context.Context, in contract.SchemaHistoryInput) (*contract.SchemaHistoryReport, error) {
		*inputs = append(*inputs, in)
		if failWith != nil {
			return nil, failWith
		}
		rep := &contract.SchemaHistoryReport{Connector: in.Name, Changes: []contract.SchemaChangeInfo{}}
		for _, c := range all {
			if in.Table == "" || in.Table == c.Table {
				rep.Changes = append(rep.Changes, c)
			}
		}
		return rep, nil
	}, activity.RegisterOptions{Name: contract.ActivitySchemaHistory})
	return inputs
}

// historyInput streams for an hour with no discovery and no verification:
// the update's activity is the only one beside the stream.
func historyInput() contract.ReplicationInput {
	in := streamingInput()
	in.DiscoverInterval, in.VerifyInterval = -1, -1
	return in
}

// TestSchemaHistoryUpdate: the update runs the SchemaHistory activity
// with the connector's name and the request's table and limit, and
// returns its report; requests out of range are rejected before any
// activity runs.
func (s *replicationSuite) TestSchemaHistoryUpdate() {
	inputs := s.stubSchemaHistory(nil)
	s.streamFor(time.Hour)
	var all, one, negative, tooMany, blank *historyOutcome
	s.at(10*time.Minute, func() {
		all = s.schemaHistoryUpdate(contract.SchemaHistoryRequest{})
		one = s.schemaHistoryUpdate(contract.SchemaHistoryRequest{Table: "public.items", Limit: 5})
		negative = s.schemaHistoryUpdate(contract.SchemaHistoryRequest{Limit: -1})
		tooMany = s.schemaHistoryUpdate(contract.SchemaHistoryRequest{Limit: contract.MaxSchemaHistory + 1})
		blank = s.schemaHistoryUpdate(contract.SchemaHistoryRequest{Table: "  "})
	})
	s.env.ExecuteWorkflow(ReplicationWorkflow, historyInput())
	s.continuedAsNew()

	s.Require().True(all.done && one.done)
	s.NoError(all.rejected)
	s.NoError(all.err)
	s.Require().NotNil(all.report)
	s.Equal("orders", all.report.Connector)
	s.Len(all.report.Changes, 2)
	s.Require().NotNil(one.report)
	s.Require().Len(one.report.Changes, 1)
	s.Equal("quarantined", one.report.Changes[0].Outcome)
	s.ElementsMatch([]contract.SchemaHistoryInput{{Name: "orders"}, {Name: "orders", Table: "public.items", Limit: 5}}, *inputs,
		"one activity per accepted update, none for a rejected one")
	for name, o := range map[string]*historyOutcome{"negative": negative, "too many": tooMany, "blank": blank} {
		var app *temporal.ApplicationError
		s.Require().True(o.done, name)
		s.Require().True(errors.As(o.rejected, &app), "%s: rejected by the validator, got %v", name, o.rejected)
		s.Equal(contract.ErrTypeInvalidInput, app.Type(), name)
	}
	s.Contains(tooMany.rejected.Error(), "limit 1001 is out of range (0 to 1000)")
}

// TestSchemaHistoryUpdateFails: the activity's failure is the update's,
// unwrapped, with its own message, type and remedy; the stream goes on.
func (s *replicationSuite) TestSchemaHistoryUpdateFails() {
	s.stubSchemaHistory(temporal.NewNonRetryableApplicationError("the destination refused the login", contract.ErrTypePermanent, nil,
		contract.FailureDetails{Remedy: "check the destination's credentials"}))
	s.streamFor(time.Hour)
	var o *historyOutcome
	s.at(10*time.Minute, func() { o = s.schemaHistoryUpdate(contract.SchemaHistoryRequest{}) })
	s.env.ExecuteWorkflow(ReplicationWorkflow, historyInput())
	s.continuedAsNew()
	s.Require().True(o.done)
	s.NoError(o.rejected)
	var act *temporal.ActivityError
	s.False(errors.As(o.err, &act), "the activity's own error, not the ActivityError around it: %v", o.err)
	var app *temporal.ApplicationError
	s.Require().True(errors.As(o.err, &app), "%v", o.err)
	s.Equal("the destination refused the login", app.Message())
	s.Equal(contract.ErrTypePermanent, app.Type())
	var d contract.FailureDetails
	s.Require().NoError(app.Details(&d))
	s.Equal("check the destination's credentials", d.Remedy)
	s.Nil(o.report)
}

// TestSchemaHistoryRejectedWhileDropping: a connector being dropped
// rejects the update before any activity runs, as the tables update does.
func (s *replicationSuite) TestSchemaHistoryRejectedWhileDropping() {
	inputs := s.stubSchemaHistory(nil)
	s.env.OnActivity(contract.ActivityReplicate, mock.Anything, mock.Anything).After(time.Hour).Return(&contract.ReplicateResult{}, nil).Once()
	s.env.OnActivity(contract.ActivityDropConnector, mock.Anything, mock.Anything).After(time.Minute).
		Return(&contract.DropConnectorResult{SlotDropped: true, Verified: true}, nil).Once()
	var o *historyOutcome
	s.at(time.Minute, func() { s.env.SignalWorkflow(contract.SignalDrop.Name, nil) })
	s.at(time.Minute+30*time.Second, func() { o = s.schemaHistoryUpdate(contract.SchemaHistoryRequest{}) })
	s.env.ExecuteWorkflow(ReplicationWorkflow, historyInput())
	s.Require().NoError(s.env.GetWorkflowError())
	s.Equal(contract.StageDropped, s.status().Stage)
	s.Require().NotNil(o)
	s.Require().True(o.done)
	var app *temporal.ApplicationError
	s.Require().True(errors.As(o.rejected, &app), "rejected by the validator, got %v", o.rejected)
	s.Equal(contract.ErrTypeNotStreaming, app.Type())
	s.Contains(app.Message(), "connector orders is being dropped")
	s.Empty(*inputs)
}

func TestSchemaDetails(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	got := schemaDetails([]contract.SchemaChangeInfo{
		{Table: "shop.orders", LSN: "0/16B3748", Change: `column "note" text added`, Statement: `ALTER TABLE "shop"."orders" ADD COLUMN "note" text`, Outcome: "applied", At: at},
		{Table: "shop.items", LSN: "0/16B3750", Change: `column "sku" changed type from text to integer`, Outcome: "quarantined", Detail: "not a lossless widening", At: at},
	})
	require.Contains(t, got, "- 2026-12-01T10:00:00Z `shop.orders` at 0/16B3748: column \"note\" text added → **applied**: `ALTER TABLE \"shop\".\"orders\" ADD COLUMN \"note\" text`\n")
	require.Contains(t, got, "→ **quarantined** (not a lossless widening)\n")
}
