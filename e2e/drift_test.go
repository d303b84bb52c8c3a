package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/contract"
)

// driftStatus is what the drift tests read of `ardent status --format
// json`, and its exit code.
type driftStatus struct {
	Stage  string                 `json:"stage"`
	Error  string                 `json:"error"`
	Remedy string                 `json:"remedy"`
	Drift  *contract.DriftSummary `json:"drift"`
	code   int
}

func (s *stack) driftStatus(name string) (driftStatus, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, code, err := s.Command(ctx, nil, "status", name, "--format", "json")
	var st driftStatus
	if err != nil || json.Unmarshal([]byte(out), &st) != nil {
		return st, false
	}
	st.code = code
	return st, true
}

// TestDriftGuard: after onboarding, the replication workflow re-checks the
// source on a schedule. The connector's role made to expire tomorrow is a
// regression: stage attention with the check's message and remedy in
// `ardent status` (exit 1), `ardent list`, the worker's metrics, while the
// stream keeps applying; the role fixed, the next check puts the connector
// back to streaming.
func TestDriftGuard(t *testing.T) {
	s := newStack(t)
	s.src.Exec(t, "app", seedSQL)
	pw := randomPassword(t)
	source, dest := s.src.URLFor("ardent", pw, "app"), s.dst.URL("destination")
	s.applySQL(pw)
	s.startWorker()
	out, code := s.ardent("onboard", "--name", "shop", "--source", source, "--destination", dest, "--schema", "shop",
		"--drift-interval", "3s", "--wait")
	require.Equal(t, 0, code, out)

	// 1. Every check passes, and the slot is read.
	var st driftStatus
	require.Eventually(t, func() bool {
		var ok bool
		st, ok = s.driftStatus("shop")
		return ok && st.Drift != nil && st.Drift.CheckedAt != nil && st.Drift.Slot != nil
	}, 2*time.Minute, time.Second, "no drift check ran: %+v\n%s", st, s.workerOutput())
	require.Equal(t, "streaming", st.Stage)
	require.Empty(t, st.Drift.Regressions(), "a fresh connector regressed: %+v", st.Drift.Problems)
	require.NotEmpty(t, st.Drift.Slot.ConfirmedLSN)

	// 2. The role's password expires tomorrow: attention, with the fix.
	s.psql(s.src.URL("app"), "-c", "ALTER ROLE ardent VALID UNTIL '"+time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339)+"'")
	require.Eventually(t, func() bool {
		var ok bool
		st, ok = s.driftStatus("shop")
		return ok && st.Stage == "attention"
	}, time.Minute, time.Second, "no attention after the role was set to expire: %+v\n%s", st, s.workerOutput())
	require.Equal(t, 1, st.code, "status exits 1 in attention")
	require.Contains(t, st.Error, "the source regressed since onboarding")
	require.Contains(t, st.Error, `role_valid: role "ardent" expires at`)
	require.Contains(t, st.Remedy, `ALTER ROLE "ardent" VALID UNTIL 'infinity'`)
	require.Contains(t, st.Remedy, "`ardent resume shop`")
	out, code = s.ardent("status", "shop")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "drift guard")
	require.Contains(t, out, "fail role_valid")

	out, code = s.ardent("list", "--format", "json")
	require.Equal(t, 0, code, out)
	var list struct {
		Connectors []struct{ Name, Stage string } `json:"connectors"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &list), out)
	require.Len(t, list.Connectors, 1)
	require.Equal(t, "attention", list.Connectors[0].Stage, "list reads the stage from the search attribute")
	require.Eventually(t, func() bool {
		return strings.Contains(s.metrics(), `ardent_drift_check_failed{check="role_valid",connector="shop"} 1`)
	}, 30*time.Second, time.Second, "the drift regression is not in the metrics")

	// The stream keeps running.
	s.src.Exec(t, "app", `INSERT INTO shop.customers VALUES (100001, 'during attention', NULL)`)
	require.Eventually(t, func() bool { return sameRows(s.src.URL("app"), dest, "shop.customers") },
		time.Minute, time.Second, "the stream stopped in attention: %s", s.workerOutput())

	// 3. Fixed: the next check clears it.
	s.psql(s.src.URL("app"), "-c", "ALTER ROLE ardent VALID UNTIL 'infinity'")
	require.Eventually(t, func() bool {
		var ok bool
		st, ok = s.driftStatus("shop")
		return ok && st.Stage == "streaming"
	}, time.Minute, time.Second, "still not streaming after the fix: %+v", st)
	require.Zero(t, st.code)
	require.Empty(t, st.Error)
	require.Contains(t, s.metrics(), `ardent_drift_check_failed{check="role_valid",connector="shop"} 0`)
}
