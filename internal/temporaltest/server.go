package temporaltest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// CLIVersion is the Temporal CLI the repository pins (scripts/install-deps.sh
// installs it into bin/).
const CLIVersion = "v1.5.1"

// InstallCommand is how a missing CLI is installed.
const InstallCommand = "GOBIN=$(pwd)/bin go install github.com/temporalio/cli/cmd/temporal@" + CLIVersion

// SearchAttributes are the custom search attributes Ardent's workflows set;
// the dev server registers them at launch. Keep in step with the workflow
// constants.
var SearchAttributes = map[string]string{
	"ArdentStage":  "Keyword",
	"ArdentSource": "Keyword",
}

const readyTimeout = 60 * time.Second

// Server is a Temporal frontend a test can dial.
type Server struct {
	Address   string   // host:port of the gRPC frontend
	Namespace string   // always "default"
	UIAddress string   // host:port of the Web UI, empty when headless
	Process   *Process // nil when ARDENT_TEST_TEMPORAL_ADDRESS named an existing server
}

// Options tune the dev server; the zero value is a headless server.
type Options struct {
	UI            bool     // serve the Web UI on a free port
	CodecEndpoint string   // --ui-codec-endpoint for the Web UI
	ExtraArgs     []string // more `temporal server start-dev` flags
}

// Start returns a usable Temporal server: the one named by
// ARDENT_TEST_TEMPORAL_ADDRESS, or a new headless dev server stopped on
// cleanup.
func Start(t testing.TB) *Server { t.Helper(); return StartWith(t, Options{}) }

// StartWith is Start with options for the dev server it starts.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("temporaltest: end-to-end test skipped in -short mode")
	}
	if addr := os.Getenv("ARDENT_TEST_TEMPORAL_ADDRESS"); addr != "" {
		return &Server{Address: addr, Namespace: "default"}
	}
	bin, err := FindCLI()
	if err != nil {
		prerequisite(t, err)
	}
	for attempt := 1; ; attempt++ {
		s, err := startDev(t, bin, opts)
		if err == nil {
			return s
		}
		if attempt >= 3 || !errors.Is(err, errExited) {
			t.Fatalf("temporaltest: %v", err)
		}
		t.Logf("temporaltest: %v; retrying on other ports", err)
	}
}

var errExited = errors.New("dev server exited early")

func startDev(t testing.TB, bin string, opts Options) (*Server, error) {
	t.Helper()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	s := &Server{Address: fmt.Sprintf("127.0.0.1:%d", port), Namespace: "default"}
	args := []string{"server", "start-dev",
		"--ip", "127.0.0.1", "--port", fmt.Sprint(port),
		"--db-filename", filepath.Join(dir, "t.db"),
		"--namespace", s.Namespace,
		"--log-level", "warn",
	}
	for name, typ := range SearchAttributes {
		args = append(args, "--search-attribute", name+"="+typ)
	}
	if opts.UI {
		uiPort, err := freePort()
		if err != nil {
			return nil, err
		}
		s.UIAddress = fmt.Sprintf("127.0.0.1:%d", uiPort)
		args = append(args, "--ui-port", fmt.Sprint(uiPort))
		if opts.CodecEndpoint != "" {
			args = append(args, "--ui-codec-endpoint", opts.CodecEndpoint)
		}
	} else {
		args = append(args, "--headless")
	}
	args = append(args, opts.ExtraArgs...)
	// The CLI reads profiles from $HOME; an empty HOME keeps a developer's
	// settings out of the test.
	s.Process = StartProcess(t, bin, args, []string{"HOME=" + dir})

	var lastErr error
	ready := assert.Eventually(t, func() bool {
		if s.Process.Exited() {
			return true
		}
		lastErr = s.ready(bin, dir)
		return lastErr == nil
	}, readyTimeout, 100*time.Millisecond)
	switch {
	case s.Process.Exited():
		return nil, fmt.Errorf("%w (port %d): %s", errExited, port, tail(s.Process.Output(), 20))
	case !ready:
		return nil, fmt.Errorf("dev server on %s not ready after %s: %v\n%s", s.Address, readyTimeout, lastErr, tail(s.Process.Output(), 20))
	}
	return s, nil
}

// ready checks the frontend accepts connections, the namespace exists and
// the search attributes are registered, using the CLI itself as the client.
func (s *Server) ready(bin, home string) error {
	conn, err := net.DialTimeout("tcp", s.Address, time.Second)
	if err != nil {
		return err
	}
	conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli(ctx, bin, home, "operator", "namespace", "describe", "--namespace", s.Namespace, "--address", s.Address); err != nil {
		return err
	}
	out, err := cli(ctx, bin, home, "operator", "search-attribute", "list", "--namespace", s.Namespace, "--address", s.Address)
	if err != nil {
		return err
	}
	for name := range SearchAttributes {
		if !strings.Contains(out, name) {
			return fmt.Errorf("search attribute %s not registered yet", name)
		}
	}
	return nil
}

func cli(ctx context.Context, bin, home string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("temporal %s: %w: %s", strings.Join(args[:3], " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// CLI runs the temporal CLI against s (--address and --namespace are
// added) and returns its combined output, e.g. to describe a workflow the
// way an operator would.
func (s *Server) CLI(ctx context.Context, args ...string) (string, error) {
	bin, err := FindCLI()
	if err != nil {
		return "", err
	}
	all := append(append([]string{}, args...), "--address", s.Address, "--namespace", s.Namespace)
	cmd := exec.CommandContext(ctx, bin, all...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("temporal %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// ErrPrerequisite marks a missing Temporal CLI.
var ErrPrerequisite = errors.New("temporal CLI missing")

// FindCLI locates the temporal binary: $ARDENT_TEMPORAL_BIN, then
// <repo root>/bin/temporal, then PATH.
func FindCLI() (string, error) {
	if bin := os.Getenv("ARDENT_TEMPORAL_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("%w: ARDENT_TEMPORAL_BIN=%s: %v", ErrPrerequisite, bin, err)
		}
		return bin, nil
	}
	if root, err := RepoRoot(); err == nil {
		bin := filepath.Join(root, "bin", "temporal")
		if _, err := os.Stat(bin); err == nil {
			return bin, nil
		}
	}
	if bin, err := exec.LookPath("temporal"); err == nil {
		return bin, nil
	}
	return "", fmt.Errorf("%w: not in $ARDENT_TEMPORAL_BIN, <repo>/bin/temporal or PATH; run scripts/install-deps.sh or %s", ErrPrerequisite, InstallCommand)
}

// RepoRoot walks up from the working directory to the directory holding go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod above the working directory")
		}
		dir = parent
	}
}

func prerequisite(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrPrerequisite) && os.Getenv("CI") != "true" {
		t.Skipf("temporaltest: %v", err)
	}
	t.Fatalf("temporaltest: %v", err)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
