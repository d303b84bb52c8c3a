package main

import (
	"context"

	"go.temporal.io/sdk/client"

	"github.com/ardent-cdc/ardent/activities"
	"github.com/ardent-cdc/ardent/contract"
)

// progressReporter sends the long activities' progress to their workflow
// as the progress signal (contract.SignalProgress), with the worker's
// client, so activities/ needs no Temporal client of its own.
func progressReporter(tc client.Client) activities.Reporter {
	return func(ctx context.Context, workflowID, runID string, p contract.ProgressReport) error {
		return tc.SignalWorkflow(ctx, workflowID, runID, contract.SignalProgress.Name, p)
	}
}
