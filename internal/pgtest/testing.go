package pgtest

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// The testing.TB wrappers: each runs its error-returning core under
// opTimeout and fails the test on error. Call them from the test's own
// goroutine (never inside require.Eventually's condition or a goroutine the
// test started): t.Fatal elsewhere does not stop the test.

// Start initialises and starts a cluster on a free loopback port; t.Cleanup
// stops and removes it. A missing prerequisite skips the test, or fails it
// when CI=true; -short skips it.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	prerequisites(t)
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	c, err := StartCluster(ctx, opts)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func prerequisites(t testing.TB) (Install, owner) {
	t.Helper()
	if testing.Short() {
		t.Skip("pgtest: integration test skipped in -short mode")
	}
	inst, own, err := installAndOwner()
	if err != nil {
		if errors.Is(err, ErrPrerequisite) && os.Getenv("CI") != "true" {
			t.Skipf("pgtest: %v", err)
		}
		t.Fatalf("pgtest: %v", err)
	}
	return inst, own
}

// Exec runs sql (one or more statements, simple protocol) as the superuser
// in db and fails the test on error.
func (c *Cluster) Exec(t testing.TB, db, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := c.ExecContext(ctx, db, sql); err != nil {
		t.Fatal(err)
	}
}

// Connect opens a superuser connection to db, closed on cleanup.
func (c *Cluster) Connect(t testing.TB, db string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	conn, err := c.ConnectContext(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// CreateDatabase creates database name.
func (c *Cluster) CreateDatabase(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := c.CreateDatabaseContext(ctx, name); err != nil {
		t.Fatal(err)
	}
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
	if err := c.StopContext(ctx); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// StartAgain starts a stopped server on its original port.
func (c *Cluster) StartAgain(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := c.StartAgainContext(ctx); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// Reload makes the server re-read its configuration files (SIGHUP).
func (c *Cluster) Reload(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	if err := c.ReloadContext(ctx); err != nil {
		t.Fatal(err)
	}
}

// StartStandby clones c with pg_basebackup into a streaming hot standby on
// its own port, with c's options. It returns once the standby accepts
// connections and reports pg_is_in_recovery(). Cleanup stops it before c.
func (c *Cluster) StartStandby(t testing.TB) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	s, err := c.StartStandbyContext(ctx)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
