package activities

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/internal/slotwatch"
	"github.com/ardent-cdc/ardent/internal/source"
)

// slotPassword is distinctive so a scan for it cannot match by accident.
const slotPassword = "Pw-0b5e7a11-slots-s3cret"

// series returns the label sets of every series on reg that has
// connector=name, as "metric{labels}" strings.
func series(t *testing.T, reg *prometheus.Registry, name string) []string {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	var out []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			mine := false
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
				mine = mine || (l.GetName() == "connector" && l.GetValue() == name)
			}
			if mine {
				out = append(out, mf.GetName()+"{"+strings.Join(labels, ",")+"}")
			}
		}
	}
	return out
}

// TestSlotMetricsFromTheCatalog reads real slots of connectors stored in a
// real catalog: the gauges follow the slot (held, WAL retained and
// growing, safe_wal_size under max_slot_wal_keep_size, missing), an
// unreachable source counts a check error, and a dropped connector loses
// every series, its stream's included, while the others keep theirs.
func TestSlotMetricsFromTheCatalog(t *testing.T) {
	cl := pgtest.Start(t, pgtest.Options{ExtraConf: []string{"max_slot_wal_keep_size = 64MB"}})
	cl.CreateDatabase(t, "app")
	cl.CreateDatabase(t, "catalog")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cat, err := catalog.Open(ctx, cl.URL("catalog"), nil)
	require.NoError(t, err)
	t.Cleanup(cat.Close)
	require.NoError(t, cat.Migrate(ctx))
	key, err := secrets.GenerateKey()
	require.NoError(t, err)
	kr, err := secrets.NewKeyring(key)
	require.NoError(t, err)

	down := fmt.Sprintf("postgres://ardent:%s@127.0.0.1:1/app?sslmode=disable", slotPassword)
	for i, c := range []struct{ name, url string }{{"shop", cl.URL("app")}, {"billing", cl.URL("app")}, {"down", down}} {
		require.NoError(t, cat.CreateConnector(ctx, catalog.Connector{Name: c.name, SystemIdentifier: uint64(i + 1),
			Database: "app", SourceURL: secrets.Secret(c.url)}, kr))
	}

	// shop's slot is held by a stream; billing has none.
	cfg, err := pgconn.ParseConfig(cl.URL("app"))
	require.NoError(t, err)
	holder, err := pgconn.ConnectConfig(ctx, source.ReplicationConfig(cfg, ""))
	require.NoError(t, err)
	t.Cleanup(func() { _ = holder.Close(context.Background()) })
	res, err := pglogrepl.CreateReplicationSlot(ctx, holder, "ardent_shop", "test_decoding", pglogrepl.CreateReplicationSlotOptions{})
	require.NoError(t, err)
	start, err := pglogrepl.ParseLSN(res.ConsistentPoint)
	require.NoError(t, err)
	require.NoError(t, pglogrepl.StartReplication(ctx, holder, "ardent_shop", start, pglogrepl.StartReplicationOptions{}))

	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	sm := NewSlotMetrics(reg, m)
	w := &slotwatch.Watcher{Catalog: cat, Keyring: kr, Recorder: sm, Timeout: 5 * time.Second, Log: slog.New(slog.DiscardHandler)}

	require.Eventually(t, func() bool {
		return w.Check(ctx) == nil && testutil.ToFloat64(sm.Active.WithLabelValues("shop")) == 1
	}, 10*time.Second, 50*time.Millisecond, "the held slot is reported active")
	for _, st := range slotwatch.WALStatuses {
		assert.Equal(t, b2f(st == "reserved"), testutil.ToFloat64(sm.WALStatus.WithLabelValues("shop", st)), st)
		assert.Equal(t, b2f(st == "missing"), testutil.ToFloat64(sm.WALStatus.WithLabelValues("billing", st)), st)
	}
	safe := testutil.ToFloat64(sm.SafeWALSize.WithLabelValues("shop"))
	assert.Greater(t, safe, 0.0)
	assert.LessOrEqual(t, safe, float64((64+16)<<20), "safe_wal_size is about max_slot_wal_keep_size (plus up to a WAL segment)")
	before := testutil.ToFloat64(sm.RetainedBytes.WithLabelValues("shop"))
	assert.GreaterOrEqual(t, before, 0.0)
	checked := testutil.ToFloat64(sm.LastChecked.WithLabelValues("shop"))
	assert.InDelta(t, float64(time.Now().Unix()), checked, 60)
	assert.Equal(t, 0.0, testutil.ToFloat64(sm.Active.WithLabelValues("billing")))
	assert.Equal(t, 1, testutil.CollectAndCount(sm.RetainedBytes), "a missing slot retains nothing: only shop's series")
	assert.Equal(t, 1, testutil.CollectAndCount(sm.SafeWALSize), "only shop's")
	assert.GreaterOrEqual(t, testutil.ToFloat64(sm.CheckErrors.WithLabelValues("down")), 1.0)
	assert.NotContains(t, series(t, reg, "shop"), "ardent_slot_check_errors_total{connector=shop}")
	assert.ElementsMatch(t, []string{"ardent_slot_check_errors_total{connector=down}"}, series(t, reg, "down"),
		"an unreachable source has only its error count")

	// The stream stops (paused, failed): the slot keeps WAL, and the
	// gauges say so without a stream running.
	require.NoError(t, holder.Close(ctx))
	cl.Exec(t, "app", `CREATE TABLE filler AS SELECT g, repeat('x', 200) AS pad FROM generate_series(1, 20000) g`)
	require.Eventually(t, func() bool {
		return w.Check(ctx) == nil && testutil.ToFloat64(sm.Active.WithLabelValues("shop")) == 0
	}, 10*time.Second, 50*time.Millisecond, "the released slot is reported inactive")
	after := testutil.ToFloat64(sm.RetainedBytes.WithLabelValues("shop"))
	assert.Greater(t, after, before+1e6, "the retained WAL grows while nothing streams")
	assert.Less(t, testutil.ToFloat64(sm.SafeWALSize.WithLabelValues("shop")), safe, "and the room before invalidation shrinks")

	// shop had a stream on this worker; an onboarding still in preflight
	// (not in the catalog) has an error count.
	m.setStage("shop", "streaming")
	m.LagSeconds.WithLabelValues("shop").Set(2)
	m.LagBytes.WithLabelValues("shop").Set(100)
	m.ConfirmedLSN.WithLabelValues("shop").Set(1234)
	m.LastApply.WithLabelValues("shop").Set(float64(time.Now().Unix()))
	m.RowsApplied.WithLabelValues("shop").Add(10)
	m.SnapshotRows.WithLabelValues("shop").Add(10)
	m.SnapshotBytes.WithLabelValues("shop").Add(10)
	m.activityError(ReplicateName, "shop", ErrTypeTransient)
	m.verifiedReport("shop", &VerifyReport{Tables: []VerifyTable{{Table: "public.t", Equal: true}}}, true, time.Now())
	m.activityError(PreflightName, "onboarding", ErrTypePermanent)
	m.setStage("billing", "retrying")
	// 4 slot gauges and 5 wal_status series; 4 stage series and 11 others.
	require.Len(t, series(t, reg, "shop"), 4+len(slotwatch.WALStatuses)+len(WorkerStages)+11,
		"every series of shop before the drop: %v", series(t, reg, "shop"))

	require.NoError(t, cat.MarkDropped(ctx, "shop"))
	require.NoError(t, w.Check(ctx))
	assert.Empty(t, series(t, reg, "shop"), "a dropped connector exports nothing")
	assert.NotEmpty(t, series(t, reg, "billing"))
	assert.Contains(t, series(t, reg, "billing"), "ardent_connector_stage{connector=billing,stage=retrying}")
	assert.Len(t, series(t, reg, "onboarding"), 1, "a connector the catalog never had keeps its error count")

	mfs, err := reg.Gather()
	require.NoError(t, err)
	assert.NotContains(t, fmt.Sprint(mfs), slotPassword)
}

