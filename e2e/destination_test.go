package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/e2estack"
)

// grantApp2 gives role ardent (created by the generated SQL for app) what
// it needs on a second database of the same cluster, as that database's
// script would.
const grantApp2 = `GRANT CONNECT, CREATE ON DATABASE app2 TO ardent;
GRANT USAGE ON SCHEMA shop TO ardent;
GRANT SELECT ON ALL TABLES IN SCHEMA shop TO ardent;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA shop TO ardent;`

// TestTwoSourcesShareADestination is the day-2 accident of issue 15: a
// second source with the same schema and table names onboarded into the
// destination database of a first one. Without --target-schema it is
// refused (preflight names the other connector and the remedy; the
// onboarding never passes preflight, and the first connector's table is
// untouched); with it both replicate side by side, each equal to its source
// (`ardent verify`). A destination that is the source itself is refused,
// and so is a table holding rows Ardent did not write unless
// --replace-existing.
func TestTwoSourcesShareADestination(t *testing.T) {
	s := newStack(t)
	s.src.Exec(t, "app", seedSQL)
	s.psql(s.src.URL("postgres"), "-c", "CREATE DATABASE app2")
	s.src.Exec(t, "app2", seedSQL+"UPDATE shop.customers SET name = 'second ' || id;")
	pw := randomPassword(t)
	s.applySQL(pw)
	s.psql(s.src.URL("app2"), "-c", grantApp2)
	one, two := s.src.URLFor("ardent", pw, "app"), s.src.URLFor("ardent", pw, "app2")
	dest := s.dst.URL("destination")
	s.startWorker()

	out, code := s.ardent("onboard", "--name", "one", "--source", one, "--destination", dest, "--schema", "shop", "--wait")
	require.Equal(t, 0, code, out+s.workerOutput())
	s.waitStage("one", "streaming", 4*time.Minute)

	// The second source, same names: refused by preflight, naming connector one.
	out, code = s.ardent("preflight", "--source", two, "--schema", "shop", "--destination", dest, "--name", "two")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, `written by connector "one"`)
	require.Contains(t, out, "--target-schema")

	// Onboarded anyway: it waits in preflight on the destination check and
	// never touches connector one's tables.
	out, code = s.ardent("onboard", "--name", "two", "--source", two, "--destination", dest, "--schema", "shop",
		"--backoff-initial", "1h", "--backoff-max", "1h")
	require.Equal(t, 0, code, out)
	require.Eventually(t, func() bool {
		st, ok := s.status("two")
		return ok && st.Preflight != nil && checkStatus(st, "destination") == "fail"
	}, 2*time.Minute, time.Second)
	st, _ := s.status("two")
	require.Equal(t, "waiting_for_sql", st.Stage)
	out, code = s.ardent("drop", "two", "--yes")
	require.Equal(t, 0, code, out)
	s.waitStage("two", "dropped", 2*time.Minute)
	require.True(t, sameRows(one, dest, "shop.customers"), "connector one's table is untouched")

	// A destination that is the source itself.
	out, code = s.ardent("preflight", "--source", two, "--schema", "shop", "--destination", s.src.URL("app2"))
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "is the source database itself")

	// With --target-schema both replicate, each into its own schema.
	out, code = s.ardent("onboard", "--name", "two", "--source", two, "--destination", dest, "--schema", "shop",
		"--target-schema", "two_*", "--wait")
	require.Equal(t, 0, code, out+s.workerOutput())
	s.waitStage("two", "streaming", 4*time.Minute)
	app, app2 := s.src.URL("app"), s.src.URL("app2") // the application's writes
	s.psql(app, "-c", "INSERT INTO shop.customers VALUES (1001, 'new in one', NULL); DELETE FROM shop.orders WHERE id <= 10")
	s.psql(app2, "-c", "INSERT INTO shop.customers VALUES (2002, 'new in two', NULL); UPDATE shop.orders SET amount = 0 WHERE id <= 10")
	require.Eventually(t, func() bool {
		return sameChecksum(one, "shop.customers", dest, "shop.customers") &&
			sameChecksum(two, "shop.customers", dest, "two_shop.customers") &&
			sameChecksum(two, "shop.orders", dest, "two_shop.orders") &&
			sameRows(one, dest, "shop.orders")
	}, 2*time.Minute, time.Second, s.workerOutput())
	for _, name := range []string{"one", "two"} {
		out, code = s.ardent("verify", name)
		require.Equal(t, 0, code, out)
		require.Contains(t, out, "shop.customers")
	}

	// A table holding rows Ardent did not write: refused, then replaced
	// with --replace-existing.
	s.psql(dest, "-c", "CREATE SCHEMA three_shop; CREATE TABLE three_shop.customers (id bigint PRIMARY KEY, name text NOT NULL, email text); INSERT INTO three_shop.customers VALUES (1, 'hand-made', NULL)")
	out, code = s.ardent("preflight", "--source", two, "--schema", "shop", "--table", "shop.customers", "--destination", dest,
		"--target-schema", "three_*")
	require.Equal(t, 1, code, out)
	require.Contains(t, out, "holds rows Ardent did not write")
	require.Contains(t, out, "--replace-existing")
	// (Its exit status is duplicate_source's: app2 has connector two.)
	out, _ = s.ardent("preflight", "--source", two, "--schema", "shop", "--table", "shop.customers", "--destination", dest,
		"--target-schema", "three_*", "--replace-existing")
	assert.NotContains(t, out, "holds rows Ardent did not write")
	assert.Contains(t, out, "--replace-existing will empty and take three_shop.customers")
}

func checkStatus(st e2estack.Status, id string) string {
	if st.Preflight == nil {
		return ""
	}
	for _, c := range st.Preflight.Checks {
		if c.ID == id {
			return c.Status
		}
	}
	return ""
}

// sameChecksum compares a table on one side with another table (same rows
// expected) on the other: a target schema renames the schema.
func sameChecksum(a, tableA, b, tableB string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	x, errA := e2estack.Checksum(ctx, a, tableA)
	y, errB := e2estack.Checksum(ctx, b, tableB)
	return errA == nil && errB == nil && x == y && !strings.HasPrefix(x, "0:")
}
