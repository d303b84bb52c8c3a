package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	commonpb "go.temporal.io/api/common/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestFollowedRun: `onboard --wait` follows the run it started and the
// runs it continued as, never another run of the same workflow id, and
// takes a replication workflow for its own only when that run started it
// (or it started after the run).
func TestFollowedRun(t *testing.T) {
	at := func(min int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(2026, 1, 1, 0, min, 0, 0, time.UTC))
	}
	run := func(id, first string, start int) *workflowpb.WorkflowExecutionInfo {
		return &workflowpb.WorkflowExecutionInfo{Execution: &commonpb.WorkflowExecution{WorkflowId: "onboarding-shop", RunId: id},
			FirstRunId: first, StartTime: at(start)}
	}
	f := &followedRun{name: "shop", firstRun: "r1"}
	assert.True(t, f.mine(run("r1", "r1", 10)), "the run started")
	assert.True(t, f.mine(run("r2", "r1", 20)), "a run it continued as")
	assert.False(t, f.mine(run("r9", "r9", 30)), "an onboarding started again by someone else")

	ob := run("r2", "r1", 20)
	child := &workflowpb.WorkflowExecutionInfo{ParentExecution: &commonpb.WorkflowExecution{RunId: "r2"}, StartTime: at(21)}
	assert.True(t, startedBy(child, ob), "its child")
	dropper := &workflowpb.WorkflowExecutionInfo{StartTime: at(25)}
	assert.True(t, startedBy(dropper, ob), "started after it (a drop started by hand)")
	old := &workflowpb.WorkflowExecutionInfo{ParentExecution: &commonpb.WorkflowExecution{RunId: "r0"}, StartTime: at(5)}
	assert.False(t, startedBy(old, ob), "the dropped connector's replication, from before the run")
}
