package e2e

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// Issue 18, items 4, 6 and 8: every loop of a connector's life closes,
// and the logs stay quiet when nothing is wrong.

// onboardShop seeds schema shop, applies the generated SQL and onboards it
// as connector name, waiting until it streams. It returns the source URL
// the connector uses.
func (s *stack) onboardShop(name string) string {
	s.t.Helper()
	pw := randomPassword(s.t)
	s.src.Exec(s.t, "app", seedSQL)
	s.applySQL(pw)
	source := s.src.URLFor("ardent", pw, "app")
	out, code := s.ardent("onboard", "--name", name, "--source", source, "--destination", s.dst.URL("destination"),
		"--schema", "shop", "--verify-interval", "-1s", "--wait")
	require.Equal(s.t, 0, code, out)
	return source
}

// sourceCount runs a count(*) query on the source's database app.
func (s *stack) sourceCount(sql string) string {
	s.t.Helper()
	return strings.TrimSpace(s.psql(s.src.URL("app"), "-Atc", sql))
}

// requireSourceClean: the cleanup query finds nothing of Ardent on the
// source: no slot, no bookkeeping schema, no walsender.
func (s *stack) requireSourceClean() {
	s.t.Helper()
	require.Equal(s.t, "0", s.sourceCount("SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'ardent%'"), "a slot is left")
	require.Equal(s.t, "0", s.sourceCount("SELECT count(*) FROM pg_namespace WHERE nspname = '_ardent'"), "the bookkeeping schema is left")
	require.Equal(s.t, "0", s.sourceCount("SELECT count(*) FROM pg_stat_replication WHERE usename = 'ardent'"), "a walsender is left")
}

// checkOf is a check's status in `ardent preflight --format json` output.
func checkOf(t *testing.T, out, id string) string {
	t.Helper()
	var rep struct {
		Checks []struct{ ID, Status, Message string }
	}
	require.NoError(t, json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &rep), out)
	for _, c := range rep.Checks {
		if c.ID == id {
			return c.Status + ": " + c.Message
		}
	}
	return ""
}

// TestLifecycleTerminateThenForceDrop: `temporal workflow terminate` runs
// no cleanup. status and list say what is left and name the command, a
// plain drop refuses and names it, and `drop --force` removes the slot
// (terminating the walsender a frozen worker still holds it with), the
// bookkeeping schema and the catalog record without any workflow; a second
// run finds everything already absent. Before any worker ran, preflight
// against the unmigrated catalog passes duplicate_source.
func TestLifecycleTerminateThenForceDrop(t *testing.T) {
	s := newStack(t)
	s.src.Exec(t, "app", seedSQL)
	pw := randomPassword(t)
	s.applySQL(pw)
	source := s.src.URLFor("ardent", pw, "app")

	// Item 8: no worker has migrated the catalog yet.
	out, code := s.ardent("preflight", "--source", source, "--schema", "shop", "--format", "json")
	require.Equal(t, 0, code, out)
	require.True(t, strings.HasPrefix(checkOf(t, out, "duplicate_source"), "pass: "), checkOf(t, out, "duplicate_source"))

	w := s.startWorker()
	out, code = s.ardent("onboard", "--name", "shop", "--source", source, "--destination", s.dst.URL("destination"),
		"--schema", "shop", "--verify-interval", "-1s", "--wait")
	require.Equal(t, 0, code, out)

	// The worker freezes (its walsender keeps the slot) and the workflow
	// is terminated: nothing will ever drop the slot by itself.
	const active = "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'ardent_shop' AND active"
	require.Eventually(t, func() bool { return s.sourceCount(active) == "1" }, time.Minute, 200*time.Millisecond, "the stream never held its slot")
	require.NoError(t, syscall.Kill(w.Pid(), syscall.SIGSTOP))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tout, err := s.temporal.CLI(ctx, "workflow", "terminate", "--workflow-id", "replication-shop", "--reason", "e2e")
	require.NoError(t, err, tout)
	require.Equal(t, "1", s.sourceCount(active), "the frozen worker's walsender let go of the slot")

	const line = "terminated: slot still on the source, run `ardent drop shop --force`"
	out, code = s.ardent("status", "shop")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, line)
	require.Eventually(t, func() bool {
		out, code := s.ardent("list")
		return code == 0 && strings.Contains(out, "terminated") && strings.Contains(out, line)
	}, time.Minute, time.Second, "list never showed the terminated connector")
	out, code = s.ardent("drop", "shop", "--yes")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "was terminated")
	require.Contains(t, out, "`ardent drop shop --force`")

	out, code = s.ardent("drop", "shop", "--force", "--yes")
	require.Equal(t, 0, code, out)
	for _, want := range []string{"replication slot ardent_shop: removed", "bookkeeping schema _ardent: removed", "catalog record: marked dropped"} {
		require.Contains(t, out, want)
	}
	s.requireSourceClean()

	out, code = s.ardent("drop", "shop", "--force", "--yes")
	require.Equal(t, 0, code, out)
	for _, want := range []string{"replication slot ardent_shop: already absent", "bookkeeping schema _ardent: already absent",
		"catalog record: already marked dropped"} {
		require.Contains(t, out, want)
	}
	st, ok := s.status("shop")
	require.True(t, ok)
	require.Equal(t, "dropped", st.Stage)
	out, code = s.ardent("list")
	require.Equal(t, 0, code, out)
	require.NotContains(t, out, "shop", "a connector dropped with --force is still listed")
	out, _ = s.ardent("preflight", "--source", source, "--schema", "shop", "--format", "json")
	require.True(t, strings.HasPrefix(checkOf(t, out, "duplicate_source"), "pass: "), "the source is free again: %s", checkOf(t, out, "duplicate_source"))
}

