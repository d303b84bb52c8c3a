package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

const (
	startTimeout = 60 * time.Second
	waitDelay    = 5 * time.Second
)

// Layout of a cluster directory: dir/data is PGDATA (and the unix socket
// directory), dir/server.log the server log. dir is owned by the server's
// OS user so the server can create files beside its data.
func dataDirOf(dir string) string { return filepath.Join(dir, "data") }
func logFileOf(dir string) string { return filepath.Join(dir, "server.log") }

// FreePort returns a loopback TCP port that was free a moment ago. Another
// process may take it before the server binds; Start retries on that.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Init creates a cluster in dir (created if needed) listening on
// 127.0.0.1:port, for the dev stack and other non-test callers. It is
// idempotent: an existing cluster keeps its data and certificate and gets
// its settings and pg_hba.conf rewritten from opts.
func Init(ctx context.Context, dir string, port int, opts Options) error {
	inst, err := FindInstall()
	if err != nil {
		return err
	}
	own, err := serverOwner()
	if err != nil {
		return err
	}
	if !own.canReach(filepath.Dir(dir)) {
		return fmt.Errorf("%w: the server's OS user (postgres, as we are root) cannot enter %s: put the cluster elsewhere, e.g. under /var/tmp",
			ErrPrerequisite, filepath.Dir(dir))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create cluster directory %s: %w", dir, err)
	}
	if err := own.chown(dir); err != nil {
		return err
	}
	return initCluster(ctx, inst, own, dir, port, opts)
}

func initCluster(ctx context.Context, inst Install, own owner, dir string, port int, opts Options) error {
	dataDir := dataDirOf(dir)
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if _, err := own.run(ctx, dir, filepath.Join(inst.BinDir, "initdb"),
			"-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
			return fmt.Errorf("initdb %s: %w", dataDir, err)
		}
	}
	return writeConfig(own, dataDir, port, opts)
}

// StartDir starts the cluster Init created in dir and waits until it accepts
// connections. Starting a running cluster is a no-op.
func StartDir(ctx context.Context, dir string) error {
	inst, own, err := installAndOwner()
	if err != nil {
		return err
	}
	if running(ctx, inst, own, dir) {
		return nil
	}
	return startServer(ctx, inst, own, dir)
}

// StopDir stops the cluster in dir (fast shutdown). Stopping a stopped
// cluster is a no-op.
func StopDir(ctx context.Context, dir string) error {
	inst, own, err := installAndOwner()
	if err != nil {
		return err
	}
	if !running(ctx, inst, own, dir) {
		return nil
	}
	return stopServer(ctx, inst, own, dir, "fast")
}

// RunningDir reports whether the cluster in dir is running.
func RunningDir(ctx context.Context, dir string) (bool, error) {
	inst, own, err := installAndOwner()
	if err != nil {
		return false, err
	}
	return running(ctx, inst, own, dir), nil
}

func installAndOwner() (Install, owner, error) {
	inst, err := FindInstall()
	if err != nil {
		return Install{}, owner{}, err
	}
	own, err := serverOwner()
	return inst, own, err
}

func running(ctx context.Context, inst Install, own owner, dir string) bool {
	_, err := own.run(ctx, dir, filepath.Join(inst.BinDir, "pg_ctl"), "status", "-D", dataDirOf(dir))
	return err == nil
}

func startServer(ctx context.Context, inst Install, own owner, dir string) error {
	_, err := own.run(ctx, dir, filepath.Join(inst.BinDir, "pg_ctl"), "start", "-w",
		"-t", fmt.Sprint(int(startTimeout.Seconds())), "-D", dataDirOf(dir), "-l", logFileOf(dir))
	if err != nil {
		return fmt.Errorf("start cluster %s: %w\nserver log tail:\n%s", dir, err, LogTail(dir, 30))
	}
	return nil
}

func stopServer(ctx context.Context, inst Install, own owner, dir, mode string) error {
	_, err := own.run(ctx, dir, filepath.Join(inst.BinDir, "pg_ctl"), "stop", "-w",
		"-t", fmt.Sprint(int(startTimeout.Seconds())), "-m", mode, "-D", dataDirOf(dir))
	if err != nil {
		return fmt.Errorf("stop cluster %s: %w", dir, err)
	}
	return nil
}

// LogTail returns the last n lines of the server log of the cluster in dir.
func LogTail(dir string, n int) string {
	b, err := os.ReadFile(logFileOf(dir))
	if err != nil {
		return fmt.Sprintf("(no server log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// bindFailure reports whether a start failed because the port was taken,
// the one failure a retry on another port can fix.
func bindFailure(dir string) bool {
	tail := LogTail(dir, 20)
	return strings.Contains(tail, "could not bind") || strings.Contains(tail, "Address already in use")
}

// basebackup clones the running primary at port into dir/data as a
// streaming standby (-R writes standby.signal and primary_conninfo).
func basebackup(ctx context.Context, inst Install, own owner, port int, dir string) error {
	_, err := own.run(ctx, dir, filepath.Join(inst.BinDir, "pg_basebackup"),
		"-h", "127.0.0.1", "-p", fmt.Sprint(port), "-U", "postgres",
		"-D", dataDirOf(dir), "-R", "-X", "stream", "-c", "fast", "--no-sync")
	if err != nil {
		return fmt.Errorf("pg_basebackup into %s: %w", dir, err)
	}
	return nil
}

// Tool returns the path of a PostgreSQL client program (psql, pgbench,
// pg_recvlogical), preferring the one beside the server binaries, then PATH.
func Tool(name string) string {
	if inst, err := FindInstall(); err == nil {
		p := filepath.Join(inst.BinDir, name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return name
}

// Psql runs psql -X -q against url with extra args and returns its combined
// output. The environment loses every PG* variable, so a developer's
// settings never redirect it. The error names the server and database, not
// the URL (which may hold a password).
func Psql(ctx context.Context, url string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, Tool("psql"), append([]string{"-X", "-q", "-d", url}, args...)...)
	cmd.Env = cleanEnv(os.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		where := "?"
		if u, perr := neturl.Parse(url); perr == nil {
			where = u.Host + u.Path
		}
		return string(out), fmt.Errorf("psql on %s: %w", where, err)
	}
	return string(out), nil
}

// baseDir is where cluster directories go: os.TempDir(), unless the
// server's OS user cannot reach it (root, with TMPDIR inside a private
// home), then the first of /tmp and /var/tmp it can reach.
func baseDir(own owner) (string, error) {
	for _, d := range []string{os.TempDir(), "/tmp", "/var/tmp"} {
		if own.canReach(d) {
			return d, nil
		}
	}
	return "", fmt.Errorf("%w: the server's OS user can reach none of %s, /tmp, /var/tmp", ErrPrerequisite, os.TempDir())
}
