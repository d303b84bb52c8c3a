package catalog

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// password is distinctive so a scan for it cannot match by accident.
const password = "Pw-7f3c9e1d-catalog-s3cret"

func key(t *testing.T, fill byte) secrets.Key {
	t.Helper()
	k, err := secrets.NewKey(bytes.Repeat([]byte{fill}, secrets.KeySize))
	require.NoError(t, err)
	return k
}

func keyring(t *testing.T, current secrets.Key, previous ...secrets.Key) *secrets.Keyring {
	t.Helper()
	kr, err := secrets.NewKeyring(current, previous...)
	require.NoError(t, err)
	return kr
}

func srcURL(host, db string) secrets.Secret {
	return secrets.Secret(fmt.Sprintf("postgres://ardent:%s@%s:5432/%s?sslmode=require", password, host, db))
}

func destURL(db string) secrets.Secret {
	return secrets.Secret(fmt.Sprintf("host=dest.internal port=5433 dbname=%s user=writer password=%s", db, password))
}

// newStore starts a cluster with a fresh catalog database, migrated.
func newStore(t *testing.T) (*Store, *pgtest.Cluster) {
	t.Helper()
	cl := pgtest.Start(t, pgtest.Options{WalLevel: "replica"})
	cl.CreateDatabase(t, "catalog")
	ctx := context.Background()
	s, err := Open(ctx, cl.URL("catalog"), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(s.Close)
	require.NoError(t, s.Migrate(ctx))
	return s, cl
}

func TestMigrateConcurrentAndIdempotent(t *testing.T) {
	cl := pgtest.Start(t, pgtest.Options{WalLevel: "replica"})
	cl.CreateDatabase(t, "catalog")
	ctx := context.Background()
	const workers = 4
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for i := range workers {
		wg.Go(func() {
			s, err := Open(ctx, cl.URL("catalog"), nil)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			errs[i] = s.Migrate(ctx)
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	s, err := Open(ctx, cl.URL("catalog"), nil)
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.Migrate(ctx), "again, after the fact")
	var applied int
	require.NoError(t, s.pool.QueryRow(ctx, `SELECT count(*) FROM ardent.schema_migrations`).Scan(&applied))
	assert.Equal(t, len(migrations), applied)
}

func TestOpenErrorsHideCredentials(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, url, want string
	}{
		{"empty", "", "ARDENT_CATALOG_URL"},
		{"malformed", "postgres://u:" + password + "@host:notaport/db", "not a valid"},
		{"unreachable", "postgres://u:" + password + "@127.0.0.1:1/db?connect_timeout=2", "127.0.0.1:1/db"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(ctx, tc.url, nil)
			require.ErrorContains(t, err, tc.want)
			assert.NotContains(t, err.Error(), password)
		})
	}
}

func TestConnectorLifecycle(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	kr := keyring(t, key(t, 1))

	shop := Connector{
		Name: "shop", SystemIdentifier: 7301234567890123456, Database: "shop",
		SourceURL: srcURL("db1.internal", "shop"), DestinationURL: destURL("shop_copy"),
		Selection: Selection{Schemas: []string{"public"}, ExcludeTables: []string{"public.audit"}, ReplicaIdentityFull: []string{"public.tags"}},
	}
	require.NoError(t, s.CreateConnector(ctx, shop, kr))
	require.NoError(t, s.CreateConnector(ctx, shop, kr), "a retry with the same source is a no-op")

	got, err := s.Get(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, "db1.internal:5432/shop", got.SourceDisplay)
	assert.Equal(t, uint64(7301234567890123456), got.SystemIdentifier, "full uint64 range survives")
	assert.Equal(t, "ardent_shop", got.SlotName)
	assert.Equal(t, shop.Selection, got.Selection)
	assert.Equal(t, kr.CurrentID(), got.KeyID)
	assert.Empty(t, got.SourceURL)
	assert.Nil(t, got.Schema)
	assert.Nil(t, got.DroppedAt)

	u, err := s.SourceURL(ctx, "shop", kr)
	require.NoError(t, err)
	assert.Equal(t, shop.SourceURL.Reveal(), u)
	d, err := s.DestinationURL(ctx, "shop", kr)
	require.NoError(t, err)
	assert.Equal(t, shop.DestinationURL.Reveal(), d)

	// Conflicts.
	other := shop
	other.SystemIdentifier = 42
	err = s.CreateConnector(ctx, other, kr)
	require.ErrorIs(t, err, ErrNameTaken)
	assert.Contains(t, err.Error(), "db1.internal:5432/shop")
	assert.NotContains(t, err.Error(), password)

	dup := shop
	dup.Name = "shop-2"
	err = s.CreateConnector(ctx, dup, kr)
	require.ErrorIs(t, err, ErrDuplicateSource)
	assert.Contains(t, err.Error(), `"shop"`)
	assert.NotContains(t, err.Error(), password)

	_, err = s.Get(ctx, "nope")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = s.SourceURL(ctx, "nope", kr)
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, s.MarkDropped(ctx, "nope"), ErrNotFound)

	name, found, err := s.LookupSource(ctx, 7301234567890123456, "shop")
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, "shop", name)
	_, found, err = s.LookupSource(ctx, 7301234567890123456, "other")
	require.NoError(t, err)
	assert.False(t, found)

	// Schema.
	tables := []schema.Table{{Schema: "public", Name: "orders", OID: 16384, Kind: "r",
		Columns:  []schema.Column{{Name: "id", Type: "bigint", TypeOID: 20, NotNull: true, Key: true}},
		Identity: schema.IdentityPrimaryKey, KeyColumns: []string{"id"}, EstimatedRows: 10}}
	require.NoError(t, s.SetSchema(ctx, "shop", tables))
	got, err = s.Get(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, tables, got.Schema)
	assert.True(t, got.UpdatedAt.After(got.CreatedAt) || got.UpdatedAt.Equal(got.CreatedAt))

	// One table at a time: added, replaced, removed; the selection.
	items := schema.Table{Schema: "public", Name: "items", OID: 16400, Kind: "r", Identity: schema.IdentityFull}
	require.NoError(t, s.PutSchemaTable(ctx, "shop", items))
	items.EstimatedRows = 5
	require.NoError(t, s.PutSchemaTable(ctx, "shop", items))
	got, err = s.Get(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, append(slices.Clone(tables), items), got.Schema)
	require.NoError(t, s.RemoveSchemaTables(ctx, "shop", []string{"public.orders"}))
	got, err = s.Get(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, []schema.Table{items}, got.Schema)
	require.NoError(t, s.RemoveSchemaTables(ctx, "shop", []string{"public.items"}))
	got, err = s.Get(ctx, "shop")
	require.NoError(t, err)
	assert.Empty(t, got.Schema)
	require.NoError(t, s.SetSchema(ctx, "shop", tables))
	sel := got.Selection
	sel.Tables = append(sel.Tables, "other.t")
	require.NoError(t, s.SetSelection(ctx, "shop", sel))
	got, err = s.Get(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, sel, got.Selection)

	// A connector without destination.
	bare := Connector{Name: "bare", SystemIdentifier: 99, SourceURL: srcURL("db2.internal", "app")}
	require.NoError(t, s.CreateConnector(ctx, bare, kr))
	_, err = s.DestinationURL(ctx, "bare", kr)
	require.ErrorContains(t, err, "none stored")
	got, err = s.Get(ctx, "bare")
	require.NoError(t, err)
	assert.Equal(t, "app", got.Database, "database defaults to the URL's")

	// Drop frees the source; dropping twice keeps the first time.
	require.NoError(t, s.MarkDropped(ctx, "shop"))
	first, err := s.Get(ctx, "shop")
	require.NoError(t, err)
	require.NotNil(t, first.DroppedAt)
	require.NoError(t, s.MarkDropped(ctx, "shop"))
	again, err := s.Get(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, first.DroppedAt, again.DroppedAt)
	_, found, err = s.LookupSource(ctx, 7301234567890123456, "shop")
	require.NoError(t, err)
	assert.False(t, found)
	_, err = s.SourceURL(ctx, "shop", kr)
	require.NoError(t, err, "a dropped connector's credentials stay readable for cleanup")

	require.NoError(t, s.CreateConnector(ctx, dup, kr), "the source is free again")
	// The dropped name can be reused, for another source too.
	reuse := Connector{Name: "shop", SystemIdentifier: 5, SourceURL: srcURL("db3.internal", "shop")}
	require.NoError(t, s.CreateConnector(ctx, reuse, kr))
	got, err = s.Get(ctx, "shop")
	require.NoError(t, err)
	assert.Nil(t, got.DroppedAt)
	assert.Equal(t, "db3.internal:5432/shop", got.SourceDisplay)
	assert.Nil(t, got.Schema, "the old schema went with the old connector")
}