// TestConnectorVecsAreEveryVector: ForgetConnector reaches every series
// vector of Metrics, so one added later is not left behind on a drop.
func TestConnectorVecsAreEveryVector(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	listed := map[any]bool{}
	for _, v := range m.connectorVecs() {
		listed[v] = true
	}
	rv := reflect.ValueOf(m).Elem()
	n := 0
	for i := range rv.NumField() {
		f := rv.Field(i)
		if !rv.Type().Field(i).IsExported() {
			continue
		}
		v, ok := f.Interface().(vec)
		if !ok {
			continue
		}
		n++
		assert.True(t, listed[v], "Metrics.%s is missing from connectorVecs", rv.Type().Field(i).Name)
	}
	assert.Equal(t, n, len(listed))
}

// TestSlotObserveTransitions: a slot that goes from reserved to lost, then
// disappears, leaves no stale retained or safe size behind and moves its
// wal_status; a failed check keeps the last reading.
func TestSlotObserveTransitions(t *testing.T) {
	sm := NewSlotMetrics(prometheus.NewRegistry(), nil)
	retained, safe := 5e6, int64(60<<20)
	at := time.Unix(1_800_000_000, 0)
	status := func() (out []string) {
		for _, st := range slotwatch.WALStatuses {
			if testutil.ToFloat64(sm.WALStatus.WithLabelValues("shop", st)) == 1 {
				out = append(out, st)
			}
		}
		return out
	}

	sm.Observe("shop", source.SlotRetention{Exists: true, Active: true, WALStatus: "reserved", RetainedBytes: &retained, SafeWALSize: &safe}, at)
	assert.Equal(t, []string{"reserved"}, status())
	assert.Equal(t, 1.0, testutil.ToFloat64(sm.Active.WithLabelValues("shop")))
	assert.Equal(t, retained, testutil.ToFloat64(sm.RetainedBytes.WithLabelValues("shop")))
	assert.Equal(t, float64(safe), testutil.ToFloat64(sm.SafeWALSize.WithLabelValues("shop")))
	assert.Equal(t, float64(at.Unix()), testutil.ToFloat64(sm.LastChecked.WithLabelValues("shop")))

	sm.Observe("shop", source.SlotRetention{Exists: true, WALStatus: "lost"}, at.Add(time.Minute))
	assert.Equal(t, []string{"lost"}, status())
	assert.Equal(t, 0.0, testutil.ToFloat64(sm.Active.WithLabelValues("shop")))
	assert.Equal(t, 0, testutil.CollectAndCount(sm.RetainedBytes), "no restart_lsn: no retained series")
	assert.Equal(t, 0, testutil.CollectAndCount(sm.SafeWALSize), "NULL safe_wal_size: no series")

	sm.CheckFailed("shop")
	assert.Equal(t, 1.0, testutil.ToFloat64(sm.CheckErrors.WithLabelValues("shop")))
	assert.Equal(t, []string{"lost"}, status(), "a failed check keeps the last reading")
	assert.Equal(t, float64(at.Add(time.Minute).Unix()), testutil.ToFloat64(sm.LastChecked.WithLabelValues("shop")))

	sm.Observe("shop", source.SlotRetention{}, at.Add(2*time.Minute))
	assert.Equal(t, []string{"missing"}, status())

	sm.Forget("shop") // without activity metrics: nil-safe
	assert.Empty(t, sm.Connectors())
}
