package catalog

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newPassword is what the credentials are changed to: as distinctive as
// password, so a scan for it cannot match by accident either.
const newPassword = "Pw-0b8e44a2-rotated-s3cret"

func rotatedSrcURL(host, db string) secrets.Secret {
	return secrets.Secret(fmt.Sprintf("postgres://ardent:%s@%s:6432/%s?sslmode=verify-full", newPassword, host, db))
}

func rotatedDestURL(db string) secrets.Secret {
	return secrets.Secret(fmt.Sprintf("host=dest2.internal port=5433 dbname=%s user=writer2 password=%s", db, newPassword))
}

func TestSetCredentials(t *testing.T) {
	s, cl := newStore(t)
	ctx := context.Background()
	k1, k2 := key(t, 1), key(t, 2)
	kr := keyring(t, k1)
	require.NoError(t, s.CreateConnector(ctx, Connector{Name: "shop", SystemIdentifier: 1, Database: "shop",
		SourceURL: srcURL("db1.internal", "shop"), DestinationURL: destURL("copy")}, kr))
	require.NoError(t, s.CreateConnector(ctx, Connector{Name: "other", SystemIdentifier: 2,
		SourceURL: srcURL("db2.internal", "other"), DestinationURL: destURL("other")}, kr))
	version := func(name string) int64 {
		t.Helper()
		v, err := s.CredentialsVersion(ctx, name)
		require.NoError(t, err)
		return v
	}
	require.Equal(t, int64(1), version("shop"))

	// The source only: sealed, the display follows the new host, the
	// version moves, the destination stays.
	v, err := s.SetCredentials(ctx, "shop", rotatedSrcURL("db1b.internal", "shop"), "", kr)
	require.NoError(t, err)
	assert.Equal(t, int64(2), v)
	assert.Equal(t, int64(2), version("shop"))
	// Several in one read, as a worker's credentials watch asks: a
	// connector not in the catalog is absent, not an error.
	all, err := s.CredentialsVersions(ctx, []string{"shop", "other", "nosuch"})
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"shop": 2, "other": 1}, all)
	u, err := s.SourceURL(ctx, "shop", kr)
	require.NoError(t, err)
	assert.Equal(t, rotatedSrcURL("db1b.internal", "shop").Reveal(), u)
	d, err := s.DestinationURL(ctx, "shop", kr)
	require.NoError(t, err)
	assert.Equal(t, destURL("copy").Reveal(), d)
	got, err := s.Get(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, "db1b.internal:6432/shop", got.SourceDisplay)

	// The destination only, under a new current key: the source keeps its
	// key, the destination is under the new one and opens with it alone.
	rotating := keyring(t, k2, k1)
	v, err = s.SetCredentials(ctx, "shop", "", rotatedDestURL("copy"), rotating)
	require.NoError(t, err)
	assert.Equal(t, int64(3), v)
	d, err = s.DestinationURL(ctx, "shop", keyring(t, k2))
	require.NoError(t, err)
	assert.Equal(t, rotatedDestURL("copy").Reveal(), d)
	got, err = s.Get(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, k1.ID(), got.KeyID, "the source was not re-sealed")
	_, err = s.DestinationURL(ctx, "shop", keyring(t, key(t, 3)))
	require.ErrorIs(t, err, secrets.ErrUnknownKey, "a stranger's key does not open it")

	// Both, and the other connector never moved.
	v, err = s.SetCredentials(ctx, "shop", srcURL("db1.internal", "shop"), destURL("copy"), rotating)
	require.NoError(t, err)
	assert.Equal(t, int64(4), v)
	assert.Equal(t, int64(1), version("other"))
	u, err = s.SourceURL(ctx, "other", kr)
	require.NoError(t, err)
	assert.Equal(t, srcURL("db2.internal", "other").Reveal(), u)
	d, err = s.DestinationURL(ctx, "other", kr)
	require.NoError(t, err)
	assert.Equal(t, destURL("other").Reveal(), d)

	// The new ciphertexts are bound to their row and column as before.
	_, err = s.pool.Exec(ctx, `UPDATE ardent.connectors SET source_sealed = (SELECT source_sealed FROM ardent.connectors WHERE name = 'shop'),
		source_key_id = (SELECT source_key_id FROM ardent.connectors WHERE name = 'shop') WHERE name = 'other'`)
	require.NoError(t, err)
	_, err = s.SourceURL(ctx, "other", rotating)
	require.ErrorIs(t, err, secrets.ErrOpen, "shop's new ciphertext does not open as other's")

	// What is refused changes nothing.
	refused := []struct {
		name, why string
		src, dst  secrets.Secret
		want      error
	}{
		{"nosuch", "unknown", rotatedSrcURL("x", "nosuch"), "", ErrNotFound},
		{"shop", "neither", "", "", nil},
		{"shop", "another database", rotatedSrcURL("db1.internal", "shop2"), "", nil},
		{"shop", "not a connection string", "postgres://u:" + newPassword + "@host:notaport/shop", "", nil},
	}
	for _, r := range refused {
		_, err := s.SetCredentials(ctx, r.name, r.src, r.dst, rotating)
		require.Error(t, err, r.why)
		if r.want != nil {
			require.ErrorIs(t, err, r.want, r.why)
		}
		assert.NotContains(t, err.Error(), newPassword, r.why)
	}
	assert.Equal(t, int64(4), version("shop"))
	u, err = s.SourceURL(ctx, "shop", rotating)
	require.NoError(t, err)
	assert.Equal(t, srcURL("db1.internal", "shop").Reveal(), u)

	// A dropped connector's credentials are kept for cleanup, not changed.
	require.NoError(t, s.MarkDropped(ctx, "shop"))
	_, err = s.SetCredentials(ctx, "shop", rotatedSrcURL("db1.internal", "shop"), "", rotating)
	require.ErrorIs(t, err, ErrDropped)
	assert.Equal(t, int64(4), version("shop"))
	_, err = s.CredentialsVersion(ctx, "nosuch")
	require.ErrorIs(t, err, ErrNotFound)

	// Nothing in the catalog holds the new password in clear.
	_, err = s.SetCredentials(ctx, "other", rotatedSrcURL("db2.internal", "other"), rotatedDestURL("other"), rotating)
	require.NoError(t, err)
	hits, _ := scanForPlaintext(t, cl.Connect(t, "catalog"), []string{newPassword, "user=writer2", "db2.internal:6432/other?"})
	assert.Empty(t, hits)
}

// TestMigrationKeepsExistingConnectors: a catalog made by the release
// before migration 3 keeps its connectors, each at credentials version 1.
func TestMigrationKeepsExistingConnectors(t *testing.T) {
	cl := pgtest.Start(t, pgtest.Options{WalLevel: "replica"})
	cl.CreateDatabase(t, "catalog")
	ctx := context.Background()
	s, err := Open(ctx, cl.URL("catalog"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(s.Close)
	all := migrations
	migrations = all[:2]
	err = s.Migrate(ctx)
	migrations = all
	require.NoError(t, err)
	_, err = s.pool.Exec(ctx, `INSERT INTO ardent.connectors (name, source_display, system_identifier, database,
    source_key_id, source_sealed, slot_name) VALUES ('old', 'h:5432/db', 1, 'db', 'k', '\x00', 'ardent_old')`)
	require.NoError(t, err)
	_, err = s.CredentialsVersion(ctx, "old")
	require.Error(t, err, "no credentials_version before migration 3")

	require.NoError(t, s.Migrate(ctx))
	v, err := s.CredentialsVersion(ctx, "old")
	require.NoError(t, err)
	assert.Equal(t, int64(1), v)
}
