package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// tablesOf is `ardent tables NAME --format json`: state by table.
func (s *stack) tablesOf(name string) map[string]string {
	s.t.Helper()
	out, _ := s.ardent("tables", name, "--format", "json")
	i := strings.Index(out, "{")
	if i < 0 {
		return nil
	}
	var rep struct {
		Tables []struct{ Table, State string }
	}
	if json.Unmarshal([]byte(out[i:]), &rep) != nil {
		return nil
	}
	m := map[string]string{}
	for _, t := range rep.Tables {
		m[t.Table] = t.State
	}
	return m
}

// load writes to the source until stopped: inserts into shop.orders and,
// once it exists, shop.fresh.
func writeLoad(t *testing.T, url string) (stop func() int64) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	var stopping atomic.Bool
	var n atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		defer conn.Close(context.Background())
		for i := 0; !stopping.Load(); i++ {
			sql := "INSERT INTO shop.orders (customer_id, amount) VALUES (1 + $1::int % 500, 1)"
			if i%2 == 1 {
				sql = "INSERT INTO shop.fresh (v) SELECT $1::int WHERE to_regclass('shop.fresh') IS NOT NULL"
			}
			if _, err := conn.Exec(context.Background(), sql, i); err != nil {
				if !strings.Contains(err.Error(), "does not exist") {
					t.Errorf("load: %v", err)
					return
				}
			}
			n.Add(1)
			time.Sleep(2 * time.Millisecond)
		}
	})
	return func() int64 { stopping.Store(true); wg.Wait(); return n.Load() }
}

// TestLiveTables: under a write load, a table created and filled after
// onboarding arrives complete and streams; a table resynced while written
// is exact; both checked by `ardent verify`.
func TestLiveTables(t *testing.T) {
	s := newStack(t)
	s.src.Exec(t, "app", seedSQL)
	pw := randomPassword(t)
	source := s.src.URLFor("ardent", pw, "app")
	dest := s.dst.URL("destination")
	app := s.src.URL("app")
	s.applySQL(pw)
	s.startWorker()
	out, code := s.ardent("onboard", "--name", "shop", "--source", source, "--destination", dest, "--schema", "shop",
		"--discover-interval", "2s", "--verify-interval", "-1s", "--wait")
	require.Equal(t, 0, code, out)
	s.waitStage("shop", "streaming", 4*time.Minute)

	stop := writeLoad(t, app)
	// A table created and filled after onboarding, written to all along.
	s.psql(app, "-c", `CREATE TABLE shop.fresh (id bigserial PRIMARY KEY, v int NOT NULL, note text);
		INSERT INTO shop.fresh (v, note) SELECT g, 'seed' FROM generate_series(1, 30000) g`)
	require.Eventually(t, func() bool { return s.tablesOf("shop")["shop.fresh"] == "streaming" }, 2*time.Minute, time.Second,
		"shop.fresh never streamed: %v\n%s", s.tablesOf("shop"), s.workerOutput())

	// A resync of a table being written.
	out, code = s.ardent("resync", "shop", "--table", "shop.orders")
	require.Equal(t, 0, code, out)
	require.Eventually(t, func() bool {
		return strings.Count(s.WorkerOutput(100000), "backfill: handed over to the stream") >= 2 &&
			s.tablesOf("shop")["shop.orders"] == "streaming"
	}, 2*time.Minute, time.Second, "the resync of shop.orders never finished: %v", s.tablesOf("shop"))
	time.Sleep(2 * time.Second) // the load goes on after the handover
	require.Positive(t, stop())

	for _, table := range []string{"shop.fresh", "shop.orders", "shop.customers"} {
		require.Eventually(t, func() bool { return sameRows(app, dest, table) }, 2*time.Minute, time.Second, table)
	}
	out, code = s.ardent("verify", "shop")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "shop.fresh")
}

// TestEmptySchemaOnboarding: a schema with no tables yet onboards (preflight
// warns that tables created later are copied as they appear) and its first
// table, created and filled after onboarding, arrives complete.
func TestEmptySchemaOnboarding(t *testing.T) {
	s := newStack(t)
	pw := randomPassword(t)
	s.src.Exec(t, "app", "CREATE SCHEMA shop") // applySQL grants on it
	s.applySQL(pw)
	app := s.src.URL("app")
	s.psql(app, "-c", "ALTER DEFAULT PRIVILEGES IN SCHEMA shop GRANT SELECT ON TABLES TO ardent")
	source := s.src.URLFor("ardent", pw, "app")
	dest := s.dst.URL("destination")
	s.startWorker() // it creates the catalog preflight's duplicate_source reads
	out, code := s.ardent("preflight", "--source", source, "--schema", "shop")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "no tables yet")
	out, code = s.ardent("onboard", "--name", "empty", "--source", source, "--destination", dest, "--schema", "shop",
		"--discover-interval", "2s", "--verify-interval", "-1s", "--wait")
	require.Equal(t, 0, code, out+s.workerOutput())
	s.waitStage("empty", "streaming", 2*time.Minute)

	s.psql(app, "-c", `CREATE TABLE shop.first (id bigint PRIMARY KEY, v text);
		INSERT INTO shop.first SELECT g, 'v' || g FROM generate_series(1, 5000) g`)
	require.Eventually(t, func() bool { return s.tablesOf("empty")["shop.first"] == "streaming" }, time.Minute, time.Second,
		"%v\n%s", s.tablesOf("empty"), s.workerOutput())
	s.psql(app, "-c", "UPDATE shop.first SET v = 'changed' WHERE id <= 10; DELETE FROM shop.first WHERE id > 4990")
	require.Eventually(t, func() bool { return sameRows(app, dest, "shop.first") }, time.Minute, time.Second)
	out, code = s.ardent("verify", "empty")
	require.Equal(t, 0, code, out)
}
