package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/e2estack"
	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// stack is one test's world (internal/e2estack): a source cluster (SSL,
// passwords) with database app, a cluster holding Ardent's catalog and the
// destination database, a dev server, and a deployment on the test's own
// task queue whose workers and CLI runs it drives.
type stack struct {
	*e2estack.Deployment
	t          *testing.T
	temporal   *temporaltest.Server
	src, dst   *pgtest.Cluster
	codecToken string
}

func newStack(t *testing.T) *stack {
	t.Helper()
	st := e2estack.Start(t, e2estack.Options{
		Source:               pgtest.Options{SSL: true, PasswordAuth: true},
		SourceDatabases:      []string{"app"},
		DestinationDatabases: []string{"destination"},
		CodecToken:           true,
	})
	queue := "e2e-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	return &stack{Deployment: st.Deploy(queue, e2estack.FastEnv...), t: t,
		temporal: st.Temporal, src: st.Src, dst: st.Dst, codecToken: st.CodecToken}
}

func (s *stack) startWorker() *temporaltest.Process { s.t.Helper(); return s.StartWorker(s.t) }

// ardent runs the CLI and returns its combined output and exit code.
func (s *stack) ardent(args ...string) (string, int) { s.t.Helper(); return s.Run(s.t, args...) }

func (s *stack) waitStage(name, want string, timeout time.Duration) e2estack.Status {
	s.t.Helper()
	return s.WaitStage(s.t, name, want, timeout)
}

// status is connector name's status; ok is false when there is none. It
// never fails the test, so require.Eventually may call it.
func (s *stack) status(name string) (e2estack.Status, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := s.StatusContext(ctx, name)
	return st, err == nil
}

func (s *stack) workerOutput() string { return s.WorkerOutput(60) }

// psql runs psql through url and fails the test on error.
func (s *stack) psql(url string, args ...string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := pgtest.Psql(ctx, url, append([]string{"-v", "ON_ERROR_STOP=1"}, args...)...)
	require.NoError(s.t, err, "psql: %s", out)
	return out
}

// applySQL generates the SQL for role ardent over schema shop of database
// app and applies it with psql, as the operator would. The password goes
// to `ardent sql` in a password file; the script carries only its SCRAM
// verifier.
func (s *stack) applySQL(password string) {
	s.t.Helper()
	s.psql(s.src.URL("app"), "-f", s.sqlScript("app", "--password-file", passwordFile(s.t, password)))
}

// sqlScript runs `ardent sql` for role ardent over schema shop of database
// db with more args, and returns the script's file.
func (s *stack) sqlScript(db string, args ...string) string {
	s.t.Helper()
	script, code := s.ardent(append([]string{"sql", "--source", s.src.URL(db), "--schema", "shop", "--role", "ardent",
		"--egress-ip", "127.0.0.1"}, args...)...)
	require.Equal(s.t, 0, code, script)
	file := filepath.Join(s.t.TempDir(), "ardent.sql")
	require.NoError(s.t, os.WriteFile(file, []byte(script), 0o600))
	return file
}

// passwordFile writes password to a file only its owner may read.
func passwordFile(t testing.TB, password string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "password")
	require.NoError(t, os.WriteFile(file, []byte(password+"\n"), 0o600))
	return file
}

// sameRows tells whether table holds the same rows through both URLs (see
// internal/rowsum). It never fails the test, so require.Eventually may
// call it; an unreadable side is not the same.
func sameRows(a, b, table string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	x, errA := e2estack.Checksum(ctx, a, table)
	y, errB := e2estack.Checksum(ctx, b, table)
	return errA == nil && errB == nil && x == y
}

func randomPassword(t testing.TB) string {
	b := make([]byte, 12)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return "Pw" + hex.EncodeToString(b) + "Zq"
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
