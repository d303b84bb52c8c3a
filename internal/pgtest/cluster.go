package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// opTimeout bounds every operation of the testing.TB wrappers so a wedged
// server fails the test instead of hanging the test binary.
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
	closed  bool
}

// StartCluster initialises and starts a cluster on a free loopback port,
// retrying on another port when the one it picked was taken meanwhile. The
// caller stops and removes it with Close; when StartCluster fails it leaves
// nothing behind. A missing installation is an error wrapping
// ErrPrerequisite.
func StartCluster(ctx context.Context, opts Options) (*Cluster, error) {
	inst, own, err := installAndOwner()
	if err != nil {
		return nil, err
	}
	c, err := newCluster(inst, own, opts)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		port, err := FreePort()
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		c.Port = port
		if err := initCluster(ctx, inst, own, c.Dir, port, opts); err != nil {
			_ = c.Close()
			return nil, err
		}
		err = c.start(ctx)
		if err == nil {
			return c, nil
		}
		if attempt >= 3 || !bindFailure(c.Dir) {
			_ = c.Close()
			return nil, err
		}
	}
}

// newCluster makes the cluster directory, owned by the server's OS user and
// marked with our pid for the sweep, before anything can start.
func newCluster(inst Install, own owner, opts Options) (*Cluster, error) {
	sweepStale(inst, own)
	base, err := baseDir(own)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(base, dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("pgtest: create cluster directory: %w", err)
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
	if err := writeOwner(dir); err != nil {
		_ = c.Close()
		return nil, err
	}
	if err := own.chown(dir); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// Close stops the server (immediate: the data is thrown away, so skip the
// checkpoint) and removes its directory. Closing twice is a no-op.
func (c *Cluster) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var err error
	if c.running {
		err = stopServer(ctx, c.inst, c.own, c.Dir, "immediate")
		c.running = false
	}
	if rerr := os.RemoveAll(c.Dir); rerr != nil && err == nil {
		err = fmt.Errorf("pgtest: remove %s: %w", c.Dir, rerr)
	}
	return err
}

func (c *Cluster) start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Mark running before the attempt: pg_ctl may time out while the
	// postmaster lives on, and Close must still stop it.
	c.running = true
	return startServer(ctx, c.inst, c.own, c.Dir)
}

// StopContext shuts the server down (fast) and keeps its data and port.
func (c *Cluster) StopContext(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := stopServer(ctx, c.inst, c.own, c.Dir, "fast"); err != nil {
		return err
	}
	c.running = false
	return nil
}

// StartAgainContext starts a stopped server on its original port.
func (c *Cluster) StartAgainContext(ctx context.Context) error { return c.start(ctx) }

// RestartContext stops (fast) and starts the server on the same port, e.g.
// to apply settings changed with ALTER SYSTEM.
func (c *Cluster) RestartContext(ctx context.Context) error {
	if err := c.StopContext(ctx); err != nil {
		return err
	}
	return c.start(ctx)
}

// ReloadContext makes the server re-read its configuration files (SIGHUP).
func (c *Cluster) ReloadContext(ctx context.Context) error {
	if _, err := c.own.run(ctx, c.Dir, c.BinDir+"/pg_ctl", "reload", "-D", c.DataDir); err != nil {
		return fmt.Errorf("pgtest: reload: %w", err)
	}
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

// ExecContext runs sql (one or more statements, simple protocol) as the
// superuser in db.
func (c *Cluster) ExecContext(ctx context.Context, db, sql string) error {
	conn, err := c.ConnectContext(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("pgtest: exec in %s on port %d: %w\nSQL: %s", db, c.Port, err, sql)
	}
	return nil
}

// QueryRowContext runs a query returning one row as the superuser in db
// and scans it into dest.
func (c *Cluster) QueryRowContext(ctx context.Context, db, sql string, dest ...any) error {
	conn, err := c.ConnectContext(ctx, db)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.QueryRow(ctx, sql).Scan(dest...); err != nil {
		return fmt.Errorf("pgtest: query in %s on port %d: %w\nSQL: %s", db, c.Port, err, sql)
	}
	return nil
}

// ConnectContext opens a superuser connection to db; the caller closes it.
func (c *Cluster) ConnectContext(ctx context.Context, db string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, c.URL(db))
	if err != nil {
		return nil, fmt.Errorf("pgtest: connect to %s on port %d: %w", db, c.Port, err)
	}
	return conn, nil
}

// CreateDatabaseContext creates database name.
func (c *Cluster) CreateDatabaseContext(ctx context.Context, name string) error {
	return c.ExecContext(ctx, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
}

// StartStandbyContext clones c with pg_basebackup into a streaming hot
// standby on its own port, with c's options. It returns once the standby
// accepts connections and reports pg_is_in_recovery(). The caller closes
// it before c.
func (c *Cluster) StartStandbyContext(ctx context.Context) (*Cluster, error) {
	s, err := newCluster(c.inst, c.own, c.Opts)
	if err != nil {
		return nil, err
	}
	if err := s.startStandby(ctx, c.Port); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Cluster) startStandby(ctx context.Context, primaryPort int) error {
	if err := basebackup(ctx, s.inst, s.own, primaryPort, s.Dir); err != nil {
		return err
	}
	port, err := FreePort()
	if err != nil {
		return err
	}
	s.Port = port
	// The copy carries the primary's port and socket directory; point them
	// at the standby's own.
	if err := writeConfig(s.own, s.DataDir, port, s.Opts); err != nil {
		return err
	}
	if err := s.start(ctx); err != nil {
		return fmt.Errorf("standby: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	var lastErr error
	for {
		var inRecovery bool
		if inRecovery, lastErr = s.inRecovery(ctx); lastErr == nil && inRecovery {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgtest: standby on port %d not in recovery (last error: %v): %w\nserver log tail:\n%s",
				port, lastErr, ctx.Err(), LogTail(s.Dir, 30))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Cluster) inRecovery(ctx context.Context) (bool, error) {
	conn, err := c.ConnectContext(ctx, "postgres")
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var r bool
	err = conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&r)
	return r, err
}

// Psql runs psql against db as the superuser with extra args (e.g. "-v",
// "ON_ERROR_STOP=1", "-f", file) and returns its combined output; it does
// not fail the test, so a test can assert on a script's failure.
func (c *Cluster) Psql(ctx context.Context, db string, args ...string) (string, error) {
	return Psql(ctx, c.URL(db), args...)
}

// LogTail returns the last n lines of the server log.
func (c *Cluster) LogTail(n int) string { return LogTail(c.Dir, n) }

// String names the cluster for test logs without credentials.
func (c *Cluster) String() string {
	return fmt.Sprintf("pgtest cluster 127.0.0.1:%d (%s)", c.Port, filepath.Base(c.Dir))
}
