package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/contract"
)

type healthStatus struct {
	Stage     string                 `json:"stage"`
	Attempt   int                    `json:"attempt"`
	LastError string                 `json:"last_error"`
	Stream    *contract.StreamHealth `json:"stream"`
}

func (s *stack) healthStatus(name string) (healthStatus, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, _, err := s.Command(ctx, nil, "status", name, "--format", "json")
	var st healthStatus
	return st, err == nil && json.Unmarshal([]byte(out), &st) == nil
}

// TestStreamingMeansApplying: stage streaming means the stream applies.
// With the destination down the running attempt reconnects and applies
// nothing: its own report makes the stage retrying within about half a
// minute (no attempt counted yet: it has not failed, and would only stall
// out after 90 s); the destination back, the stage is streaming again and
// the changes arrive.
func TestStreamingMeansApplying(t *testing.T) {
	s := newStack(t)
	s.src.Exec(t, "app", seedSQL)
	pw := randomPassword(t)
	dest := s.dst.URL("destination")
	s.applySQL(pw)
	s.startWorker()
	out, code := s.ardent("onboard", "--name", "shop", "--source", s.src.URLFor("ardent", pw, "app"), "--destination", dest,
		"--schema", "shop", "--wait")
	require.Equal(t, 0, code, out)
	var st healthStatus
	require.Eventually(t, func() bool {
		var ok bool
		st, ok = s.healthStatus("shop")
		return ok && st.Stage == "streaming" && st.Stream != nil && st.Stream.Running && st.Stream.Healthy
	}, time.Minute, time.Second, "no healthy report from the stream: %+v", st)

	s.dst.Stop(t)
	down := time.Now()
	require.Eventually(t, func() bool {
		var ok bool
		st, ok = s.healthStatus("shop")
		return ok && st.Stage == "retrying"
	}, 75*time.Second, time.Second, "still %q with the destination down: %+v\n%s", st.Stage, st, s.workerOutput())
	require.Less(t, time.Since(down), 80*time.Second, "retrying came from the stall, not from the stream's report")
	require.Zero(t, st.Attempt, "the attempt still runs: nothing is counted yet")
	require.NotNil(t, st.Stream)
	require.False(t, st.Stream.Healthy)
	require.NotEmpty(t, st.Stream.Error)
	require.Contains(t, st.LastError, "applies nothing")

	s.dst.StartAgain(t)
	s.src.Exec(t, "app", `INSERT INTO shop.customers VALUES (100001, 'after the outage', NULL)`)
	require.Eventually(t, func() bool {
		var ok bool
		st, ok = s.healthStatus("shop")
		return ok && st.Stage == "streaming"
	}, 3*time.Minute, time.Second, "not streaming again: %+v\n%s", st, s.workerOutput())
	require.Eventually(t, func() bool { return sameRows(s.src.URL("app"), dest, "shop.customers") },
		time.Minute, time.Second, "the change made during the outage did not arrive")
}
