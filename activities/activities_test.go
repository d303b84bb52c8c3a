package activities

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/internal/sink"
	pgsink "github.com/ardent-cdc/ardent/internal/sink/postgres"
)

// world is a source, a destination and a catalog on real clusters.
type world struct {
	src, dst *pgtest.Cluster
	cat      *catalog.Store
	kr       *secrets.Keyring
	sinks    map[string]SinkFactory
	srcURL   string
	dstURL   string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{src: pgtest.Start(t, pgtest.Options{}), dst: pgtest.Start(t, pgtest.Options{})}
	w.src.CreateDatabase(t, "app")
	w.dst.CreateDatabase(t, "ardent_catalog")
	w.dst.CreateDatabase(t, "destination")
	w.src.Exec(t, "app", `CREATE SCHEMA shop;
		CREATE TABLE shop.items (id bigint PRIMARY KEY, name text, price numeric(10,2));
		CREATE TABLE shop."Odd Name" (k int NOT NULL, v jsonb);
		CREATE UNIQUE INDEX odd_k ON shop."Odd Name" (k);
		ALTER TABLE shop."Odd Name" REPLICA IDENTITY USING INDEX odd_k;
		INSERT INTO shop.items SELECT g, 'item ' || g, g / 10.0 FROM generate_series(1, 3000) g;
		INSERT INTO shop."Odd Name" SELECT g, jsonb_build_object('g', g) FROM generate_series(1, 50) g;`)
	ctx := context.Background()
	cat, err := catalog.Open(ctx, w.dst.URL("ardent_catalog"), slog.Default())
	require.NoError(t, err)
	t.Cleanup(cat.Close)
	require.NoError(t, cat.Migrate(ctx))
	key, err := secrets.GenerateKey()
	require.NoError(t, err)
	w.kr, err = secrets.NewKeyring(key)
	require.NoError(t, err)
	w.cat = cat
	w.sinks = map[string]SinkFactory{SinkPostgres: func(ctx context.Context, dst *pgurl.Conn, log *slog.Logger) (sink.Sink, error) {
		return pgsink.New(ctx, dst.Config, log)
	}}
	w.srcURL, w.dstURL = w.src.URL("app"), w.dst.URL("destination")
	return w
}

func (w *world) env(t *testing.T, acts ...any) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	for _, a := range acts {
		env.RegisterActivity(a)
	}
	return env
}

func (w *world) count(t *testing.T, c *pgtest.Cluster, db, table string) int {
	var n int
	require.NoError(t, c.Connect(t, db).QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n))
	return n
}

