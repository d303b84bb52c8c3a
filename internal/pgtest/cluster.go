package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
)

// opTimeout bounds every harness operation so a wedged server fails the
// test instead of hanging the test binary.
const opTimeout = 2 * time.Minute

// Cluster is a running throwaway PostgreSQL cluster.
type Cluster struct {
	Host    string // always 127.0.0.1
	Port    int
	DataDir string // PGDATA; also the unix socket directory
	BinDir  string // server binaries this cluster runs with
	Dir     string // parent of DataDir, holding the server log
	LogFile string
	Major   int // server major version
	Opts    Options

	inst Install
	own  owner

	mu      sync.Mutex
	running bool
}

// Start initialises and starts a cluster on a free loopback port. It is
// stopped and removed by t.Cleanup, also when Start itself fails. A missing
// prerequisite skips the test, or fails it when CI=true; -short skips it.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	inst, own := prerequisites(t)
	c := newCluster(t, inst, own, opts)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		c.Port = port
		if err := initCluster(ctx, inst, own, c.Dir, port, opts); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		err = c.start(ctx)
		if err == nil {
			return c
		}
		if attempt >= 3 || !bindFailure(c.Dir) {
			t.Fatalf("pgtest: %v", err)
		}
		t.Logf("pgtest: port %d was taken, retrying on another", port)
	}
}

func prerequisites(t testing.TB) (Install, owner) {
	t.Helper()
	if testing.Short() {
		t.Skip("pgtest: integration test skipped in -short mode")
	}
	inst, err := FindInstall()
	if err == nil {
		var own owner
		if own, err = serverOwner(); err == nil {
			return inst, own
		}
	}
	if errors.Is(err, ErrPrerequisite) && os.Getenv("CI") != "true" {
		t.Skipf("pgtest: %v", err)
	}
	t.Fatalf("pgtest: %v", err)
	return Install{}, owner{}
}

// newCluster makes the cluster directory and registers its removal before
// anything can start, so no failure path leaks a server.
func newCluster(t testing.TB, inst Install, own owner, opts Options) *Cluster {
	t.Helper()
	sweepStale(inst, own)
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		t.Fatalf("pgtest: create cluster directory: %v", err)
	}
	c := &Cluster{
		Host:    "127.0.0.1",
		DataDir: dataDirOf(dir),
		BinDir:  inst.BinDir,
		Dir:     dir,
		LogFile: logFileOf(dir),
		Major:   inst.Major,
		Opts:    opts.withDefaults(),
		inst:    inst,
		own:     own,
	}
	t.Cleanup(c.destroy)
	if err := writeOwner(dir); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := own.chown(dir); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return c
}

func (c *Cluster) destroy() {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		// Immediate: the data is thrown away, so skip the checkpoint.
		_ = stopServer(ctx, c.inst, c.own, c.Dir, "immediate")
		c.running = false
	}
	_ = os.RemoveAll(c.Dir)
}

func (c *Cluster) start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Mark running before the attempt: pg_ctl may time out while the
	// postmaster lives on, and cleanup must still stop it.
	c.running = true
	return startServer(ctx, c.inst, c.own, c.Dir)
}

func (c *Cluster) stop(ctx context.Context, mode string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := stopServer(ctx, c.inst, c.own, c.Dir, mode); err != nil {
		return err
	}
	c.running = false
	return nil
}

// URL returns a URL for the superuser "postgres" and database db.
func (c *Cluster) URL(db string) string {
	return c.url(url.User("postgres"), db)
}

// URLFor returns a URL for user with password (empty: none) and database db.
func (c *Cluster) URLFor(user, password, db string) string {
	u := url.User(user)
	if password != "" {
		u = url.UserPassword(user, password)
	}
	return c.url(u, db)
}

func (c *Cluster) url(user *url.Userinfo, db string) string {
	mode := "disable"
	if c.Opts.SSL {
		mode = "require"
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     user,
		Host:     fmt.Sprintf("%s:%d", c.Host, c.Port),
		Path:     "/" + db,
		RawQuery: "sslmode=" + mode,
	}
	return u.String()
}

