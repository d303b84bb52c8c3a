package preflight_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/preflight"
)

// TestDestinationCheck: with a destination, preflight reports whether the
// connector may write there: a fresh database passes, the source database
// itself fails, a table of another live connector fails naming it, a
// table holding rows Ardent did not write fails until --replace-existing
// (a warning naming what it will empty), an unreachable destination fails
// without its password, and two schemas mapped into one fail.
func TestDestinationCheck(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	c.Exec(t, "postgres", `CREATE SCHEMA a; CREATE SCHEMA b;
		CREATE TABLE a.orders (id bigserial PRIMARY KEY, note text); CREATE TABLE b.orders (id bigint PRIMARY KEY);`+grantAll+`
		GRANT USAGE ON SCHEMA a, b TO ardent; GRANT SELECT ON ALL TABLES IN SCHEMA a, b TO ardent;`)
	c.CreateDatabase(t, "dst")
	src := c.URLFor("ardent", password, "postgres")
	check := func(d preflight.Destination, schemas ...string) preflight.Check {
		t.Helper()
		rep := run(t, preflight.Options{SourceURL: src, Selection: selection(schemas...), Destination: &d})
		return rep.Check(preflight.CheckDestination)
	}

	ch := check(preflight.Destination{URL: c.URL("dst"), Connector: "shop"}, "a")
	assert.Equal(t, preflight.StatusPass, ch.Status, ch.Message)
	assert.Contains(t, ch.Message, "1 tables into the same schemas as the source")

	ch = check(preflight.Destination{URL: c.URL("postgres"), Connector: "shop"}, "a")
	assert.Equal(t, preflight.StatusFail, ch.Status)
	assert.Contains(t, ch.Message, "is the source database itself")

	ch = check(preflight.Destination{URL: c.URL("dst"), Target: "wh"}, "a", "b")
	assert.Equal(t, preflight.StatusFail, ch.Status)
	assert.Contains(t, ch.Message, "maps both a.orders and b.orders to wh.orders")

	c.Exec(t, "dst", `CREATE SCHEMA a; CREATE TABLE a.orders (id bigint PRIMARY KEY, note text); INSERT INTO a.orders VALUES (1, 'mine');
		CREATE SCHEMA _ardent; CREATE TABLE _ardent.owned_tables (schema_name text NOT NULL, table_name text NOT NULL,
		connector text NOT NULL, source text NOT NULL DEFAULT '', claimed_at timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (schema_name, table_name))`)
	ch = check(preflight.Destination{URL: c.URL("dst"), Connector: "shop"}, "a")
	assert.Equal(t, preflight.StatusFail, ch.Status)
	assert.Contains(t, ch.Message, "a.orders already exists and holds rows Ardent did not write")
	assert.Contains(t, ch.Remedy, "--replace-existing")
	ch = check(preflight.Destination{URL: c.URL("dst"), Connector: "shop", Replace: true}, "a")
	assert.Equal(t, preflight.StatusWarn, ch.Status, ch.Message)
	assert.Contains(t, ch.Message, "--replace-existing will empty and take a.orders")

	c.Exec(t, "dst", `INSERT INTO _ardent.owned_tables (schema_name, table_name, connector) VALUES ('a', 'orders', 'billing')`)
	live := func(context.Context, string) (bool, error) { return true, nil }
	ch = check(preflight.Destination{URL: c.URL("dst"), Connector: "shop", Replace: true, Live: live}, "a")
	assert.Equal(t, preflight.StatusFail, ch.Status)
	assert.Contains(t, ch.Message, `written by connector "billing"`)
	ch = check(preflight.Destination{URL: c.URL("dst"), Connector: "shop", Target: "shop_*", Live: live}, "a")
	assert.Equal(t, preflight.StatusPass, ch.Status, ch.Message)

	// Re-onboarding into an empty table of another shape: the statements
	// the snapshot runs on it are named.
	c.Exec(t, "dst", `CREATE SCHEMA c; CREATE TABLE c.orders (id int PRIMARY KEY, old text NOT NULL)`)
	ch = check(preflight.Destination{URL: c.URL("dst"), Connector: "shop", Target: "c"}, "a")
	assert.Equal(t, preflight.StatusWarn, ch.Status, ch.Message)
	assert.Contains(t, ch.Message, `c.orders differs from the source (ALTER TABLE "c"."orders" ALTER COLUMN "id" TYPE bigint USING NULL; `+
		`ALTER TABLE "c"."orders" ADD COLUMN "note" text; ALTER TABLE "c"."orders" ALTER COLUMN "old" DROP NOT NULL)`)
	assert.Contains(t, ch.Remedy, "the snapshot empties it")

	ch = check(preflight.Destination{URL: c.URLFor("nobody", "Secret-dst-pw", "dst"), Connector: "shop"}, "a")
	assert.Equal(t, preflight.StatusFail, ch.Status)
	assert.Contains(t, ch.Message, "cannot connect to destination")
	assert.NotContains(t, ch.Message, "Secret-dst-pw")
}
