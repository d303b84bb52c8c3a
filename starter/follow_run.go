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

	"github.com/ardent-cdc/ardent/contract"
)

// followedRun is the onboarding run `onboard --wait` follows: that run,
// the runs it continued as (continue-as-new keeps the first run id), and
// the replication workflow it hands off to. The workflow ids are reused
// once a connector is dropped: an older run of them (the dropped
// connector's replication, say) is never taken for the one followed.
type followedRun struct {
	name     string
	firstRun string
}

// newFollowedRun follows run runID of the connector's onboarding, or the
// onboarding running now when runID is "".
func newFollowedRun(ctx context.Context, tc client.Client, name, runID string) (*followedRun, error) {
	if runID != "" {
		return &followedRun{name: name, firstRun: runID}, nil
	}
	id := contract.OnboardingID(name)
	d, err := tc.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return nil, fmt.Errorf("describe workflow %s: %w", id, err)
	}
	info := d.GetWorkflowExecutionInfo()
	first := info.GetFirstRunId()
	if first == "" {
		first = info.GetExecution().GetRunId()
	}
	return &followedRun{name: name, firstRun: first}, nil
}

// status is the followed run's status: the onboarding's until it hands
// off, then the replication workflow's it started.
func (f *followedRun) status(ctx context.Context, tc client.Client, dc converter.DataConverter) (contract.Status, target, error) {
	id := contract.OnboardingID(f.name)
	d, err := tc.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return contract.Status{}, target{}, fmt.Errorf("describe workflow %s: %w", id, err)
	}
	ob := d.GetWorkflowExecutionInfo()
	if !f.mine(ob) {
		return contract.Status{}, target{}, &exitError{code: 1, err: fmt.Errorf("onboarding %s was started again (run %s) while run %s was followed: `ardent status %s` shows the new one",
			f.name, ob.GetExecution().GetRunId(), f.firstRun, f.name)}
	}
	t := targetOf(ob)
	if ob.GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		rid := contract.ReplicationID(f.name)
		rd, err := tc.DescribeWorkflowExecution(ctx, rid, "")
		var nf *serviceerror.NotFound
		switch {
		case err == nil && startedBy(rd.GetWorkflowExecutionInfo(), ob):
			t = targetOf(rd.GetWorkflowExecutionInfo())
		case err != nil && !errors.As(err, &nf):
			return contract.Status{}, t, fmt.Errorf("describe workflow %s: %w", rid, err)
		}
	}
	if terminated(t) {
		return contract.Status{}, t, &exitError{code: 1, err: fmt.Errorf("workflow %s was terminated: %s", t.id, terminatedLine(f.name))}
	}
	return statusOf(ctx, tc, dc, f.name, t)
}

// mine: info is the followed run or one it continued as.
func (f *followedRun) mine(info *workflowpb.WorkflowExecutionInfo) bool {
	first := info.GetFirstRunId()
	return info.GetExecution().GetRunId() == f.firstRun || first == f.firstRun || first == "" // a server too old to say
}

// startedBy: the replication execution rep was started by the onboarding
// run ob (its child), or after it (continue-as-new keeps the parent, but
// a drop started by hand has none); a replication from before ob (a
// dropped connector's) was not.
func startedBy(rep, ob *workflowpb.WorkflowExecutionInfo) bool {
	if rep.GetParentExecution().GetRunId() == ob.GetExecution().GetRunId() {
		return true
	}
	return !rep.GetStartTime().AsTime().Before(ob.GetStartTime().AsTime())
}
