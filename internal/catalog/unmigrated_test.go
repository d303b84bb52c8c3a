package catalog

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
)

// A catalog no worker has migrated yet (the CLI never migrates) has no
// connectors: a look-up finds none instead of failing on the missing
// relation, so preflight's duplicate_source passes.
func TestUnmigratedCatalogHasNoConnectors(t *testing.T) {
	cl := pgtest.Start(t, pgtest.Options{WalLevel: "replica"})
	cl.CreateDatabase(t, "catalog")
	ctx := context.Background()
	s, err := Open(ctx, cl.URL("catalog"), nil)
	require.NoError(t, err)
	t.Cleanup(s.Close)

	check := func(what string) {
		name, found, err := s.LookupSource(ctx, 7301234567890123456, "shop")
		require.NoError(t, err, what)
		assert.False(t, found, what)
		assert.Empty(t, name, what)
		_, err = s.Get(ctx, "shop")
		require.ErrorIs(t, err, ErrNotFound, what)
	}
	check("no schema ardent")
	cl.Exec(t, "catalog", "CREATE SCHEMA ardent")
	check("schema ardent without its tables")

	// Any other failure still is one.
	cl.Exec(t, "catalog", "CREATE TABLE ardent.connectors (name text)")
	_, _, err = s.LookupSource(ctx, 7301234567890123456, "shop")
	require.Error(t, err, "a connectors table of another shape")
}
