//go:build faults

package faults

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/e2estack"
	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// world is shared by every scenario (internal/e2estack): the clusters, a
// dev server of its own (temporal-restart restarts it in place) and the
// binaries. Each scenario adds its own databases and deployment.
type world struct {
	*e2estack.Stack
	src, dst *pgtest.Cluster
}

func newWorld(t *testing.T) *world {
	t.Helper()
	s := e2estack.Start(t, e2estack.Options{
		Source: pgtest.Options{SSL: true, ExtraConf: []string{
			"wal_sender_timeout = 20s",
			"max_wal_size = 256MB",
		}},
		OwnTemporal: true,
	})
	return &world{Stack: s, src: s.Src, dst: s.Dst}
}

// scene is one scenario's connector with its own databases, task queue
// and workers.
type scene struct {
	*e2estack.Deployment
	t       *testing.T
	w       *world
	name    string   // connector name
	db      string   // source and destination database name
	sampler *sampler // destination invariants, once streaming
}

func (w *world) newScene(t *testing.T, name string) *scene {
	t.Helper()
	s := &scene{t: t, w: w, name: name, db: "f_" + strings.ReplaceAll(name, "-", "_")}
	w.src.CreateDatabase(t, s.db)
	w.dst.CreateDatabase(t, s.db)
	s.Deployment = w.Deploy("faults-"+name, e2estack.FastEnv...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker output:\n%s", s.workerOutput())
		}
		s.Close()
		s.dropSlots()
	})
	return s
}

func (s *scene) srcURL() string { return s.w.src.URL(s.db) }
func (s *scene) dstURL() string { return s.w.dst.URL(s.db) }

func (s *scene) startWorker() *temporaltest.Process { s.t.Helper(); return s.StartWorker(s.t) }

func (s *scene) workerOutput() string { return s.WorkerOutput(40) }

// ardent runs the CLI and returns its combined output and exit code.
func (s *scene) ardent(args ...string) (string, int) { s.t.Helper(); return s.Run(s.t, args...) }

// status is the connector's status; ok is false when there is none. It
// never fails the test.
func (s *scene) status() (e2estack.Status, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := s.StatusContext(ctx, s.name)
	return st, err == nil
}

func (s *scene) waitStage(want string, timeout time.Duration) e2estack.Status {
	s.t.Helper()
	return s.WaitStage(s.t, s.name, want, timeout)
}

// onboard starts the connector from source URL src (the scene's database
// unless a proxy stands in front of it).
func (s *scene) onboard(src string) {
	s.t.Helper()
	out, code := s.ardent("onboard", "--name", s.name, "--source", src, "--destination", s.dstURL(),
		"--schema", "app", "--backoff-initial", "2s", "--backoff-max", "5s")
	require.Equal(s.t, 0, code, out)
}

// drop removes the connector (slot, bookkeeping) so the next scene starts
// clean; a failed connector may refuse, which is fine.
func (s *scene) drop() {
	s.t.Helper()
	_, _ = s.ardent("drop", s.name, "--yes")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if st, ok := s.status(); ok && (st.Stage == "dropped" || st.Stage == "failed") {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	s.dropSlots()
}

// dropSlots leaves no slot of the scene behind to pin WAL on the shared
// source, whatever the workflow did.
func (s *scene) dropSlots() {
	s.w.src.Exec(s.t, s.db, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = current_database() AND active_pid IS NOT NULL`)
	time.Sleep(200 * time.Millisecond)
	s.w.src.Exec(s.t, s.db, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database() AND NOT active`)
}

// query runs sql through url with psql and fails the test on error.
func (s *scene) query(url, sql string) string {
	s.t.Helper()
	out, err := s.tryQuery(url, sql)
	require.NoError(s.t, err, "psql: %s", out)
	return out
}

// tryQuery is query without failing the test, for require.Eventually.
func (s *scene) tryQuery(url, sql string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return e2estack.Query(ctx, url, sql)
}
