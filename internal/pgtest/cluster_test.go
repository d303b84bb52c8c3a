package pgtest_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
)

// One cluster carries every integration check so the package stays fast.
func TestCluster(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t, pgtest.Options{SSL: true, PasswordAuth: true, MaxReplicationSlots: 4})
	ctx := context.Background()

	t.Run("settings", func(t *testing.T) {
		conn := c.Connect(t, "postgres")
		for setting, want := range map[string]string{
			"wal_level":             "logical",
			"max_replication_slots": "4",
			"max_wal_senders":       "10",
			"ssl":                   "on",
			"listen_addresses":      "127.0.0.1",
		} {
			var got string
			require.NoError(t, conn.QueryRow(ctx, "SHOW "+setting).Scan(&got))
			require.Equal(t, want, got, setting)
		}
		require.Contains(t, c.URL("postgres"), "sslmode=require")
	})

	t.Run("wal2json", func(t *testing.T) {
		c.Exec(t, "postgres", "SELECT pg_create_logical_replication_slot('probe', 'wal2json', true)")
	})

	c.CreateDatabase(t, "app")
	c.Exec(t, "app", `CREATE ROLE ardent LOGIN PASSWORD 's3cret'; CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)`)

	t.Run("password role over SSL", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, c.URLFor("ardent", "s3cret", "app"))
		require.NoError(t, err)
		defer conn.Close(ctx)
		var ssl bool
		require.NoError(t, conn.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl))
		require.True(t, ssl)
	})

	t.Run("wrong password refused", func(t *testing.T) {
		_, err := pgx.Connect(ctx, c.URLFor("ardent", "wrong", "app"))
		require.ErrorContains(t, err, "password authentication failed")
	})

	t.Run("non-SSL refused for ordinary roles", func(t *testing.T) {
		url := strings.Replace(c.URLFor("ardent", "s3cret", "app"), "sslmode=require", "sslmode=disable", 1)
		_, err := pgx.Connect(ctx, url)
		require.ErrorContains(t, err, "no pg_hba.conf entry")
	})

	t.Run("standby", func(t *testing.T) {
		s := c.StartStandby(t)
		require.NotEqual(t, c.Port, s.Port)
		conn := s.Connect(t, "app")
		var inRecovery bool
		require.NoError(t, conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery))
		require.True(t, inRecovery)
		c.Exec(t, "app", "INSERT INTO t VALUES (2)")
		require.Eventually(t, func() bool {
			var n int
			return conn.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n) == nil && n == 2
		}, 30*time.Second, 50*time.Millisecond)
	})

	t.Run("restart keeps port and data", func(t *testing.T) {
		port := c.Port
		c.Exec(t, "postgres", "ALTER SYSTEM SET max_replication_slots = 6")
		c.Restart(t)
		require.Equal(t, port, c.Port)
		conn := c.Connect(t, "app")
		var got string
		require.NoError(t, conn.QueryRow(ctx, "SHOW max_replication_slots").Scan(&got))
		require.Equal(t, "6", got)
		var n int
		require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n))
		require.Equal(t, 2, n)
	})
}

func TestReplicaNoSSL(t *testing.T) {
	t.Parallel()
	c := pgtest.Start(t, pgtest.Options{WalLevel: "replica", ExtraConf: []string{"max_slot_wal_keep_size = 64MB"}})
	require.Contains(t, c.URL("postgres"), "sslmode=disable")
	conn := c.Connect(t, "postgres")
	ctx := context.Background()
	for setting, want := range map[string]string{"wal_level": "replica", "ssl": "off", "max_slot_wal_keep_size": "64MB"} {
		var got string
		require.NoError(t, conn.QueryRow(ctx, "SHOW "+setting).Scan(&got))
		require.Equal(t, want, got, setting)
	}
	out, err := c.Psql(ctx, "postgres", "-v", "ON_ERROR_STOP=1", "-At", "-c", "SELECT 40 + 2")
	require.NoError(t, err)
	require.Equal(t, "42", strings.TrimSpace(out))
	_, err = c.Psql(ctx, "postgres", "-v", "ON_ERROR_STOP=1", "-c", "SELECT nope")
	require.Error(t, err)
}

// The core needs no testing.TB: Close stops the server and removes its
// directory, and a second Close is a no-op.
func TestStartClusterClose(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("pgtest: integration test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgtest.StartCluster(ctx, pgtest.Options{})
	if errors.Is(err, pgtest.ErrPrerequisite) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	require.NoError(t, err)
	var one int
	require.NoError(t, c.QueryRowContext(ctx, "postgres", "SELECT 1", &one))
	require.NoError(t, c.Close())
	_, err = os.Stat(c.Dir)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, c.Close())
	require.Error(t, c.ExecContext(ctx, "postgres", "SELECT 1"), "the server is stopped")
}