func TestSealedValuesAreBoundToTheirRow(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	kr := keyring(t, key(t, 1))
	require.NoError(t, s.CreateConnector(ctx, Connector{Name: "a", SystemIdentifier: 1, SourceURL: srcURL("a", "a"), DestinationURL: destURL("a")}, kr))
	require.NoError(t, s.CreateConnector(ctx, Connector{Name: "b", SystemIdentifier: 2, SourceURL: srcURL("b", "b")}, kr))
	_, err := s.pool.Exec(ctx, `UPDATE ardent.connectors SET source_sealed = (SELECT source_sealed FROM ardent.connectors WHERE name = 'a') WHERE name = 'b'`)
	require.NoError(t, err)
	_, err = s.SourceURL(ctx, "b", kr)
	require.ErrorIs(t, err, secrets.ErrOpen, "a's ciphertext does not open as b's")
	_, err = s.pool.Exec(ctx, `UPDATE ardent.connectors SET source_sealed = dest_sealed WHERE name = 'a'`)
	require.NoError(t, err)
	_, err = s.SourceURL(ctx, "a", kr)
	require.ErrorIs(t, err, secrets.ErrOpen, "the destination column does not open as the source")
}

func TestRotateKeys(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	k1, k2 := key(t, 1), key(t, 2)
	old := keyring(t, k1)
	for i, name := range []string{"alpha", "beta", "gamma"} {
		c := Connector{Name: name, SystemIdentifier: uint64(i + 1), SourceURL: srcURL(name, name)}
		if name != "beta" {
			c.DestinationURL = destURL(name)
		}
		require.NoError(t, s.CreateConnector(ctx, c, old))
	}
	require.NoError(t, s.MarkDropped(ctx, "gamma"))

	onlyNew := keyring(t, k2)
	_, err := s.RotateKeys(ctx, onlyNew)
	require.ErrorIs(t, err, secrets.ErrUnknownKey, "without the old key nothing can be re-sealed")
	got, err := s.Get(ctx, "alpha")
	require.NoError(t, err)
	assert.Equal(t, k1.ID(), got.KeyID, "a failed rotation changes nothing")

	rotating := keyring(t, k2, k1)
	n, err := s.RotateKeys(ctx, rotating)
	require.NoError(t, err)
	assert.Equal(t, 3, n, "dropped connectors too")
	n, err = s.RotateKeys(ctx, rotating)
	require.NoError(t, err)
	assert.Equal(t, 0, n)

	for _, name := range []string{"alpha", "beta", "gamma"} {
		u, err := s.SourceURL(ctx, name, onlyNew)
		require.NoError(t, err, name)
		assert.Equal(t, srcURL(name, name).Reveal(), u)
		got, err := s.Get(ctx, name)
		require.NoError(t, err)
		assert.Equal(t, k2.ID(), got.KeyID)
	}
	d, err := s.DestinationURL(ctx, "alpha", onlyNew)
	require.NoError(t, err)
	assert.Equal(t, destURL("alpha").Reveal(), d)
	_, err = s.SourceURL(ctx, "alpha", old)
	require.ErrorIs(t, err, secrets.ErrUnknownKey)
	assert.Contains(t, err.Error(), "ARDENT_OLD_MASTER_KEYS")
}

