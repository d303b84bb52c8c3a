package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const seedSQL = `
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id bigint PRIMARY KEY, name text NOT NULL, email text);
CREATE TABLE shop.orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL, amount numeric(12,2) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(), tags text[], doc jsonb);
INSERT INTO shop.customers SELECT g, 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 500) g;
INSERT INTO shop.orders (customer_id, amount, tags, doc)
  SELECT 1 + g % 500, g / 100.0, ARRAY['a', 'b' || g], jsonb_build_object('n', g) FROM generate_series(1, 20000) g;
`

// TestOnboardEndToEnd is the operator's story with real parts: preflight
// fails for a role that does not exist, the generated SQL is applied with
// psql, the signal is sent, a worker is killed mid-way and replaced, the
// connector snapshots and streams, and the password is nowhere to be seen.
func TestOnboardEndToEnd(t *testing.T) {
	s := newStack(t)
	s.src.Exec(t, "app", seedSQL)
	pw := randomPassword(t)
	source := s.src.URLFor("ardent", pw, "app")
	dest := s.dst.URL("destination")
	w1 := s.startWorker()

	out, code := s.ardent("onboard", "--name", "shop", "--source", source, "--destination", dest,
		"--schema", "shop", "--backoff-initial", "1h", "--backoff-max", "1h")
	require.Equal(t, 0, code, out)

	// 1. Preflight fails: the role does not exist yet. The timer is an hour
	// away, so only the signal can move it on.
	st := s.waitStage("shop", "waiting_for_sql", 2*time.Minute)
	require.NotNil(t, st.Preflight)
	require.False(t, st.Preflight.Passed)

	// 2. The operator generates the SQL and applies it with psql.
	s.applySQL(pw)

	// 3. Signal; kill the worker while it works; a new one finishes.
	out, code = s.ardent("signal", "sql-applied", "shop")
	require.Equal(t, 0, code, out)
	require.Eventually(t, func() bool {
		st, ok := s.status("shop")
		return ok && st.Stage != "waiting_for_sql" && st.Stage != "preflight"
	}, 2*time.Minute, 200*time.Millisecond, s.workerOutput())
	w1.Kill()
	s.startWorker()
	s.waitStage("shop", "streaming", 4*time.Minute)

	// 4. The snapshot is exact, and changes stream.
	for _, tbl := range []string{"shop.customers", "shop.orders"} {
		require.Eventually(t, func() bool {
			return sameRows(s.src.URL("app"), dest, tbl)
		}, time.Minute, time.Second, "table %s differs after the snapshot", tbl)
	}
	s.src.Exec(t, "app", `INSERT INTO shop.orders (customer_id, amount) SELECT 1, 1.5 FROM generate_series(1, 1000);
		UPDATE shop.customers SET email = 'changed' WHERE id <= 50;
		DELETE FROM shop.orders WHERE id <= 100;`)
	for _, tbl := range []string{"shop.customers", "shop.orders"} {
		require.Eventually(t, func() bool {
			return sameRows(s.src.URL("app"), dest, tbl)
		}, time.Minute, time.Second, "table %s did not catch up: %s", tbl, s.workerOutput())
	}

	// 5. The password is nowhere: raw history (no codec), logs, CLI output,
	// catalog, metrics.
	s.assertSecretAbsent(pw, "shop")

	// 6. The Web UI's codec endpoint decodes for the token holder only.
	s.checkCodecEndpoint(t, "shop", pw)

	// 7. pause stops applying within seconds; resume catches up; drop
	// removes the slot and bookkeeping schema from the source.
	out, code = s.ardent("pause", "shop")
	require.Equal(t, 0, code, out)
	s.waitStage("shop", "paused", 20*time.Second)
	s.src.Exec(t, "app", `INSERT INTO shop.customers VALUES (100001, 'while paused', NULL)`)
	time.Sleep(3 * time.Second)
	require.Equal(t, "0", strings.TrimSpace(s.psql(dest, "-Atc", "SELECT count(*) FROM shop.customers WHERE id = 100001")), "a paused connector applied a change")
	out, code = s.ardent("resume", "shop")
	require.Equal(t, 0, code, out)
	s.waitStage("shop", "streaming", 30*time.Second)
	require.Eventually(t, func() bool {
		return sameRows(s.src.URL("app"), dest, "shop.customers")
	}, time.Minute, time.Second, "resume did not catch up: %s", s.workerOutput())

	out, code = s.ardent("drop", "shop", "--yes")
	require.Equal(t, 0, code, out)
	s.waitStage("shop", "dropped", time.Minute)
	require.Equal(t, "0", strings.TrimSpace(s.psql(s.src.URL("app"), "-Atc",
		"SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'ardent%'")), "drop left a slot")
	require.Equal(t, "0", strings.TrimSpace(s.psql(s.src.URL("app"), "-Atc",
		"SELECT count(*) FROM pg_namespace WHERE nspname = '_ardent'")), "drop left the bookkeeping schema")
}

func (s *stack) assertSecretAbsent(secret, name string) {
	t := s.t
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, id := range []string{"onboarding-" + name, "replication-" + name} {
		raw, err := s.temporal.CLI(ctx, "workflow", "show", "--workflow-id", id, "--output", "json")
		require.NoError(t, err, raw)
		require.NotEmpty(t, raw)
		require.NotContains(t, decodeBase64Fields(t, raw), secret, "raw history of %s holds the password", id)
		described, err := s.temporal.CLI(ctx, "workflow", "describe", "--workflow-id", id, "--output", "json")
		require.NoError(t, err, described)
		require.NotContains(t, described, secret, "describe of %s holds the password", id)
	}
	for i, w := range s.Workers() {
		require.NotContains(t, w.Output(), secret, "worker %d log holds the password", i)
	}
	for _, l := range s.Outputs() {
		require.NotContains(t, l, secret, "CLI output holds the password")
	}
	dump := s.psql(s.dst.URL("ardent_catalog"), "-Atc",
		`SELECT string_agg(row_to_json(c)::text, E'\n') FROM ardent.connectors c`)
	require.NotEmpty(t, strings.TrimSpace(dump))
	require.NotContains(t, dump, secret, "catalog holds the password")
	require.NotContains(t, dump, strings.ToLower(secret))

	body := s.metrics() // from a live worker: the first one was killed

	require.Contains(t, body, "ardent_")
	require.NotContains(t, body, secret)
}

// metrics fetches /metrics from a live worker.
func (s *stack) metrics() string {
	workers := s.Workers()
	for i := len(workers) - 1; i >= 0; i-- {
		if workers[i].Exited() {
			continue
		}
		addr := workerAddr(workers[i])
		if addr == "" {
			continue
		}
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b)
	}
	s.t.Fatal("no live worker to read metrics from")
	return ""
}

// workerAddr reads the worker's HTTP address from its startup log line.
func workerAddr(p interface{ Output() string }) string {
	for _, line := range strings.Split(p.Output(), "\n") {
		if i := strings.Index(line, "http="); i >= 0 && strings.Contains(line, "worker started") {
			return strings.Fields(line[i+len("http="):])[0]
		}
	}
	return ""
}
