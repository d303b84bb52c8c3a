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
	"time"
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

// readyTimeout bounds the wait for a (re)started dev server; a loaded
// 2-core machine needs more than a minute now and then.
const readyTimeout = 90 * time.Second

// Server is a Temporal frontend a test can dial.
type Server struct {
	Address   string   // host:port of the gRPC frontend
	Namespace string   // always "default"
	UIAddress string   // host:port of the Web UI, empty when headless
	Process   *Process // nil for an existing server (Options.Address)

	bin    string   // the temporal CLI
	args   []string // of `temporal server start-dev`, reused by Restart
	home   string   // the CLI's $HOME, the SQLite file and the logs
	ownDir bool     // home is ours to remove on Close
}

// Options tune the dev server; the zero value is a headless server in a
// new temporary directory.
type Options struct {
	UI            bool     // serve the Web UI on a free port
	CodecEndpoint string   // --ui-codec-endpoint for the Web UI
	ExtraArgs     []string // more `temporal server start-dev` flags
	// Dir holds the SQLite file, the CLI's $HOME and the server log; empty:
	// a new temporary directory that Close removes.
	Dir string
	// Address names an existing server to use instead of starting one;
	// such a server cannot be restarted and Close leaves it alone.
	Address string
}

// StartDevServer starts a dev server on free loopback ports and returns
// once the namespace and Ardent's search attributes are usable, retrying on
// other ports when the server exits at once (a port taken meanwhile). The
// caller stops it with Close. A missing CLI is an error wrapping
// ErrPrerequisite.
func StartDevServer(ctx context.Context, opts Options) (*Server, error) {
	if opts.Address != "" {
		return &Server{Address: opts.Address, Namespace: "default"}, nil
	}
	bin, err := FindCLI()
	if err != nil {
		return nil, err
	}
	s := &Server{Namespace: "default", bin: bin, home: opts.Dir}
	if s.home == "" {
		if s.home, err = os.MkdirTemp("", "temporaltest-"); err != nil {
			return nil, fmt.Errorf("temporaltest: create server directory: %w", err)
		}
		s.ownDir = true
	}
	for attempt := 1; ; attempt++ {
		if err = s.configure(opts); err == nil {
			err = s.start(ctx)
		}
		if err == nil {
			return s, nil
		}
		if attempt >= 3 || !errors.Is(err, errExited) {
			_ = s.Close()
			return nil, fmt.Errorf("start dev server: %w", err)
		}
	}
}

var errExited = errors.New("dev server exited early")

// configure picks the ports and the command line.
func (s *Server) configure(opts Options) error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	port, uiPort := ports[0], ports[1]
	s.Address = fmt.Sprintf("127.0.0.1:%d", port)
	s.args = []string{"server", "start-dev",
		"--ip", "127.0.0.1", "--port", fmt.Sprint(port),
		"--db-filename", filepath.Join(s.home, "temporal.db"),
		"--namespace", s.Namespace,
		"--log-level", "warn",
	}
	for name, typ := range SearchAttributes {
		s.args = append(s.args, "--search-attribute", name+"="+typ)
	}
	if opts.UI {
		s.UIAddress = fmt.Sprintf("127.0.0.1:%d", uiPort)
		s.args = append(s.args, "--ui-port", fmt.Sprint(uiPort))
		if opts.CodecEndpoint != "" {
			s.args = append(s.args, "--ui-codec-endpoint", opts.CodecEndpoint)
		}
	} else {
		s.args = append(s.args, "--headless")
	}
	s.args = append(s.args, opts.ExtraArgs...)
	return nil
}

// start runs the server with s.args and waits until it is ready.
func (s *Server) start(ctx context.Context) error {
	// The CLI reads profiles from $HOME; a HOME of its own keeps a
	// developer's settings out.
	p, err := Spawn(s.bin, s.args, []string{"HOME=" + s.home}, filepath.Join(s.home, "temporal.log"))
	if err != nil {
		return err
	}
	s.Process = p
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	var lastErr error
	for {
		if p.Exited() {
			return fmt.Errorf("%w (%s): %s", errExited, s.Address, Tail(p.Output(), 20))
		}
		if lastErr = s.ready(ctx); lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			p.Kill()
			return fmt.Errorf("dev server on %s not ready after %s: %v\n%s", s.Address, readyTimeout, lastErr, Tail(p.Output(), 20))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop stops the server (SIGTERM, as an orderly shutdown would) and keeps
// its database file and port for Restart.
func (s *Server) Stop() error {
	if s.Process == nil {
		return errors.New("temporaltest: an existing server (Options.Address) cannot be stopped")
	}
	return s.Process.Stop()
}

// Restart stops the server, waits down, and starts it again on the same
// port with the same database file, so workflows survive the restart.
func (s *Server) Restart(ctx context.Context, down time.Duration) error {
	if s.Process == nil {
		return errors.New("temporaltest: an existing server (Options.Address) cannot be restarted")
	}
	_ = s.Process.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(down):
	}
	if err := s.start(ctx); err != nil {
		return fmt.Errorf("temporaltest: restart: %w", err)
	}
	return nil
}

// Close kills the server and removes its directory when it made it. An
// existing server is left alone.
func (s *Server) Close() error {
	if s.Process != nil {
		s.Process.Kill()
	}
	if s.ownDir {
		return os.RemoveAll(s.home)
	}
	return nil
}

// ready checks the frontend accepts connections, the namespace exists and
// the search attributes are registered, using the CLI itself as the client.
func (s *Server) ready(ctx context.Context) error {
	conn, err := net.DialTimeout("tcp", s.Address, time.Second)
	if err != nil {
		return err
	}
	conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cli(ctx, s.bin, s.home, "operator", "namespace", "describe", "--namespace", s.Namespace, "--address", s.Address); err != nil {
		return err
	}
	out, err := cli(ctx, s.bin, s.home, "operator", "search-attribute", "list", "--namespace", s.Namespace, "--address", s.Address)
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

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago: all are held open until the last is chosen, so the frontend and the
// UI never get the same one. Another process may take one before the
// server binds; StartDevServer retries on that.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find free loopback port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
