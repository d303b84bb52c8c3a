package main

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/naming"
	"github.com/ardent-cdc/ardent/worker/codec"
)

// temporal dials with the same codec as the worker, so what the CLI sends
// is encrypted and what it reads back decodes.
func (c *cli) temporal(ctx context.Context) (client.Client, converter.DataConverter, error) {
	if err := c.cfg.ValidateClient(); err != nil {
		return nil, nil, usageErr("configuration: %w", err)
	}
	kr, err := c.keyring()
	if err != nil {
		return nil, nil, usageErr("%w", err)
	}
	opts := codec.ClientOptions(kr, client.Options{HostPort: c.cfg.TemporalAddress, Namespace: c.cfg.TemporalNamespace,
		Logger: tlog.NewStructuredLogger(c.log)})
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to Temporal at %s (is it running? `make dev` starts a local one): %w", c.cfg.TemporalAddress, err)
	}
	return tc, opts.DataConverter, nil
}

// target is the workflow that currently speaks for a connector.
type target struct {
	id          string
	running     bool
	typ         string
	status      string // running, failed, completed...
	closeStatus enums.WorkflowExecutionStatus
	// source and stage are its search attributes, readable without the
	// master key.
	source, stage string
}

// findConnector returns the workflow that speaks for the connector: of its
// replication workflow (which outlives the onboarding) and its onboarding,
// the running one, the replication when both run (a hand-off under way),
// else the one started last (an onboarding started after the connector was
// dropped speaks, not the dropped replication).
func findConnector(ctx context.Context, tc client.Client, name string) (target, error) {
	if err := naming.ValidateName(name); err != nil {
		return target{}, usageErr("%w", err)
	}
	var found []*workflowpb.WorkflowExecutionInfo
	for _, id := range []string{contract.ReplicationID(name), contract.OnboardingID(name)} {
		d, err := tc.DescribeWorkflowExecution(ctx, id, "")
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			continue
		}
		if err != nil {
			return target{}, fmt.Errorf("describe workflow %s: %w", id, err)
		}
		found = append(found, d.GetWorkflowExecutionInfo())
	}
	if len(found) == 0 {
		return target{}, &exitError{code: 1, err: fmt.Errorf("no connector named %q: start one with `ardent onboard --name %s ...`", name, name)}
	}
	return targetOf(speaker(found)), nil
}

// speaker picks, of a connector's replication and onboarding executions
// (in that order), the one that speaks for it.
func speaker(infos []*workflowpb.WorkflowExecutionInfo) *workflowpb.WorkflowExecutionInfo {
	best := infos[0]
	for _, info := range infos[1:] {
		running := info.GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING
		bestRunning := best.GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING
		if (running && !bestRunning) ||
			(running == bestRunning && !bestRunning && info.GetStartTime().AsTime().After(best.GetStartTime().AsTime())) {
			best = info
		}
	}
	return best
}

func targetOf(info *workflowpb.WorkflowExecutionInfo) target {
	return target{id: info.GetExecution().GetWorkflowId(), running: info.GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING,
		typ: info.GetType().GetName(), status: statusWord(info.GetStatus()), closeStatus: info.GetStatus(),
		source: keyword(info.GetSearchAttributes().GetIndexedFields(), contract.SearchAttrSource),
		stage:  keyword(info.GetSearchAttributes().GetIndexedFields(), contract.SearchAttrStage)}
}

// statusOf queries the connector's workflow t (the latest run of its id)
// and adds the live progress of its pending activities (snapshot progress,
// replication position, a verification's or a backfill's progress), which
// lives in the activity's last heartbeat rather than in workflow state.
func statusOf(ctx context.Context, tc client.Client, dc converter.DataConverter, name string, t target) (contract.Status, target, error) {
	st, err := queryWorkflow(ctx, tc, t.id, contract.QueryStatus)
	var undecoded *decodeError
	switch {
	case errors.As(err, &undecoded):
		return st, t, undecoded
	case err != nil && !t.running:
		// It ended before it could answer (its input never decoded, or it
		// was refused): its own failure says why.
		return st, t, &exitError{code: 1, err: fmt.Errorf("%s ended (%s) without a status to show: %s; start it again with `ardent onboard --name %s ...`",
			t.id, t.status, closeReason(ctx, tc, t.id), name)}
	case err != nil:
		return st, t, fmt.Errorf("query status of %s (is a worker running? `ardent-worker` answers queries): %w", t.id, err)
	}
	if !t.running {
		return st, t, nil
	}
	d, err := tc.DescribeWorkflowExecution(ctx, t.id, "")
	if err != nil {
		return st, t, fmt.Errorf("describe workflow %s: %w", t.id, err)
	}
	for _, pa := range d.GetPendingActivities() {
		details := pa.GetHeartbeatDetails()
		if details == nil || len(details.GetPayloads()) == 0 {
			continue
		}
		switch pa.GetActivityType().GetName() {
		case contract.ActivitySnapshot:
			var p contract.SnapshotProgress
			if dc.FromPayloads(details, &p) == nil {
				st.SnapshotProgress = &p
			}
		case contract.ActivityReplicate:
			var p contract.ReplicationProgress
			if dc.FromPayloads(details, &p) == nil {
				st.ReplicationProgress = &p
			}
		case contract.ActivityVerify:
			var p contract.VerifyProgress
			if dc.FromPayloads(details, &p) == nil {
				st.VerifyProgress = &p
			}
		case contract.ActivityBackfill:
			var p contract.BackfillProgress
			if dc.FromPayloads(details, &p) == nil {
				st.BackfillProgress = &p
			}
		}
	}
	return st, t, nil
}

// closeReason is the failure of a closed workflow, or its status word.
func closeReason(ctx context.Context, tc client.Client, id string) string {
	err := tc.GetWorkflow(ctx, id, "").Get(ctx, nil)
	if err == nil {
		return "it completed"
	}
	return closeMessage(err)
}

// closeMessage is the cause inside a workflow's failure.
func closeMessage(err error) string {
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return app.Message()
	}
	return err.Error()
}
