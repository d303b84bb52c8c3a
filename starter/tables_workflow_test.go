package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// earlierReplication stands in for a connector's workflow from before the
// live table set: it answers the status query and knows neither the tables
// update nor the table signals. Started with drop_requested it ends in
// stage dropped.
func earlierReplication(ctx workflow.Context, in contract.ReplicationInput) error {
	st := contract.Status{Name: in.Name, Workflow: contract.WorkflowReplication, Stage: contract.StageStreaming}
	if in.DropRequested {
		st.Stage = contract.StageDropped
	}
	if err := workflow.SetQueryHandler(ctx, contract.QueryStatus.Name, func() (contract.Status, error) { return st, nil }); err != nil {
		return err
	}
	if in.DropRequested {
		return nil
	}
	workflow.GetSignalChannel(ctx, "stop").Receive(ctx, nil)
	return nil
}

// liveReplication answers the tables update with tablesReport and records
// the table signals it receives ("name table,table"), queried as "got".
func liveReplication(ctx workflow.Context, in contract.ReplicationInput) error {
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
	sel := workflow.NewSelector(ctx)
	for _, s := range []contract.Signal[contract.TablesSignal]{contract.SignalResync, contract.SignalTablesAdd, contract.SignalTablesRemove} {
		sel.AddReceive(workflow.GetSignalChannel(ctx, s.Name), func(c workflow.ReceiveChannel, _ bool) {
			var v contract.TablesSignal
			c.Receive(ctx, &v)
			got = append(got, strings.TrimSpace(s.Name+" "+strings.Join(v.Tables, ",")))
		})
	}
	for {
		sel.Select(ctx)
	}
}

// runTablesCLI runs the CLI in-process with the environment as it is.
func runTablesCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd(newCLI(&out, &errOut))
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	var ee *exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.code
		if ee.err != nil {
			errOut.WriteString(ee.err.Error())
		}
	default:
		code = 1
		errOut.WriteString(err.Error())
	}
	return out.String(), errOut.String(), code
}

