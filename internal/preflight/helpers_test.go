package preflight_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/preflight"
	"github.com/ardent-cdc/ardent/internal/schema"
)

const password = "Pa55-w0rd'with\"quotes"

// testingT is what run reports through: a test's t, or the CollectT of an
// EventuallyWithT condition (which runs on a goroutine of its own, where t
// must not FailNow).
type testingT interface {
	require.TestingT
	Helper()
}

func run(t testingT, opts preflight.Options) preflight.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if opts.ProbeTimeout == 0 {
		opts.ProbeTimeout = 3 * time.Second
	}
	rep := preflight.Run(ctx, opts)
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	assert.NotContains(t, string(b), password, "the password must never appear in the report")
	ids := make([]string, len(rep.Checks))
	for i, c := range rep.Checks {
		ids[i] = c.ID
	}
	want := preflight.CheckIDs
	if opts.Destination == nil { // the destination check is reported only when asked for
		want = slices.DeleteFunc(slices.Clone(want), func(id string) bool { return id == preflight.CheckDestination })
	}
	require.Equal(t, want, ids, "every check, in order")
	return rep
}

func requireStatus(t *testing.T, rep preflight.Report, id string, want preflight.Status) preflight.Check {
	t.Helper()
	c := rep.Check(id)
	require.Equalf(t, want, c.Status, "check %s: %s (remedy: %s)", id, c.Message, c.Remedy)
	return c
}

func selection(schemas ...string) schema.Selection { return schema.Selection{Schemas: schemas} }
