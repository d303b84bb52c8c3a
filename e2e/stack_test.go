package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
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
	"github.com/ardent-cdc/ardent/internal/rowsum"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// stack is one test's world: a source cluster (SSL, passwords), a cluster
// holding Ardent's catalog and the destination, a dev server, binaries.
type stack struct {
	t          *testing.T
	temporal   *temporaltest.Server
	src, dst   *pgtest.Cluster
	ardentBin  string
	workerBin  string
	env        []string
	workers    []*temporaltest.Process
	httpAddr   string
	codecToken string
	logs       []string // every CLI invocation's output, for the secrets check
}

func newStack(t *testing.T) *stack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: needs PostgreSQL and a Temporal dev server")
	}
	s := &stack{t: t}
	s.ardentBin, s.workerBin = temporaltest.BuildBinaries(t)
	s.temporal = temporaltest.Start(t)
	s.src = pgtest.Start(t, pgtest.Options{SSL: true, PasswordAuth: true})
	s.dst = pgtest.Start(t, pgtest.Options{})
	s.dst.CreateDatabase(t, "ardent_catalog")
	s.dst.CreateDatabase(t, "destination")
	s.src.CreateDatabase(t, "app")

	key := make([]byte, 32)
	_, _ = rand.Read(key)
	keyFile := filepath.Join(t.TempDir(), "master.key")
	require.NoError(t, os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)), 0o600))
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	s.codecToken = hex.EncodeToString(tok)
	s.httpAddr = freeAddr(t)
	s.env = []string{
		"ARDENT_TEMPORAL_ADDRESS=" + s.temporal.Address,
		"ARDENT_TEMPORAL_NAMESPACE=default",
		"ARDENT_TASK_QUEUE=e2e-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")),
		"ARDENT_CATALOG_URL=" + s.dst.URL("ardent_catalog"),
		"ARDENT_MASTER_KEY_FILE=" + keyFile,
		"ARDENT_CODEC_TOKEN=" + s.codecToken,
		"ARDENT_HEARTBEAT_INTERVAL=1s",
		"ARDENT_IDLE_EMIT_INTERVAL=2s",
		"ARDENT_LOG_LEVEL=debug",
	}
	return s
}

// startWorker starts a real ardent-worker process; each gets its own HTTP port.
func (s *stack) startWorker() *temporaltest.Process {
	s.t.Helper()
	addr := s.httpAddr
	if len(s.workers) > 0 {
		addr = freeAddr(s.t)
	}
	p := temporaltest.StartProcess(s.t, s.workerBin, nil, append(append([]string{}, s.env...), "ARDENT_HTTP_ADDRESS="+addr))
	require.Eventually(s.t, func() bool {
		return strings.Contains(p.Output(), "worker started") || p.Exited()
	}, 60*time.Second, 100*time.Millisecond)
	require.False(s.t, p.Exited(), "worker exited: %s", p.Output())
	s.workers = append(s.workers, p)
	return p
}

// ardent runs the CLI and returns its combined output and exit code.
func (s *stack) ardent(args ...string) (string, int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.ardentBin, args...)
	cmd.Env = append(os.Environ(), s.env...)
	out, err := cmd.CombinedOutput()
	s.logs = append(s.logs, string(out))
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
	Stage     string `json:"stage"`
	Error     string `json:"error"`
	Preflight *struct {
		Passed bool `json:"passed"`
		Checks []struct {
			ID, Status string
		} `json:"checks"`
	} `json:"preflight"`
	Snapshot *struct {
		Rows int64 `json:"rows"`
	} `json:"snapshot"`
	Replication *struct {
		ConfirmedLSN string `json:"confirmed_lsn"`
	} `json:"replication"`
}

func (s *stack) status(name string) (status, bool) {
	out, code := s.ardent("status", name, "--format", "json")
	var st status
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		return st, false
	}
	return st, true
}

func (s *stack) waitStage(name string, want string, timeout time.Duration) status {
	s.t.Helper()
	var last status
	require.Eventually(s.t, func() bool {
		st, ok := s.status(name)
		if ok {
			last = st
		}
		return ok && st.Stage == want
	}, timeout, 500*time.Millisecond, "stage never became %s; last %+v; worker output:\n%s", want, last, s.workerOutput())
	return last
}

func (s *stack) workerOutput() string {
	var b strings.Builder
	for i, w := range s.workers {
		fmt.Fprintf(&b, "--- worker %d ---\n%s\n", i, tail(w.Output(), 60))
	}
	return b.String()
}

func (s *stack) psql(url string, args ...string) string {
	s.t.Helper()
	cmd := exec.Command("psql", append([]string{"-X", "-q", "-v", "ON_ERROR_STOP=1", url}, args...)...)
	out, err := cmd.CombinedOutput()
	require.NoError(s.t, err, "psql: %s", out)
	return string(out)
}

// checksum is the table's whole-row digest (see internal/rowsum); with -q
// the SETs print nothing, so the output is the digest line alone.
func (s *stack) checksum(url, table string) string {
	return strings.TrimSpace(s.psql(url, "-Atc", rowsum.Settings+"; "+rowsum.SQL(table)))
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func randomPassword(t testing.TB) string {
	b := make([]byte, 12)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "Pw" + hex.EncodeToString(b) + "Zq"
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// decodeBase64Fields returns raw JSON followed by every string field that
// decodes as base64: `temporal ... --output json` prints payload data in
// base64, so a plain-text secret would not show as such in raw.
func decodeBase64Fields(t testing.TB, raw string) string {
	t.Helper()
	var doc any
	require.NoError(t, json.Unmarshal([]byte(raw), &doc))
	var b strings.Builder
	b.WriteString(raw)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case string:
			if d, err := base64.StdEncoding.DecodeString(v); err == nil {
				b.WriteString("\n")
				b.Write(d)
			}
		}
	}
	walk(doc)
	return b.String()
}
