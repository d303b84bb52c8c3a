package main

import (
	"context"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/activities"
	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/workflows"
)

// activityStructs are the worker's activities, one struct per concern.
type activityStructs struct {
	preflight  *activities.Preflighter
	connectors *activities.Connectors
	snapshot   *activities.Snapshotter
	stream     *activities.Streamer
	verify     *activities.Verifier
	tables     *activities.Tables
	drift      *activities.DriftGuard
}

// register registers the workflows and each activity under its contract
// name: the workflows call activities by these names only.
func register(r worker.Registry, a activityStructs) {
	r.RegisterWorkflowWithOptions(workflows.OnboardingWorkflow, workflow.RegisterOptions{Name: contract.WorkflowOnboarding})
	r.RegisterWorkflowWithOptions(workflows.ReplicationWorkflow, workflow.RegisterOptions{Name: contract.WorkflowReplication})
	for name, fn := range map[string]any{
		contract.ActivityPreflight:       a.preflight.Preflight,
		contract.ActivityCreateConnector: a.connectors.CreateConnector,
		contract.ActivityDropConnector:   a.connectors.DropConnector,
		contract.ActivitySnapshot:        a.snapshot.Snapshot,
		contract.ActivityReplicate:       a.stream.Replicate,
		contract.ActivityVerify:          a.verify.Verify,
		contract.ActivityDiscoverTables:  a.tables.DiscoverTables,
		contract.ActivityBackfill:        a.tables.Backfill,
		contract.ActivityListTables:      a.tables.ListTables,
		contract.ActivitySchemaHistory:   a.tables.SchemaHistory,
		contract.ActivityDriftCheck:      a.drift.DriftCheck,
	} {
		r.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name})
	}
}

// The activities take and return the contract's types: what the workflows
// send and decode. The compiler checks it here, where both are linked.
var (
	_ func(*activities.Preflighter, context.Context, contract.PreflightInput) (*contract.PreflightReport, error)            = (*activities.Preflighter).Preflight
	_ func(*activities.Connectors, context.Context, contract.CreateConnectorInput) (*contract.CreateConnectorResult, error) = (*activities.Connectors).CreateConnector
	_ func(*activities.Connectors, context.Context, contract.DropConnectorInput) (*contract.DropConnectorResult, error)     = (*activities.Connectors).DropConnector
	_ func(*activities.Snapshotter, context.Context, contract.SnapshotInput) (*contract.SnapshotResult, error)              = (*activities.Snapshotter).Snapshot
	_ func(*activities.Streamer, context.Context, contract.ReplicateInput) (*contract.ReplicateResult, error)               = (*activities.Streamer).Replicate
	_ func(*activities.DriftGuard, context.Context, contract.DriftCheckInput) (*contract.DriftReport, error)                = (*activities.DriftGuard).DriftCheck
	// Verify returns internal/verify's Report, the same JSON as
	// contract.VerifyReport (register_test.go checks it field by field).
	_ func(*activities.Verifier, context.Context, contract.VerifyInput) (*activities.VerifyReport, error) = (*activities.Verifier).Verify
)