// TestLifecycleDropAndOnboardAgain: onboarding a database that already has
// a live connector fails at once, naming it; drop refuses to run
// unconfirmed off a terminal (exit 2), and with --yes waits and reports
// what it removed; onboarding again with --wait follows the new run to
// streaming, not the dropped one.
func TestLifecycleDropAndOnboardAgain(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	source := s.onboardShop("shop")

	began := time.Now()
	out, code := s.ardent("onboard", "--name", "twin", "--source", source, "--destination", s.dst.URL("destination"),
		"--schema", "shop", "--target-schema", "twin", "--deadline", "2m", "--wait")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, `connector "shop"`)
	require.Less(t, time.Since(began), 90*time.Second, "the duplicate onboarding did not fail at once")
	st, ok := s.status("twin")
	require.True(t, ok)
	require.Equal(t, "failed", st.Stage)

	out, code = s.ardent("drop", "shop")
	require.Equal(t, 2, code, out)
	require.Contains(t, out, "--yes")
	st, _ = s.status("shop")
	require.Equal(t, "streaming", st.Stage, "an unconfirmed drop dropped")

	out, code = s.ardent("drop", "shop", "--yes")
	require.Equal(t, 0, code, out)
	for _, want := range []string{"replication slot ardent_shop: removed", "bookkeeping schema _ardent: removed", "catalog record: marked dropped"} {
		require.Contains(t, out, want)
	}
	s.requireSourceClean()

	out, code = s.ardent("onboard", "--name", "shop", "--source", source, "--destination", s.dst.URL("destination"),
		"--schema", "shop", "--verify-interval", "-1s", "--replace-existing", "--wait")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "shop is streaming")
	require.NotContains(t, out, "dropped")
	s.waitStage("shop", "streaming", time.Minute)
}

// errorLine is a worker log line at level ERROR (text or JSON format).
var errorLine = regexp.MustCompile(`(?m)^.*(level=ERROR|"level":"ERROR").*$`)

// TestLifecycleQuietLogs: pause and resume log no ERROR; a SIGTERMed
// worker exits within 5 s with no ERROR and a new one streams on; list and
// status work without the master key.
func TestLifecycleQuietLogs(t *testing.T) {
	s := newStack(t)
	w := s.startWorker()
	s.onboardShop("shop")

	out, code := s.ardent("pause", "shop")
	require.Equal(t, 0, code, out)
	s.waitStage("shop", "paused", 30*time.Second)
	out, code = s.ardent("resume", "shop")
	require.Equal(t, 0, code, out)
	s.waitStage("shop", "streaming", time.Minute)
	require.Empty(t, errorLine.FindAllString(w.Output(), -1), "pause and resume logged errors")

	noKey := []string{"ARDENT_MASTER_KEY=", "ARDENT_MASTER_KEY_FILE="}
	out, code = s.RunEnv(t, noKey, "list")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "shop")
	require.Contains(t, out, "streaming")
	out, code = s.RunEnv(t, noKey, "status", "shop")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "streaming")

	began := time.Now()
	require.NoError(t, syscall.Kill(w.Pid(), syscall.SIGTERM))
	require.NoError(t, w.Wait(5*time.Second), "the worker did not exit cleanly within 5 s of SIGTERM\n%s", temporaltest.Tail(w.Output(), 30))
	t.Logf("worker exited %s after SIGTERM", time.Since(began).Round(time.Millisecond))
	require.Empty(t, errorLine.FindAllString(w.Output(), -1), "the stop logged errors")

	// The stream was handed back, not failed: the next worker streams on
	// at once (a failed attempt would show retrying for minutes).
	s.startWorker()
	s.src.Exec(t, "app", "INSERT INTO shop.customers VALUES (100001, 'after the stop', NULL)")
	require.Eventually(t, func() bool { return sameRows(s.src.URL("app"), s.dst.URL("destination"), "shop.customers") },
		time.Minute, time.Second, "the next worker did not stream on: %s", s.workerOutput())
	st := s.waitStage("shop", "streaming", 45*time.Second)
	require.Empty(t, st.Error)
}
