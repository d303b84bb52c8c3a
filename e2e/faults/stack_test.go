//go:build faults

package faults

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// world is shared by every scenario: clusters, the dev server, binaries.
// Each scenario adds its own databases, task queue, workers and connector.
type world struct {
	temporal  *devServer
	src, dst  *pgtest.Cluster
	ardentBin string
	workerBin string
	keyFile   string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{}
	w.ardentBin, w.workerBin = temporaltest.BuildBinaries(t)
	w.temporal = startDevServer(t)
	w.src = pgtest.Start(t, pgtest.Options{SSL: true, ExtraConf: []string{
		"wal_sender_timeout = 20s",
		"max_wal_size = 256MB",
	}})
	w.dst = pgtest.Start(t, pgtest.Options{})
	w.dst.CreateDatabase(t, "ardent_catalog")
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	w.keyFile = filepath.Join(t.TempDir(), "master.key")
	require.NoError(t, os.WriteFile(w.keyFile, []byte(base64.StdEncoding.EncodeToString(key)), 0o600))
	return w
}

// scene is one scenario's connector with its own databases and workers.
type scene struct {
	t       *testing.T
	w       *world
	name    string // connector name
	db      string // source and destination database name
	env     []string
	workers []*temporaltest.Process
	sampler *sampler // destination invariants, once streaming
}

func (w *world) newScene(t *testing.T, name string) *scene {
	t.Helper()
	s := &scene{t: t, w: w, name: name, db: "f_" + strings.ReplaceAll(name, "-", "_")}
	w.src.CreateDatabase(t, s.db)
	w.dst.CreateDatabase(t, s.db)
	s.env = []string{
		"ARDENT_TEMPORAL_ADDRESS=" + w.temporal.Address,
		"ARDENT_TEMPORAL_NAMESPACE=default",
		"ARDENT_TASK_QUEUE=faults-" + name,
		"ARDENT_CATALOG_URL=" + w.dst.URL("ardent_catalog"),
		"ARDENT_MASTER_KEY_FILE=" + w.keyFile,
		"ARDENT_HEARTBEAT_INTERVAL=1s",
		"ARDENT_IDLE_EMIT_INTERVAL=2s",
		"ARDENT_LOG_LEVEL=debug",
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker output:\n%s", s.workerOutput())
		}
		for _, p := range s.workers {
			p.Kill()
		}
		s.dropSlots()
	})
	return s
}

func (s *scene) srcURL() string { return s.w.src.URL(s.db) }
func (s *scene) dstURL() string { return s.w.dst.URL(s.db) }

// startWorker starts a real ardent-worker process on the scene's queue.
func (s *scene) startWorker() *temporaltest.Process {
	s.t.Helper()
	env := append(append([]string{}, s.env...), "ARDENT_HTTP_ADDRESS="+freeAddr(s.t))
	p := temporaltest.StartProcess(s.t, s.w.workerBin, nil, env)
	require.Eventually(s.t, func() bool {
		return strings.Contains(p.Output(), "worker started") || p.Exited()
	}, 60*time.Second, 100*time.Millisecond)
	require.False(s.t, p.Exited(), "worker exited: %s", p.Output())
	s.workers = append(s.workers, p)
	return p
}

// liveWorkers are the scene's workers still running.
func (s *scene) liveWorkers() []*temporaltest.Process {
	var out []*temporaltest.Process
	for _, p := range s.workers {
		if !p.Exited() {
			out = append(out, p)
		}
	}
	return out
}

func (s *scene) workerOutput() string {
	var b strings.Builder
	for i, w := range s.workers {
		fmt.Fprintf(&b, "--- worker %d ---\n%s\n", i, tail(w.Output(), 40))
	}
	return b.String()
}

// ardent runs the CLI and returns its combined output and exit code.
func (s *scene) ardent(args ...string) (string, int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.w.ardentBin, args...)
	cmd.Env = append(os.Environ(), s.env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatalf("run ardent %v: %v", args, err)
	}
	return string(out), code
}

// status is `ardent status NAME --format json`, decoded loosely.
type status struct {
	Stage            string `json:"stage"`
	Error            string `json:"error"`
	Remedy           string `json:"remedy"`
	SnapshotProgress *struct {
		Rows int64 `json:"rows"`
	} `json:"snapshot_progress"`
	Replication *struct {
		ConfirmedLSN string `json:"confirmed_lsn"`
	} `json:"replication"`
}

func (s *scene) status() (status, bool) {
	out, code := s.ardent("status", s.name, "--format", "json")
	var st status
	// Exit 1 with a status is a connector stopped in failed or attention.
	if (code != 0 && code != 1) || json.Unmarshal([]byte(out), &st) != nil || st.Stage == "" {
		return st, false
	}
	return st, true
}

func (s *scene) waitStage(want string, timeout time.Duration) status {
	s.t.Helper()
	var last status
	require.Eventually(s.t, func() bool {
		st, ok := s.status()
		if ok {
			last = st
		}
		return ok && st.Stage == want
	}, timeout, 500*time.Millisecond, "stage never became %s; last %+v; worker output:\n%s", want, last, s.workerOutput())
	return last
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
	_, _ = s.ardent("drop", s.name)
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

func (s *scene) query(url, sql string) string {
	s.t.Helper()
	out, err := exec.Command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-Atc", sql).CombinedOutput()
	require.NoError(s.t, err, "psql: %s", out)
	return strings.TrimSpace(string(out))
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tryQuery is query without failing the test.
func (s *scene) tryQuery(url, sql string) (string, error) {
	out, err := exec.Command("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-Atc", sql).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
