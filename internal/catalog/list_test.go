package catalog

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
)

func TestListHasDroppedConnectorsMarked(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	kr := keyring(t, key(t, 1))

	got, err := s.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, got, "a new catalog has no connectors")

	for i, name := range []string{"shop", "billing"} {
		require.NoError(t, s.CreateConnector(ctx, Connector{Name: name, SystemIdentifier: uint64(100 + i), Database: name,
			SourceURL: srcURL("db.internal", name), Selection: Selection{Schemas: []string{"public"}}}, kr))
	}
	require.NoError(t, s.MarkDropped(ctx, "shop"))

	got, err = s.List(ctx)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "billing", got[0].Name, "by name")
	assert.Equal(t, "ardent_billing", got[0].SlotName)
	assert.Equal(t, uint64(101), got[0].SystemIdentifier)
	assert.Equal(t, []string{"public"}, got[0].Selection.Schemas)
	assert.Nil(t, got[0].DroppedAt)
	assert.Equal(t, "shop", got[1].Name)
	assert.NotNil(t, got[1].DroppedAt, "a dropped connector is listed, marked")
	for _, c := range got {
		assert.Empty(t, c.SourceURL, "no credentials")
		assert.Nil(t, c.Schema, "no schema")
	}
}

func TestListUnmigratedCatalogIsEmpty(t *testing.T) {
	cl := pgtest.Start(t, pgtest.Options{WalLevel: "replica"})
	cl.CreateDatabase(t, "catalog")
	ctx := context.Background()
	s, err := Open(ctx, cl.URL("catalog"), nil)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	got, err := s.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, got)
}
