package preflight_test

import (
	"context"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/preflight"
)

// Slot creation waits for transactions holding an xid: the probe must give
// up within its timeout and say unverified, not fail, and leave no slot.
func TestWal2JSONProbeTimeout(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	c.Exec(t, "postgres", `CREATE TABLE busy (x int)`)
	holder := c.Connect(t, "postgres")
	ctx := context.Background()
	tx, err := holder.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `INSERT INTO busy VALUES (1)`)
	require.NoError(t, err)

	start := time.Now()
	rep := run(t, preflight.Options{SourceURL: c.URL("postgres"), ProbeTimeout: time.Second})
	ch := requireStatus(t, rep, preflight.CheckWal2JSON, preflight.StatusUnverified)
	assert.Contains(t, ch.Message, "timed out")
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.False(t, rep.Passed)
	require.NoError(t, tx.Rollback(ctx))

	conn := c.Connect(t, "postgres")
	require.Eventually(t, func() bool {
		var n int
		return conn.QueryRow(ctx, `SELECT count(*) FROM pg_replication_slots`).Scan(&n) == nil && n == 0
	}, 10*time.Second, 50*time.Millisecond, "the probe's temporary slot is gone")
}

// An accepted unverified check no longer blocks; a warning never does.
func TestAcceptUnverified(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{SSL: true})
	c.Exec(t, "postgres", `CREATE TABLE busy (x int PRIMARY KEY)`)
	holder := c.Connect(t, "postgres")
	ctx := context.Background()
	tx, err := holder.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	_, err = tx.Exec(ctx, `INSERT INTO busy VALUES (1)`)
	require.NoError(t, err)
	opts := preflight.Options{SourceURL: c.URL("postgres"), ProbeTimeout: time.Second}
	assert.False(t, run(t, opts).Passed)
	opts.AcceptUnverified = []string{preflight.CheckWal2JSON}
	rep := run(t, opts)
	requireStatus(t, rep, preflight.CheckWal2JSON, preflight.StatusUnverified)
	requireStatus(t, rep, preflight.CheckWalRetention, preflight.StatusWarn)
	assert.True(t, rep.Passed)
}

// A certificate signed by an unknown CA is a TLS failure with its remedy.
func TestTLSCertificateRejected(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{SSL: true})
	other := pgtest.Start(t, pgtest.Options{SSL: true})
	u, err := url.Parse(c.URL("postgres"))
	require.NoError(t, err)
	q := u.Query()
	q.Del("sslmode") // sslrootcert makes the default verify-full
	q.Set("sslrootcert", filepath.Join(other.DataDir, "server.crt"))
	u.RawQuery = q.Encode()
	rep := run(t, preflight.Options{SourceURL: u.String()})
	ch := requireStatus(t, rep, preflight.CheckConnect, preflight.StatusFail)
	assert.Contains(t, ch.Message, "TLS")
	assert.Contains(t, ch.Remedy, "sslrootcert")
}