func TestConnectorSnapshotStreamDrop(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	w := newWorld(t)
	conns := &Connectors{Catalog: w.cat, Keyring: w.kr, Sinks: w.sinks}
	snaps := &Snapshotter{Catalog: w.cat, Keyring: w.kr, Sinks: w.sinks, HeartbeatInterval: 50 * time.Millisecond}
	streams := &Streamer{Catalog: w.cat, Keyring: w.kr, Sinks: w.sinks, HeartbeatInterval: 200 * time.Millisecond, IdleEmitInterval: time.Second}
	in := CreateConnectorInput{Name: "acts", SourceURL: w.srcURL, DestinationURL: w.dstURL, Selection: Selection{Schemas: []string{"shop"}}}

	// CreateConnector is idempotent: twice gives the same connector.
	for range 2 {
		env := w.env(t, conns)
		v, err := env.ExecuteActivity(conns.CreateConnector, in)
		require.NoError(t, err)
		var res CreateConnectorResult
		require.NoError(t, v.Get(&res))
		require.Equal(t, 2, res.Tables)
		require.Equal(t, "ardent_acts", res.Slot)
	}

	// Snapshot heartbeats its progress and copies exactly.
	env := w.env(t, snaps)
	var beats []SnapshotProgress
	env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
		var p SnapshotProgress
		if details.HasValues() && details.Get(&p) == nil {
			beats = append(beats, p)
		}
	})
	v, err := env.ExecuteActivity(snaps.Snapshot, SnapshotInput{Name: "acts"})
	require.NoError(t, err)
	var snap SnapshotResult
	require.NoError(t, v.Get(&snap))
	require.EqualValues(t, 3050, snap.Rows)
	require.NotEmpty(t, beats, "the snapshot must heartbeat")
	require.Equal(t, 2, beats[len(beats)-1].Tables)
	require.Equal(t, 3000, w.count(t, w.dst, "destination", "shop.items"))

	// Replicate streams for its run, then hands back cleanly. The changes
	// are made on a goroutine while the activity runs; it returns its error
	// to the test rather than failing t there.
	writer := w.src.Connect(t, "app")
	changed := make(chan error, 1)
	go func() {
		time.Sleep(500 * time.Millisecond)
		_, err := writer.Exec(context.Background(), `INSERT INTO shop.items SELECT g, 'new', 1 FROM generate_series(3001, 3100) g;
			UPDATE shop."Odd Name" SET v = '{"updated": true}' WHERE k <= 5; DELETE FROM shop.items WHERE id <= 10;`)
		changed <- err
	}()
	env = w.env(t, streams)
	v, err = env.ExecuteActivity(streams.Replicate, ReplicateInput{Name: "acts", MaxDuration: 4 * time.Second})
	require.NoError(t, <-changed, "changes made while Replicate runs")
	require.NoError(t, err)
	var rep ReplicateResult
	require.NoError(t, v.Get(&rep))
	require.NotEmpty(t, rep.ConfirmedLSN)
	require.Equal(t, 3090, w.count(t, w.dst, "destination", "shop.items"))
	require.Equal(t, 5, w.count(t, w.dst, "destination", `shop."Odd Name" WHERE v = '{"updated": true}'`))

	// A destination table that lost a column the source still has: the
	// change is refused and the table quarantined (cause, the fix, and the
	// resync that brings it back), while the other table streams on.
	w.dst.Exec(t, "destination", `ALTER TABLE shop.items DROP COLUMN price`)
	w.src.Exec(t, "app", `INSERT INTO shop.items VALUES (5000, 'after the DDL', 1)`)
	go func() {
		time.Sleep(2 * time.Second)
		_, err := writer.Exec(context.Background(), `UPDATE shop."Odd Name" SET v = '{"after": true}' WHERE k <= 3`)
		changed <- err
	}()
	env = w.env(t, streams)
	_, err = env.ExecuteActivity(streams.Replicate, ReplicateInput{Name: "acts", MaxDuration: 6 * time.Second})
	require.NoError(t, <-changed)
	require.NoError(t, err, "a refused table does not stop the stream")
	require.Equal(t, 3, w.count(t, w.dst, "destination", `shop."Odd Name" WHERE v = '{"after": true}'`), "the other table streamed on")
	tbl := &Tables{Catalog: w.cat, Keyring: w.kr, Sinks: w.sinks, HeartbeatInterval: 200 * time.Millisecond}
	env = w.env(t, tbl)
	v, err = env.ExecuteActivity(tbl.ListTables, contract.ListTablesInput{Name: "acts"})
	require.NoError(t, err)
	var list contract.TablesReport
	require.NoError(t, v.Get(&list))
	q := findTable(list, "shop.items")
	require.Equal(t, "quarantined", q.State, "%+v", list)
	require.Contains(t, q.Cause, `column "price"`)
	require.Contains(t, q.Remedy, `ALTER TABLE "shop"."items" ADD COLUMN "price"`)
	require.Contains(t, q.Remedy, "`ardent resync acts --table shop.items`")

	// The operator fixes the destination table and resyncs: exact again.
	w.dst.Exec(t, "destination", `ALTER TABLE shop.items ADD COLUMN price numeric(10,2)`)
	env = w.env(t, tbl)
	_, err = env.ExecuteActivity(tbl.Backfill, contract.BackfillInput{Name: "acts", Table: "shop.items"})
	require.NoError(t, err)
	require.Equal(t, w.count(t, w.src, "app", "shop.items"), w.count(t, w.dst, "destination", "shop.items"))
	require.Equal(t, 1, w.count(t, w.dst, "destination", "shop.items WHERE id = 5000 AND price = 1"))
	env = w.env(t, tbl)
	v, err = env.ExecuteActivity(tbl.ListTables, contract.ListTablesInput{Name: "acts"})
	require.NoError(t, err)
	require.NoError(t, v.Get(&list))
	require.Equal(t, "streaming", findTable(list, "shop.items").State)
	// A table gone from the source before its backfill (dropped, or renamed
	// while queued) is nothing to copy, not a failure.
	env = w.env(t, tbl)
	v, err = env.ExecuteActivity(tbl.Backfill, contract.BackfillInput{Name: "acts", Table: "shop.renamed_meanwhile"})
	require.NoError(t, err)
	var gone contract.BackfillResult
	require.NoError(t, v.Get(&gone))
	require.True(t, gone.Gone)

	// A slot dropped behind Ardent's back is a non-retryable SlotLost.
	w.src.Exec(t, "app", "SELECT pg_drop_replication_slot('ardent_acts')")
	env = w.env(t, streams)
	_, err = env.ExecuteActivity(streams.Replicate, ReplicateInput{Name: "acts", MaxDuration: 10 * time.Second})
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.Equal(t, ErrTypeSlotLost, app.Type(), app.Error())
	require.True(t, app.NonRetryable())

	// DropConnector cleans the source and verifies.
	env = w.env(t, conns)
	v, err = env.ExecuteActivity(conns.DropConnector, DropConnectorInput{Name: "acts"})
	require.NoError(t, err)
	var dropped DropConnectorResult
	require.NoError(t, v.Get(&dropped))
	require.True(t, dropped.Verified)
	require.True(t, dropped.BookkeepingDropped)
	require.True(t, dropped.CatalogDropped)
	require.Zero(t, w.count(t, w.src, "app", "pg_namespace WHERE nspname = '_ardent'"))
	got, err := w.cat.Get(context.Background(), "acts")
	require.NoError(t, err)
	require.NotNil(t, got.DroppedAt)

	// Again: nothing is left, and the result says so.
	v, err = env.ExecuteActivity(conns.DropConnector, DropConnectorInput{Name: "acts"})
	require.NoError(t, err)
	require.NoError(t, v.Get(&dropped))
	require.Equal(t, DropConnectorResult{Verified: true, CatalogDropped: true}, dropped)
}

func TestCreateConnectorRefusesWrongPasswordWithoutEchoingIt(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	w := newWorld(t)
	pwCluster := pgtest.Start(t, pgtest.Options{PasswordAuth: true})
	pwCluster.Exec(t, "postgres", "CREATE ROLE ardent LOGIN PASSWORD 'right-one'")
	conns := &Connectors{Catalog: w.cat, Keyring: w.kr, Sinks: w.sinks}
	const wrong = "Wr0ng-P4ssw0rd-Xyz"
	env := w.env(t, conns)
	_, err := env.ExecuteActivity(conns.CreateConnector, CreateConnectorInput{Name: "bad",
		SourceURL: pwCluster.URLFor("ardent", wrong, "postgres"), DestinationURL: w.dstURL})
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.Equal(t, ErrTypePermanent, app.Type(), app.Error())
	require.NotContains(t, err.Error(), wrong)
	require.False(t, strings.Contains(app.Message(), wrong))
}
