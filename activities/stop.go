package activities

import (
	"context"

	"go.temporal.io/sdk/activity"
)

// workerStopped reports whether the activity's worker is stopping (SIGTERM:
// the worker cancels its activities' contexts, see worker/stop.go). A
// long activity that can hand back cleanly does so then, rather than fail.
func workerStopped(ctx context.Context) bool {
	if !activity.IsActivity(ctx) {
		return false
	}
	select {
	case <-activity.GetWorkerStopChannel(ctx):
		return true
	default:
		return false
	}
}