// TestCatalogNeverHoldsPlaintext scans every column of every row of every
// table in schema ardent, as text, for the password in the forms it could be
// stored in.
func TestCatalogNeverHoldsPlaintext(t *testing.T) {
	s, cl := newStore(t)
	ctx := context.Background()
	k1, k2 := key(t, 1), key(t, 2)
	require.NoError(t, s.CreateConnector(ctx, Connector{
		Name: "shop", SystemIdentifier: 1, SourceURL: srcURL("db.internal", "shop"), DestinationURL: destURL("copy"),
		Selection: Selection{Schemas: []string{"public"}},
	}, keyring(t, k1)))
	require.NoError(t, s.SetSchema(ctx, "shop", []schema.Table{{Schema: "public", Name: "t"}}))
	require.NoError(t, s.CreateConnector(ctx, Connector{Name: "other", SystemIdentifier: 2, SourceURL: srcURL("db2.internal", "x")}, keyring(t, k1)))
	_, err := s.RotateKeys(ctx, keyring(t, k2, k1))
	require.NoError(t, err)

	forms := []string{
		password,
		hex.EncodeToString([]byte(password)),
		base64.StdEncoding.EncodeToString([]byte(password)),
		"db.internal:5432/shop?", // the URL beyond host:port/db
		"user=writer",
	}
	conn := cl.Connect(t, "catalog")
	hits, scanned := scanForPlaintext(t, conn, forms)
	assert.Empty(t, hits)
	assert.GreaterOrEqual(t, scanned, 3, "connectors and migrations rows were scanned")

	// Control: the scan does find plaintext where there is some.
	_, err = conn.Exec(ctx, "UPDATE ardent.connectors SET source_display = $1 WHERE name = 'other'", "leaked "+password)
	require.NoError(t, err)
	hits, _ = scanForPlaintext(t, conn, forms)
	assert.NotEmpty(t, hits)
}

func scanForPlaintext(t *testing.T, conn *pgx.Conn, forms []string) (hits []string, scanned int) {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'ardent'`)
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Contains(t, tables, "connectors")
	for _, tbl := range tables {
		rows, err := conn.Query(ctx, fmt.Sprintf(`SELECT t::text FROM ardent.%s t`, schema.QuoteIdent(tbl)))
		require.NoError(t, err)
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		for _, text := range texts {
			scanned++
			for _, f := range forms {
				if strings.Contains(strings.ToLower(text), strings.ToLower(f)) {
					hits = append(hits, tbl+": "+f)
				}
			}
		}
	}
	return hits, scanned
}
