package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestCredentialsSetUnderLoad is the rotation an operator does with real
// parts, under a steady write load: the ardent role's password changes on
// the source; `ardent credentials set` refuses a wrong password (exit 1,
// nothing changed, the stream goes on) and takes the right one; the stream
// moves to a new walsender session within seconds, survives its walsender
// being terminated (it logs in again with the new password), never
// snapshots again (no truncate: the destination table keeps its file and
// its row count only grows), and once the load stops the destination
// equals the source (`ardent verify` exits 0). No password is printed.
func TestCredentialsSetUnderLoad(t *testing.T) {
	s := newStack(t)
	s.src.Exec(t, "app", seedSQL)
	pw := randomPassword(t)
	source := s.src.URLFor("ardent", pw, "app")
	dest := s.dst.URL("destination")
	s.applySQL(pw)
	s.startWorker()
	out, code := s.ardent("onboard", "--name", "shop", "--source", source, "--destination", dest, "--schema", "shop", "--wait")
	require.Equal(t, 0, code, out)
	st := s.waitStage("shop", "streaming", 4*time.Minute)
	require.NotNil(t, st.Snapshot)
	snapshotRows := st.Snapshot.Rows

	ctx := context.Background()
	srcConn := s.src.Connect(t, "app")
	dstConn := s.dst.Connect(t, "destination")
	walsender := func() int {
		var pid int
		if err := srcConn.QueryRow(ctx, `SELECT coalesce(max(pid), 0) FROM pg_stat_replication WHERE application_name = 'ardent-shop'`).Scan(&pid); err != nil {
			return 0
		}
		return pid
	}
	destFile := func() string {
		var f string
		require.NoError(t, dstConn.QueryRow(ctx, `SELECT pg_relation_filenode('shop.orders')::text`).Scan(&f))
		return f
	}
	fileBefore := destFile()

	// The load: one source transaction every 5 ms (an insert and an
	// update), and a watcher of the destination's row count, which only
	// grows unless the table is truncated for a new snapshot.
	load := newLoad(t, s.src.URL("app"), dest)
	defer load.stop()
	require.Eventually(t, func() bool { return load.applied() > 100 }, time.Minute, 200*time.Millisecond,
		"the load does not reach the destination: %s", s.workerOutput())
	pid1 := walsender()
	require.NotZero(t, pid1)

	// The operator rotates the role's password on the source. Sessions
	// already open stay open (PostgreSQL checks passwords at login only).
	newPW := randomPassword(t)
	s.src.Exec(t, "postgres", "ALTER ROLE ardent PASSWORD '"+newPW+"'")
	dir := t.TempDir()
	writeFile := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content+"\n"), 0o600))
		return p
	}

	// A wrong password: refused with the reason, nothing stored, the
	// stream goes on with its session.
	wrongPW := randomPassword(t)
	out, code = s.ardent("credentials", "set", "shop", "--source-password-file", writeFile("wrong.pw", wrongPW))
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "password authentication failed for ardent@")
	require.NotContains(t, out, wrongPW)
	applied := load.applied()
	require.Eventually(t, func() bool { return load.applied() > applied+100 }, 30*time.Second, 200*time.Millisecond,
		"the stream stopped after a refused credentials set: %s", s.workerOutput())
	require.Equal(t, pid1, walsender(), "a refused credentials set started a new session")

	// The right one: checked, stored, taken by a new session within
	// seconds.
	out, code = s.ardent("credentials", "set", "shop", "--source-password-file", writeFile("new.pw", newPW))
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "password accepted, same database")
	setAt := time.Now()
	require.Eventually(t, func() bool {
		pid := walsender()
		return pid != 0 && pid != pid1 && strings.Contains(s.WorkerOutput(1000), "credentials changed: new stream session")
	}, 30*time.Second, 200*time.Millisecond, "the stream did not start a new session: %s", s.workerOutput())
	t.Logf("new session %s after credentials set", time.Since(setAt).Round(100*time.Millisecond))
	pid2 := walsender()

	// The new session logs in with the new password: its walsender
	// terminated, it reconnects (the old password would now be refused)
	// and applies on.
	_, err := srcConn.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid2)
	require.NoError(t, err)
	require.Eventually(t, func() bool { pid := walsender(); return pid != 0 && pid != pid2 }, time.Minute, 200*time.Millisecond,
		"the stream did not reconnect: %s", s.workerOutput())
	applied = load.applied()
	require.Eventually(t, func() bool { return load.applied() > applied+100 }, time.Minute, 200*time.Millisecond,
		"the stream does not apply after reconnecting: %s", s.workerOutput())

	// The load stops; the destination catches up and equals the source.
	load.stop()
	for _, tbl := range []string{"shop.customers", "shop.orders"} {
		require.Eventually(t, func() bool { return sameRows(s.src.URL("app"), dest, tbl) },
			2*time.Minute, time.Second, "table %s did not catch up: %s", tbl, s.workerOutput())
	}
	out, code = s.ardent("verify", "shop")
	require.Equal(t, 0, code, out+s.workerOutput())

	// Never a new snapshot: the table kept its file, its count never went
	// down, the connector streams with the snapshot it had.
	require.Equal(t, fileBefore, destFile(), "the destination table was truncated")
	require.False(t, load.wentDown(), "the destination row count went down: a new snapshot")
	st = s.waitStage("shop", "streaming", 30*time.Second)
	require.NotNil(t, st.Snapshot)
	require.Equal(t, snapshotRows, st.Snapshot.Rows)
	require.Equal(t, 1, strings.Count(s.WorkerOutput(100000), "credentials changed: new stream session"))

	s.assertSecretAbsent(pw, "shop")
	s.assertSecretAbsent(newPW, "shop")
	s.assertSecretAbsent(wrongPW, "shop")
}