// TestTablesCommandsAgainstWorkflows: the tables, tables add/remove and
// resync commands against a dev server. A workflow that does not know the
// tables update gets a clear message (upgrade the worker) and no signal; a
// dropped or onboarding connector is named as such; one that knows it is
// listed (exit 1: a table is quarantined) and gets exactly the signals the
// commands describe. The workflows stand in for the worker side.
func TestTablesCommandsAgainstWorkflows(t *testing.T) {
	srv := temporaltest.Start(t)
	key, err := secrets.GenerateKey()
	require.NoError(t, err)
	kr, err := secrets.NewKeyring(key)
	require.NoError(t, err)
	t.Setenv("ARDENT_TEMPORAL_ADDRESS", srv.Address)
	t.Setenv("ARDENT_TEMPORAL_NAMESPACE", srv.Namespace)
	t.Setenv("ARDENT_TASK_QUEUE", "cli-tables")
	t.Setenv("ARDENT_MASTER_KEY", secrets.EncodeKey(key))
	t.Setenv("ARDENT_MASTER_KEY_FILE", "")
	// Never opened: add refuses a streaming table before it reads the catalog.
	t.Setenv("ARDENT_CATALOG_URL", "postgres://nobody@127.0.0.1:1/catalog")

	tc, err := client.Dial(codec.ClientOptions(kr, client.Options{HostPort: srv.Address, Namespace: srv.Namespace}))
	require.NoError(t, err)
	t.Cleanup(tc.Close)
	earlier := worker.New(tc, "cli-tables-earlier", worker.Options{})
	earlier.RegisterWorkflowWithOptions(earlierReplication, workflow.RegisterOptions{Name: contract.WorkflowReplication})
	earlier.RegisterWorkflowWithOptions(earlierReplication, workflow.RegisterOptions{Name: contract.WorkflowOnboarding})
	live := worker.New(tc, "cli-tables-live", worker.Options{})
	live.RegisterWorkflowWithOptions(liveReplication, workflow.RegisterOptions{Name: contract.WorkflowReplication})
	for _, w := range []worker.Worker{earlier, live} {
		require.NoError(t, w.Start())
		t.Cleanup(w.Stop)
	}
	ctx := context.Background()
	start := func(id, queue, typ string, in contract.ReplicationInput) client.WorkflowRun {
		run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, typ, in)
		require.NoError(t, err)
		return run
	}
	start(contract.ReplicationID("old"), "cli-tables-earlier", contract.WorkflowReplication, contract.ReplicationInput{Name: "old"})
	start(contract.OnboardingID("early"), "cli-tables-earlier", contract.WorkflowOnboarding, contract.ReplicationInput{Name: "early"})
	require.NoError(t, start(contract.ReplicationID("gone"), "cli-tables-earlier", contract.WorkflowReplication,
		contract.ReplicationInput{Name: "gone", DropRequested: true}).Get(ctx, nil))
	shop := start(contract.ReplicationID("shop"), "cli-tables-live", contract.WorkflowReplication, contract.ReplicationInput{Name: "shop"})

	refused := func(want string, args ...string) {
		t.Helper()
		stdout, stderr, code := runTablesCLI(t, args...)
		assert.Equal(t, 1, code, "%v: %s%s", args, stdout, stderr)
		assert.Contains(t, stderr, want, args)
	}
	refused(`no connector named "nosuch"`, "tables", "nosuch")
	refused("connector early is still onboarding (`ardent status early`)", "resync", "early")
	refused("connector gone was dropped: it has no tables any more", "tables", "gone")
	for _, args := range [][]string{{"tables", "old"}, {"tables", "remove", "old", "public.orders"}, {"resync", "old"},
		{"tables", "add", "old", "public.new"}} {
		refused("connector old's workflow does not know the tables update (its worker predates the live table set): upgrade ardent-worker, "+
			"then try again; nothing was sent", args...)
	}
	hist := tc.GetWorkflowHistory(ctx, contract.ReplicationID("old"), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for hist.HasNext() {
		ev, err := hist.Next()
		require.NoError(t, err)
		require.NotEqual(t, enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, ev.GetEventType(), "a workflow without the update got a signal")
	}

	stdout, stderr, code := runTablesCLI(t, "tables", "shop")
	assert.Equal(t, 1, code, "a quarantined table: exit 1\n%s%s", stdout, stderr)
	assert.Empty(t, stderr)
	assert.Regexp(t, `(?m)^public\.logs\s+quarantined\s+10\s+0/2000000$`, stdout)
	assert.Contains(t, stdout, "7 tables: 2 streaming, 1 backfilling, 1 queued, 1 quarantined, 1 removed, 1 dropped")
	stdout, _, code = runTablesCLI(t, "tables", "shop", "--format", "json")
	assert.Equal(t, 1, code)
	var rep contract.TablesReport
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
	want := tablesReport()
	assert.Equal(t, want, &rep)

	refused("public.orders is already streaming in connector shop: nothing to add", "tables", "add", "shop", "public.orders")
	refused("connector shop has no table public.nope", "resync", "shop", "--table", "public.nope")
	refused("are the last tables connector shop streams", "tables", "remove", "shop", "public.orders", "public.Customers", "public.big", "public.next")

	stdout, stderr, code = runTablesCLI(t, "tables", "remove", "shop", "public.orders", "public.old")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "public.old is already removed from connector shop")
	assert.Contains(t, stdout, "sent tables-remove to replication-shop: public.orders stop replicating")
	stdout, stderr, code = runTablesCLI(t, "resync", "shop")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "sent resync to replication-shop: all 5 tables, one at a time, each emptied in the destination and copied again while the others keep streaming")
	stdout, stderr, code = runTablesCLI(t, "resync", "shop", "--table", "public.logs", "--table", "public.logs")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "sent resync to replication-shop: public.logs, one at a time")

	var got []string
	require.Eventually(t, func() bool {
		v, err := tc.QueryWorkflow(ctx, shop.GetID(), "", "got")
		return err == nil && v.Get(&got) == nil && len(got) == 3
	}, 30*time.Second, 100*time.Millisecond)
	assert.Equal(t, []string{"tables-remove public.orders", "resync", "resync public.logs"}, got,
		"only what was sent: no signal for refused commands, an empty list for every table")
}
