package activities

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/schema"
)

// TestStreamReportsCatalogChanges: a running stream reads the source's
// catalog on its own session and asks for a table discovery when the
// selection's tables change (a table created, a column added), and not
// while they stay as the connector knows them.
func TestStreamReportsCatalogChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	w := newWorld(t)
	conns := &Connectors{Catalog: w.cat, Keyring: w.kr, Sinks: w.sinks}
	snaps := &Snapshotter{Catalog: w.cat, Keyring: w.kr, Sinks: w.sinks, HeartbeatInterval: 50 * time.Millisecond}
	_, err := w.env(t, conns).ExecuteActivity(conns.CreateConnector, CreateConnectorInput{Name: "acts", SourceURL: w.srcURL,
		DestinationURL: w.dstURL, Selection: Selection{Schemas: []string{"shop"}}})
	require.NoError(t, err)
	_, err = w.env(t, snaps).ExecuteActivity(snaps.Snapshot, SnapshotInput{Name: "acts"})
	require.NoError(t, err)

	var mu sync.Mutex
	var changed []time.Time
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(changed) }
	streams := &Streamer{Catalog: w.cat, Keyring: w.kr, Sinks: w.sinks, HeartbeatInterval: 200 * time.Millisecond,
		IdleEmitInterval: time.Second, CatalogCheckInterval: 200 * time.Millisecond,
		Report: func(_ context.Context, _, _ string, p contract.ProgressReport) error {
			if p.CatalogChanged {
				mu.Lock()
				changed = append(changed, time.Now())
				mu.Unlock()
			}
			return nil
		}}

	ddl := make(chan error, 1)
	go func() {
		// The first look (the baseline) and a few more find the tables
		// the connector knows: nothing to report.
		time.Sleep(1500 * time.Millisecond)
		if n := count(); n != 0 {
			ddl <- nil
			return
		}
		if _, err := w.src.Connect(t, "app").Exec(context.Background(), `CREATE TABLE shop.added (id int PRIMARY KEY)`); err != nil {
			ddl <- err
			return
		}
		deadline := time.Now().Add(5 * time.Second)
		for count() == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		_, err := w.src.Connect(t, "app").Exec(context.Background(), `ALTER TABLE shop.items ADD COLUMN extra int`)
		ddl <- err
	}()
	_, err = w.env(t, streams).ExecuteActivity(streams.Replicate, ReplicateInput{Name: "acts", MaxDuration: 5 * time.Second})
	require.NoError(t, err)
	require.NoError(t, <-ddl)
	require.Equal(t, 2, count(), "one report for the new table, one for the new column")
}

// TestCatalogFingerprint: sizes move with every write and change nothing;
// a column's type does.
func TestCatalogFingerprint(t *testing.T) {
	base := []schema.Table{{Schema: "s", Name: "t", Columns: []schema.Column{{Name: "id", Type: "integer"}}, EstimatedRows: 1, SizeBytes: 8192}}
	sized := []schema.Table{{Schema: "s", Name: "t", Columns: []schema.Column{{Name: "id", Type: "integer"}}, EstimatedRows: 9, SizeBytes: 1 << 20}}
	retyped := []schema.Table{{Schema: "s", Name: "t", Columns: []schema.Column{{Name: "id", Type: "bigint"}}}}
	require.Equal(t, fingerprint(base), fingerprint(sized))
	require.NotEqual(t, fingerprint(base), fingerprint(retyped))
}
