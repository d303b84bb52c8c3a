package main

import (
	"reflect"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/activities"
	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/secrets"
)

// recorder is a worker.Registry that notes the names registered.
type recorder struct {
	worker.Registry
	workflows, activities []string
}

func (r *recorder) RegisterWorkflowWithOptions(_ any, o workflow.RegisterOptions) {
	r.workflows = append(r.workflows, o.Name)
}

func (r *recorder) RegisterActivityWithOptions(_ any, o activity.RegisterOptions) {
	r.activities = append(r.activities, o.Name)
}

// TestRegistersEveryContractName: every name the workflows call is
// registered, under contract's spelling.
func TestRegistersEveryContractName(t *testing.T) {
	r := &recorder{}
	register(r, activityStructs{&activities.Preflighter{}, &activities.Connectors{}, &activities.Snapshotter{}, &activities.Streamer{},
		&activities.Verifier{}, &activities.Tables{}, &activities.DriftGuard{}})
	sort.Strings(r.activities)
	require.Equal(t, []string{contract.ActivityBackfill, contract.ActivityCreateConnector, contract.ActivityDiscoverTables, contract.ActivityDriftCheck,
		contract.ActivityDropConnector, contract.ActivityListTables, contract.ActivityPreflight,
		contract.ActivityReplicate, contract.ActivitySchemaHistory, contract.ActivitySnapshot, contract.ActivityVerify}, r.activities)
	require.ElementsMatch(t, []string{contract.WorkflowOnboarding, contract.WorkflowReplication}, r.workflows)
}

// TestContractMatchesWhatTheActivitiesUse: the few values contract spells
// itself (it imports nothing of the project) are the ones the activities
// and secrets use, and the verify report the workflows decode has the
// JSON shape internal/verify's report has.
func TestContractMatchesWhatTheActivitiesUse(t *testing.T) {
	require.Equal(t, secrets.SealedStringPrefix, contract.SealedURLPrefix)
	require.Equal(t, activities.URLPurpose, contract.URLPurpose)
	for _, pair := range [][2]any{
		{activities.VerifyReport{}, contract.VerifyReport{}},
		{activities.VerifyTable{}, contract.VerifyTable{}},
		{activities.VerifyRange{}, contract.VerifyRange{}},
		{activities.VerifyDifference{}, contract.VerifyDifference{}},
	} {
		require.Equal(t, jsonShape(reflect.TypeOf(pair[0])), jsonShape(reflect.TypeOf(pair[1])),
			"%T and %T must encode alike", pair[0], pair[1])
	}
}

// jsonShape is a struct's JSON tags with their kinds (the struct types of
// slices are compared as pairs of their own).
func jsonShape(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		ft := f.Type
		if ft.Kind() == reflect.Slice {
			ft = ft.Elem()
		}
		shape := f.Tag.Get("json") + " " + f.Type.Kind().String() + " " + ft.Kind().String()
		if ft.PkgPath() == "time" {
			shape += " " + ft.String()
		}
		out = append(out, shape)
	}
	return out
}
