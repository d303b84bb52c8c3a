package snapshot

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/rowsum"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink/postgres"
	"github.com/ardent-cdc/ardent/internal/source"
)

// env is a source database and a destination database. They share one
// cluster to keep tests fast; nothing in the copy depends on that.
type env struct {
	c              *pgtest.Cluster
	srcURL, dstURL string
	srcCfg         *pgx.ConnConfig // the source, parsed once as the activity does
	sink           *postgres.Sink
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := pgtest.Start(t, pgtest.Options{})
	c.CreateDatabase(t, "src")
	c.CreateDatabase(t, "dst")
	ctx := testCtx(t)
	s, err := postgres.Open(ctx, c.URL("dst"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	srcCfg, err := pgx.ParseConfig(c.URL("src"))
	require.NoError(t, err)
	return &env{c: c, srcURL: c.URL("src"), dstURL: c.URL("dst"), srcCfg: srcCfg, sink: s}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// discover runs the real schema discovery and prepares the destination.
func (e *env) discover(t *testing.T, schemas ...string) []schema.Table {
	t.Helper()
	ctx := testCtx(t)
	conn := e.c.Connect(t, "src")
	tables, err := schema.Discover(ctx, conn, schema.Selection{Schemas: schemas})
	require.NoError(t, err)
	require.NoError(t, e.sink.Prepare(ctx, "test", tables))
	return tables
}

// replConn opens a logical replication connection to the source.
func (e *env) replConn(t *testing.T) *pgconn.PgConn {
	t.Helper()
	conn, err := pgconn.ConnectConfig(testCtx(t), source.ReplicationConfig(&e.srcCfg.Config, ""))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

type sum struct {
	Rows int64
	MD5  string
}

// checksum is the table's whole-row digest (see internal/rowsum), split
// into its row count and md5.
func checksum(t *testing.T, ctx context.Context, conn *pgx.Conn, ident string) sum {
	t.Helper()
	digest, err := rowsum.Of(ctx, conn, ident)
	require.NoError(t, err)
	n, md5, ok := strings.Cut(digest, ":")
	require.True(t, ok, "digest %q", digest)
	rows, err := strconv.ParseInt(n, 10, 64)
	require.NoError(t, err, "digest %q", digest)
	return sum{Rows: rows, MD5: md5}
}

// snapshotConn imports the snapshot into a transaction of its own, so the
// test can read the source exactly as the copy did.
func snapshotConn(t *testing.T, ctx context.Context, e *env, snapshotName string) *pgx.Conn {
	t.Helper()
	conn := e.c.Connect(t, "src")
	_, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "SET TRANSACTION SNAPSHOT "+schema.QuoteLiteral(snapshotName))
	require.NoError(t, err)
	return conn
}

func slotCount(t *testing.T, ctx context.Context, conn *pgx.Conn, slot string) int {
	t.Helper()
	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", slot).Scan(&n))
	return n
}

// mustConfig parses a test cluster's URL, as the activity boundary does.
func mustConfig(t testing.TB, url string) *pgx.ConnConfig {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	return cfg
}
