package preflight_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/preflight"
)

// TestWalBudget: with max_slot_wal_keep_size = 1MB and about 100 MB to
// copy, wal_budget fails while a writer is busy and passes once it stops,
// on the same source with the same data.
func TestWalBudget(t *testing.T) {
	// autovacuum off: the quiet source must be quiet, not vacuuming the
	// table just loaded.
	c := pgtest.Start(t, pgtest.Options{PasswordAuth: true, ExtraConf: []string{"max_slot_wal_keep_size = 1MB", "autovacuum = off"}})
	c.Exec(t, "postgres", `
CREATE SCHEMA app;
CREATE TABLE app.big (id bigint PRIMARY KEY, payload text);
INSERT INTO app.big SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 800000) g;
CREATE TABLE public.churn (id bigserial PRIMARY KEY, payload text);
CREATE ROLE ardent LOGIN REPLICATION PASSWORD 'Pa55-w0rd''with"quotes';
GRANT CONNECT, CREATE ON DATABASE postgres TO ardent;
GRANT USAGE ON SCHEMA app TO ardent;
GRANT SELECT ON ALL TABLES IN SCHEMA app TO ardent;`)
	c.Exec(t, "postgres", `VACUUM (FREEZE, ANALYZE)`)
	// app.fresh is never analyzed: its size comes from disk, not pg_class.
	c.Exec(t, "postgres", `CREATE TABLE app.fresh (id int PRIMARY KEY, payload text);
INSERT INTO app.fresh SELECT g, repeat(md5(g::text), 20) FROM generate_series(1, 20000) g;
GRANT SELECT ON app.fresh TO ardent`)
	c.Exec(t, "postgres", `CHECKPOINT`)
	conn := c.Connect(t, "postgres")
	ctx := context.Background()
	var size int64
	require.NoError(t, conn.QueryRow(ctx, `SELECT sum(pg_relation_size(oid) + COALESCE(pg_relation_size(NULLIF(reltoastrelid, 0)), 0))::bigint
FROM pg_class WHERE relnamespace = 'app'::regnamespace AND relkind = 'r'`).Scan(&size))
	toCopy := fmt.Sprintf("%.0f MB to copy at", float64(size)/(1<<20))
	walNow := func() int64 {
		var lsn int64
		require.NoError(t, conn.QueryRow(ctx, `SELECT (pg_current_wal_insert_lsn() - '0/0')::bigint`).Scan(&lsn))
		return lsn
	}
	superuser := preflight.Options{SourceURL: c.URL("postgres"), Selection: selection("app")}

	t.Run("quiet source passes", func(t *testing.T) {
		before := walNow()
		start := time.Now()
		rep := run(t, superuser)
		took := time.Since(start)
		ch := requireStatus(t, rep, preflight.CheckWalBudget, preflight.StatusPass)
		assert.Contains(t, ch.Message, "max_slot_wal_keep_size is 1 MB: well within it")
		// Seconds after a checkpoint its window is too short: sampled.
		assert.Contains(t, ch.Message, "s sample")
		assert.Contains(t, ch.Message, "measured on app.big")
		assert.Contains(t, ch.Message, toCopy)
		assert.Contains(t, ch.Message, "pg_wal holds")
		assert.Contains(t, ch.Message, "free disk space is not readable over SQL and was not compared")
		// Fast and non-destructive: one sample interval, next to no WAL of
		// its own (the wal2json probe's temporary slot), no slot left.
		assert.Less(t, took, preflight.DefaultWALSampleInterval+2*time.Second)
		assert.Less(t, walNow()-before, int64(64<<10), "preflight writes next to no WAL")
		var slots int
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_replication_slots`).Scan(&slots))
		assert.Zero(t, slots)
	})

	t.Run("quiet source passes for a role without pg_monitor", func(t *testing.T) {
		rep := run(t, preflight.Options{SourceURL: c.URLFor("ardent", password, "postgres"), Selection: selection("app")})
		ch := requireStatus(t, rep, preflight.CheckWalBudget, preflight.StatusPass)
		assert.Contains(t, ch.Message, "the size of pg_wal was not read (pg_ls_waldir() needs pg_monitor or superuser)")
		assert.Contains(t, ch.Message, "measured on app.big")
	})

	t.Run("a snapshot rate limit makes the copy longer", func(t *testing.T) {
		opts := superuser
		opts.CopyRateLimit = 1 << 20
		ch := requireStatus(t, run(t, opts), preflight.CheckWalBudget, preflight.StatusPass)
		assert.Contains(t, ch.Message, "capped at 1 MB/s, the snapshot's rate limit")
		assert.Contains(t, ch.Message, toCopy[:len(toCopy)-len(" at")]+" at ~1 MB/s")
	})

	t.Run("busy writer fails", func(t *testing.T) {
		batches := busyWriter(t, c)
		require.Eventually(t, func() bool { return batches.Load() >= 3 }, 30*time.Second, 10*time.Millisecond, "the writer is running")
		rep := run(t, superuser)
		ch := requireStatus(t, rep, preflight.CheckWalBudget, preflight.StatusFail)
		t.Log(ch.Message)
		assert.Contains(t, ch.Message, "this snapshot will retain about")
		assert.Contains(t, ch.Message, "max_slot_wal_keep_size is 1 MB: the slot would be invalidated mid-snapshot and the snapshot lost")
		assert.Contains(t, ch.Remedy, "ALTER SYSTEM SET max_slot_wal_keep_size = '")
		assert.Contains(t, ch.Remedy, "or onboard at a quieter hour")
		assert.False(t, rep.Passed)
		assert.Greater(t, batches.Load(), int64(3), "the writer kept writing during the check")
	})

	// The writer of the minutes before preflight counts, though the source
	// is quiet while it runs: the window since the last checkpoint holds
	// its WAL, where a sample taken now would see none.
	t.Run("a busy past fails on the window since the last checkpoint", func(t *testing.T) {
		defer preflight.SetMinCheckpointWindow(2 * time.Second)()
		c.Exec(t, "postgres", `CHECKPOINT`)
		checkpointed := time.Now()
		t.Run("writer", func(t *testing.T) {
			batches := busyWriter(t, c)
			require.Eventually(t, func() bool { return batches.Load() >= 3 && time.Since(checkpointed) > 3*time.Second },
				30*time.Second, 10*time.Millisecond, "the writer is running")
		}) // the writer stops with its subtest
		rep := run(t, superuser)
		ch := requireStatus(t, rep, preflight.CheckWalBudget, preflight.StatusFail)
		t.Log(ch.Message)
		assert.Contains(t, ch.Message, "since the last checkpoint")
		assert.Contains(t, ch.Message, "max_slot_wal_keep_size is 1 MB: the slot would be invalidated mid-snapshot and the snapshot lost")
	})
}

// busyWriter inserts batches of rows into public.churn until the test
// ends; it returns the number of batches committed so far.
func busyWriter(t *testing.T, c *pgtest.Cluster) *atomic.Int64 {
	t.Helper()
	conn := c.Connect(t, "postgres")
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			_, err := conn.Exec(ctx, `INSERT INTO public.churn (payload) SELECT repeat(md5(random()::text), 10) FROM generate_series(1, 2000)`)
			if err != nil {
				if !errors.Is(ctx.Err(), context.Canceled) {
					t.Errorf("busy writer: %v", err)
				}
				return
			}
			n.Add(1)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return &n
}

// When the role may not read the WAL position, wal_budget cannot measure:
// unverified with the grant that fixes it, never a failure.
func TestWalBudgetUnverifiedWithoutPermission(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{PasswordAuth: true})
	c.Exec(t, "postgres", `
CREATE TABLE orders (id bigint PRIMARY KEY);
CREATE ROLE ardent LOGIN REPLICATION PASSWORD 'Pa55-w0rd''with"quotes';
GRANT SELECT ON orders TO ardent;
REVOKE EXECUTE ON FUNCTION pg_current_wal_insert_lsn() FROM PUBLIC;`)
	rep := run(t, preflight.Options{SourceURL: c.URLFor("ardent", password, "postgres"), WALSampleInterval: 200 * time.Millisecond})
	ch := requireStatus(t, rep, preflight.CheckWalBudget, preflight.StatusUnverified)
	assert.Contains(t, ch.Message, "cannot read the WAL position")
	assert.Contains(t, ch.Message, "permission denied")
	assert.Contains(t, ch.Remedy, `GRANT EXECUTE ON FUNCTION pg_current_wal_insert_lsn() TO "ardent";`)
	assert.Contains(t, ch.Remedy, "--accept-unverified wal_budget")
}
