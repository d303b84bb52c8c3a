package activities

import (
	"context"
	"log/slog"

	"go.temporal.io/sdk/activity"
)

// activityLog returns base with the activity's workflow id, run id,
// activity type and attempt, so every line an activity (and the internal
// code it calls) logs can be traced to its workflow run and retry.
// Outside an activity (tests calling methods directly) base is returned.
func activityLog(ctx context.Context, base *slog.Logger) *slog.Logger {
	if !activity.IsActivity(ctx) {
		return base
	}
	info := activity.GetInfo(ctx)
	return base.With("workflow_id", info.WorkflowExecution.ID, "run_id", info.WorkflowExecution.RunID,
		"activity", info.ActivityType.Name, "attempt", info.Attempt)
}