// Exec runs sql (one or more statements, simple protocol) as the superuser
// in db and fails the test on error.
func (c *Cluster) Exec(t testing.TB, db, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL(db))
	if err != nil {
		t.Fatalf("pgtest: connect to %s on port %d: %v", db, c.Port, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: exec in %s: %v\nSQL: %s", db, err, sql)
	}
}

// Connect opens a superuser connection to db, closed on cleanup.
func (c *Cluster) Connect(t testing.TB, db string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL(db))
	if err != nil {
		t.Fatalf("pgtest: connect to %s on port %d: %v", db, c.Port, err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// CreateDatabase creates database name.
func (c *Cluster) CreateDatabase(t testing.TB, name string) {
	t.Helper()
	c.Exec(t, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
}

// Restart stops (fast) and starts the server on the same port, e.g. to
// apply settings changed with ALTER SYSTEM.
func (c *Cluster) Restart(t testing.TB) {
	t.Helper()
	c.Stop(t)
	c.StartAgain(t)
}

// Stop shuts the server down (fast) and keeps its data and port.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := c.stop(ctx, "fast"); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// StartAgain starts a stopped server on its original port.
func (c *Cluster) StartAgain(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := c.start(ctx); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// Reload makes the server re-read its configuration files (SIGHUP).
func (c *Cluster) Reload(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if _, err := c.own.run(ctx, c.Dir, c.BinDir+"/pg_ctl", "reload", "-D", c.DataDir); err != nil {
		t.Fatalf("pgtest: reload: %v", err)
	}
}

// StartStandby clones c with pg_basebackup into a streaming hot standby on
// its own port, with c's options. It returns once the standby accepts
// connections and reports pg_is_in_recovery(). Cleanup stops it before c.
func (c *Cluster) StartStandby(t testing.TB) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	s := newCluster(t, c.inst, c.own, c.Opts)
	if err := basebackup(ctx, c.inst, c.own, c.Port, s.Dir); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s.Port = port
	// The copy carries the primary's port and socket directory; point them
	// at the standby's own.
	if err := writeConfig(s.own, s.DataDir, port, s.Opts); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	if err := s.start(ctx); err != nil {
		t.Fatalf("pgtest: standby: %v", err)
	}
	var lastErr error
	ok := assert.Eventually(t, func() bool {
		var inRecovery bool
		inRecovery, lastErr = s.inRecovery(ctx)
		return lastErr == nil && inRecovery
	}, opTimeout, 50*time.Millisecond)
	if !ok {
		t.Fatalf("pgtest: standby on port %d not in recovery (last error: %v)\nserver log tail:\n%s", port, lastErr, LogTail(s.Dir, 30))
	}
	return s
}

func (c *Cluster) inRecovery(ctx context.Context) (bool, error) {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return false, err
	}
	defer conn.Close(context.Background())
	var r bool
	err = conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&r)
	return r, err
}

// Psql runs psql against db as the superuser with extra args (e.g. "-v",
// "ON_ERROR_STOP=1", "-f", file) and returns its combined output; it does
// not fail the test, so a test can assert on a script's failure.
func (c *Cluster) Psql(ctx context.Context, db string, args ...string) (string, error) {
	all := append([]string{"-X", "-q", "-d", c.URL(db)}, args...)
	cmd := exec.CommandContext(ctx, psqlBin(c.inst), all...)
	cmd.Env = cleanEnv(os.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("psql in %s on port %d: %w", db, c.Port, err)
	}
	return string(out), nil
}

// LogTail returns the last n lines of the server log.
func (c *Cluster) LogTail(n int) string { return LogTail(c.Dir, n) }

// String names the cluster for test logs without credentials.
func (c *Cluster) String() string {
	return fmt.Sprintf("pgtest cluster 127.0.0.1:%d (%s)", c.Port, strings.TrimPrefix(c.Dir, os.TempDir()+"/"))
}
