package activities

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
)

func TestHeartbeatPeriod(t *testing.T) {
	for _, c := range []struct {
		name           string
		every, timeout time.Duration
		want           time.Duration
	}{
		{"default", 0, 0, 5 * time.Second},
		{"configured, no timeout", 8 * time.Second, 0, 8 * time.Second},
		{"shorter than half the timeout", 3 * time.Second, 30 * time.Second, 3 * time.Second},
		{"the Replicate timeout allows the SDK's 8 s", 8 * time.Second, 12 * time.Second, 8 * time.Second},
		{"capped at two thirds of the timeout", 10 * time.Second, 12 * time.Second, 8 * time.Second},
		{"default capped", 0, 6 * time.Second, 4 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			require.Equal(t, c.want, heartbeatPeriod(c.every, c.timeout))
		})
	}
}

// The first heartbeat carries the first progress, not the initial value:
// the SDK holds back what follows a heartbeat for its throttle window, so
// an empty first heartbeat would keep the progress from the server.
func TestFirstHeartbeatCarriesTheFirstProgress(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	got := make(chan string, 10)
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		var v string
		if d.Get(&v) == nil {
			got <- v
		}
	})
	var first string
	act := func(ctx context.Context) error {
		h := startHeartbeat(ctx, time.Hour, "nothing yet")
		defer h.close()
		// Long enough for a heartbeater that beats at its start to do so.
		time.Sleep(200 * time.Millisecond)
		h.set("resumed at 0/3000000")
		select {
		case first = <-got:
		case <-time.After(10 * time.Second):
		}
		return nil
	}
	env.RegisterActivity(act)
	_, err := env.ExecuteActivity(act)
	require.NoError(t, err)
	require.Equal(t, "resumed at 0/3000000", first)
}