// load writes to the source on a goroutine and watches the destination's
// shop.orders count on another.
type load struct {
	t        *testing.T
	done     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	last     int64
	down     bool
	err      error
	stopOnce sync.Once
}

func newLoad(t *testing.T, srcURL, dstURL string) *load {
	l := &load{t: t, done: make(chan struct{})}
	ctx := context.Background()
	src, err := pgx.Connect(ctx, srcURL)
	require.NoError(t, err)
	dst, err := pgx.Connect(ctx, dstURL)
	require.NoError(t, err)
	l.wg.Add(2)
	go func() {
		defer l.wg.Done()
		defer src.Close(ctx)
		for i := 0; ; i++ {
			select {
			case <-l.done:
				return
			case <-time.After(5 * time.Millisecond):
			}
			_, err := src.Exec(ctx, `WITH o AS (INSERT INTO shop.orders (customer_id, amount, tags) VALUES (1 + $1::int % 500, 2.5, ARRAY['load']))
				UPDATE shop.customers SET email = 'load-' || $1::int WHERE id = 1 + $1::int % 500`, i)
			if err != nil {
				l.fail(err)
				return
			}
		}
	}()
	go func() {
		defer l.wg.Done()
		defer dst.Close(ctx)
		for {
			select {
			case <-l.done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			var n int64
			if err := dst.QueryRow(ctx, `SELECT count(*) FROM shop.orders WHERE tags = ARRAY['load']`).Scan(&n); err != nil {
				l.fail(err)
				return
			}
			l.mu.Lock()
			if n < l.last {
				l.down = true
			}
			l.last = n
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *load) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = err
	}
}

// applied is the load's rows the destination holds, as last seen; a
// failed writer or watcher fails the test.
func (l *load) applied() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	require.NoError(l.t, l.err, "the load failed")
	return l.last
}

func (l *load) wentDown() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.down
}

func (l *load) stop() {
	l.stopOnce.Do(func() { close(l.done); l.wg.Wait() })
	l.mu.Lock()
	defer l.mu.Unlock()
	require.NoError(l.t, l.err, "the load failed")
}
