package activities

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
)

// TestCreateConnectorGuardsTheDestination: a destination table holding
// rows Ardent did not write stops connector creation before anything is
// created anywhere (no bookkeeping schema on the source, no catalog row),
// as a non-retryable conflict whose remedy names --replace-existing and
// --target-schema; --target-schema then writes beside it, and
// --replace-existing takes it; a destination that is the source is refused.
func TestCreateConnectorGuardsTheDestination(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	w := newWorld(t)
	w.dst.Exec(t, "destination", `CREATE SCHEMA shop; CREATE TABLE shop.items (id bigint PRIMARY KEY, name text, price numeric(10,2));
		INSERT INTO shop.items VALUES (1, 'the customer''s own', 1)`)
	conns := &Connectors{Catalog: w.cat, Keyring: w.kr, Sinks: w.sinks}
	in := CreateConnectorInput{Name: "guarded", SourceURL: w.srcURL, DestinationURL: w.dstURL, Selection: Selection{Schemas: []string{"shop"}}}

	_, err := w.env(t, conns).ExecuteActivity(conns.CreateConnector, in)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	assert.Equal(t, ErrTypeConflict, app.Type())
	assert.True(t, app.NonRetryable())
	assert.Contains(t, app.Error(), "shop.items already exists and holds rows Ardent did not write")
	var details FailureDetails
	require.NoError(t, app.Details(&details))
	assert.Contains(t, details.Remedy, "--replace-existing")
	assert.Contains(t, details.Remedy, "--target-schema")
	var bookkeeping bool
	require.NoError(t, w.src.Connect(t, "app").QueryRow(context.Background(),
		"SELECT to_regnamespace('_ardent') IS NOT NULL").Scan(&bookkeeping))
	assert.False(t, bookkeeping, "nothing created on the source")
	_, err = w.cat.Get(context.Background(), "guarded")
	require.Error(t, err, "nothing stored in the catalog")

	// Beside it, under a prefix: the customer's table is untouched.
	mapped := in
	mapped.Options.TargetSchema = "ardent_*"
	_, err = w.env(t, conns).ExecuteActivity(conns.CreateConnector, mapped)
	require.NoError(t, err)
	assert.Zero(t, w.count(t, w.dst, "destination", "ardent_shop.items"))
	assert.Equal(t, 1, w.count(t, w.dst, "destination", "shop.items"))

	// A destination that is the source database itself.
	self := in
	self.Name, self.DestinationURL = "self", w.srcURL
	_, err = w.env(t, conns).ExecuteActivity(conns.CreateConnector, self)
	require.ErrorContains(t, err, "the destination is the source database itself")

	// --replace-existing: taken (the snapshot then empties it), for a
	// second source database with the same table.
	w.src.CreateDatabase(t, "app2")
	w.src.Exec(t, "app2", `CREATE SCHEMA shop; CREATE TABLE shop.items (id bigint PRIMARY KEY, name text, price numeric(10,2))`)
	replace := in
	replace.Name, replace.SourceURL = "other", w.src.URL("app2")
	replace.Options.ReplaceExisting = true
	_, err = w.env(t, conns).ExecuteActivity(conns.CreateConnector, replace)
	require.NoError(t, err)
	var owner string
	require.NoError(t, w.dst.Connect(t, "destination").QueryRow(context.Background(),
		"SELECT connector FROM _ardent.owned_tables WHERE schema_name = 'shop' AND table_name = 'items'").Scan(&owner))
	assert.Equal(t, "other", owner)
}
