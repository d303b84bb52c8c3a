package preflight_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/preflight"
	"github.com/ardent-cdc/ardent/internal/schema"
)

// grantAll prepares role ardent the way the generated script does.
const grantAll = `
CREATE ROLE ardent LOGIN REPLICATION PASSWORD '` + "Pa55-w0rd''with\"quotes" + `';
GRANT CONNECT, CREATE ON DATABASE postgres TO ardent;
GRANT USAGE ON SCHEMA public TO ardent;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO ardent;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO ardent;
`

func TestAllPassOverSSLWithPassword(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{SSL: true, PasswordAuth: true, ExtraConf: []string{"max_slot_wal_keep_size = 1GB"}})
	c.Exec(t, "postgres", `CREATE TABLE orders (id bigserial PRIMARY KEY, note text)`+";"+grantAll)
	known := func(ctx context.Context, systemID uint64, db string) (string, bool, error) {
		assert.NotZero(t, systemID)
		assert.Equal(t, "postgres", db)
		return "", false, nil
	}
	rep := run(t, preflight.Options{SourceURL: c.URLFor("ardent", password, "postgres"), KnownSource: known, EgressIP: "203.0.113.7"})
	for _, ch := range rep.Checks {
		assert.Equalf(t, preflight.StatusPass, ch.Status, "%s: %s / %s", ch.ID, ch.Message, ch.Remedy)
	}
	assert.True(t, rep.Passed)
	assert.Equal(t, []preflight.TableReport{{Schema: "public", Name: "orders", Identity: schema.IdentityPrimaryKey}}, rep.Tables)
	require.Contains(t, rep.Check(preflight.CheckServerVersion).Message, "tested on 15")

	// Now the same source is known to the catalog.
	rep = run(t, preflight.Options{SourceURL: c.URLFor("ardent", password, "postgres"),
		KnownSource: func(context.Context, uint64, string) (string, bool, error) { return "shop", true, nil }})
	ch := requireStatus(t, rep, preflight.CheckDuplicateSource, preflight.StatusFail)
	assert.Contains(t, ch.Message, `"shop"`)
	assert.False(t, rep.Passed)
}
