package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
	"github.com/ardent-cdc/ardent/worker/codec"
)

// schemaReplication answers the tables update with tablesReport and the
// schema-history update with schemaReport (the changes of the table asked
// for, at most the limit), and records what it got ("history table limit",
// "resync table,table"), queried as "got".
func schemaReplication(ctx workflow.Context, in contract.ReplicationInput) error {
	var got []string
	if err := workflow.SetQueryHandler(ctx, "got", func() ([]string, error) { return got, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, contract.UpdateTables.Name, func(_ workflow.Context, _ contract.TablesRequest) (*contract.TablesReport, error) {
		r := tablesReport()
		r.Connector = in.Name
		return r, nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, contract.UpdateSchemaHistory.Name,
		func(_ workflow.Context, req contract.SchemaHistoryRequest) (*contract.SchemaHistoryReport, error) {
			got = append(got, strings.Join([]string{"history", req.Table, strconv.Itoa(req.Limit)}, " "))
			r := &contract.SchemaHistoryReport{Connector: in.Name, Changes: []contract.SchemaChangeInfo{}}
			for _, c := range schemaReport().Changes {
				if (req.Table == "" || c.Table == req.Table) && len(r.Changes) < req.Limit {
					r.Changes = append(r.Changes, c)
				}
			}
			return r, nil
		}); err != nil {
		return err
	}
	resync := workflow.GetSignalChannel(ctx, contract.SignalResync.Name)
	for {
		var v contract.TablesSignal
		resync.Receive(ctx, &v)
		got = append(got, strings.TrimSpace("resync "+strings.Join(v.Tables, ",")))
	}
}

// TestSchemaCommandsAgainstWorkflows: schema history and schema approve
// against a dev server. History sends the table and limit asked for and
// prints the report (text and JSON); approve sends a resync of exactly the
// tables named, refuses a table the connector does not have with nothing
// sent, and a workflow that knows neither update gets a clear message and
// no signal. The workflows stand in for the worker side.
func TestSchemaCommandsAgainstWorkflows(t *testing.T) {
	srv := temporaltest.Start(t)
	key, err := secrets.GenerateKey()
	require.NoError(t, err)
	kr, err := secrets.NewKeyring(key)
	require.NoError(t, err)
	t.Setenv("ARDENT_TEMPORAL_ADDRESS", srv.Address)
	t.Setenv("ARDENT_TEMPORAL_NAMESPACE", srv.Namespace)
	t.Setenv("ARDENT_TASK_QUEUE", "cli-schema")
	t.Setenv("ARDENT_MASTER_KEY", secrets.EncodeKey(key))
	t.Setenv("ARDENT_MASTER_KEY_FILE", "")
	t.Setenv("ARDENT_CATALOG_URL", "")

	tc, err := client.Dial(codec.ClientOptions(kr, client.Options{HostPort: srv.Address, Namespace: srv.Namespace}))
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	earlier := worker.New(tc, "cli-schema-earlier", worker.Options{})
	earlier.RegisterWorkflowWithOptions(earlierReplication, workflow.RegisterOptions{Name: contract.WorkflowReplication})
	live := worker.New(tc, "cli-schema-live", worker.Options{})
	live.RegisterWorkflowWithOptions(schemaReplication, workflow.RegisterOptions{Name: contract.WorkflowReplication})
	for _, w := range []worker.Worker{earlier, live} {
		require.NoError(t, w.Start())
		t.Cleanup(w.Stop)
	}
	ctx := context.Background()
	_, err = tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: contract.ReplicationID("old"), TaskQueue: "cli-schema-earlier"},
		contract.WorkflowReplication, contract.ReplicationInput{Name: "old"})
	require.NoError(t, err)
	shop, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: contract.ReplicationID("shop"), TaskQueue: "cli-schema-live"},
		contract.WorkflowReplication, contract.ReplicationInput{Name: "shop"})
	require.NoError(t, err)

	refused := func(want string, args ...string) {
		t.Helper()
		stdout, stderr, code := runTablesCLI(t, args...)
		assert.Equal(t, 1, code, "%v: %s%s", args, stdout, stderr)
		assert.Contains(t, stderr, want, args)
	}
	refused(`no connector named "nosuch"`, "schema", "history", "nosuch")
	refused("connector old's workflow does not know the schema-history update (its worker predates schema tracking): upgrade ardent-worker",
		"schema", "history", "old")
	refused("connector old's workflow does not know the tables update", "schema", "approve", "old", "--table", "public.logs")
	refused("connector shop has no table public.nope", "schema", "approve", "shop", "--table", "public.logs", "--table", "public.nope")
	hist := tc.GetWorkflowHistory(ctx, contract.ReplicationID("old"), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for hist.HasNext() {
		ev, err := hist.Next()
		require.NoError(t, err)
		require.NotEqual(t, enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, ev.GetEventType(), "a workflow without the update got a signal")
	}

	stdout, stderr, code := runTablesCLI(t, "schema", "history", "shop")
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^AT\s+LSN\s+TABLE\s+OUTCOME\s+CHANGE\s+STATEMENT$`, stdout)
	assert.Regexp(t, `(?m)^\S+ \S+\s+0/3000000\s+public\.logs\s+quarantined\s+column level retyped integer -> text\s+-$`, stdout)
	assert.Contains(t, stdout, "4 changes: 2 applied, 1 kept, 1 quarantined")

	stdout, stderr, code = runTablesCLI(t, "schema", "history", "shop", "--table", "orders", "--limit", "1", "--format", "json")
	require.Equal(t, 0, code, stderr)
	var rep contract.SchemaHistoryReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	assert.Equal(t, "shop", rep.Connector)
	require.Len(t, rep.Changes, 1, "the limit (public.orders has two)")
	for _, c := range rep.Changes {
		assert.Equal(t, "public.orders", c.Table)
	}
	assert.Equal(t, schemaReport().Changes[0].At, rep.Changes[0].At.UTC())

	stdout, stderr, code = runTablesCLI(t, "schema", "history", "shop", "--table", "public.none")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "no schema changes recorded for public.none of connector shop\n", stdout)

	stdout, stderr, code = runTablesCLI(t, "schema", "approve", "shop", "--table", "logs", "--table", "public.logs", "--table", "public.orders")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "approved: public.logs of connector shop: its destination table is changed to the source's shape and copied again "+
		"while the other tables stream; follow it with `ardent tables shop`\n"+
		"approved: public.orders of connector shop: its destination table is changed to the source's shape and copied again "+
		"while the other tables stream; follow it with `ardent tables shop`\n", stdout)

	var got []string
	require.Eventually(t, func() bool {
		v, err := tc.QueryWorkflow(ctx, shop.GetID(), "", "got")
		return err == nil && v.Get(&got) == nil && len(got) == 4
	}, 30*time.Second, 100*time.Millisecond)
	assert.Equal(t, []string{"history  100", "history public.orders 1", "history public.none 100", "resync public.logs,public.orders"}, got,
		"the history requests as given (default limit 100), one resync of the tables approved, nothing for the refused approve")
}
