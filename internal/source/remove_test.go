package source

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
)

// TestRemoveConnector: a slot still held by a walsender (a worker that has
// not noticed, or one whose workflow was terminated) and the bookkeeping
// schema are removed and reported; a second removal finds nothing and says
// so.
func TestRemoveConnector(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	c.CreateDatabase(t, "src")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn := c.Connect(t, "src")
	require.NoError(t, CreateBookkeeping(ctx, conn))
	const slot = "ardent_gone"

	cfg, err := pgconn.ParseConfig(c.URL("src"))
	require.NoError(t, err)
	holder, err := pgconn.ConnectConfig(ctx, ReplicationConfig(cfg, ""))
	require.NoError(t, err)
	t.Cleanup(func() { _ = holder.Close(context.Background()) })
	res, err := pglogrepl.CreateReplicationSlot(ctx, holder, slot, "wal2json", pglogrepl.CreateReplicationSlotOptions{})
	require.NoError(t, err)
	start, err := pglogrepl.ParseLSN(res.ConsistentPoint)
	require.NoError(t, err)
	require.NoError(t, pglogrepl.StartReplication(ctx, holder, slot, start,
		pglogrepl.StartReplicationOptions{PluginArgs: []string{`"format-version" '2'`}}))
	require.Eventually(t, func() bool {
		st, err := SlotInfo(ctx, conn, slot)
		return err == nil && st.Active
	}, 10*time.Second, 10*time.Millisecond, "the slot never became active")

	got, err := RemoveConnector(ctx, conn, slot)
	require.NoError(t, err)
	assert.Equal(t, Removed{Slot: true, Bookkeeping: true}, got)
	assert.Equal(t, 0, count(t, conn, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", slot))
	assert.Equal(t, 0, count(t, conn, "SELECT count(*) FROM pg_namespace WHERE nspname = '_ardent'"))

	got, err = RemoveConnector(ctx, conn, slot)
	require.NoError(t, err)
	assert.Equal(t, Removed{}, got, "nothing left the second time")
}

func count(t *testing.T, conn *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, conn.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}
