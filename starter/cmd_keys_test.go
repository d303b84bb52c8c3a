package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/secrets"
)

func runKeysCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	c := newCLI(&out, &errOut)
	root := newRootCmd(c)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	code = 0
	if err != nil {
		errOut.WriteString(err.Error())
		code = 1
	}
	return out.String(), errOut.String(), code
}

func TestKeysGenerate(t *testing.T) {
	seen := map[string]bool{}
	for range 2 {
		stdout, stderr, code := runKeysCLI(t, "keys", "generate")
		require.Equal(t, 0, code, stderr)
		assert.Empty(t, stderr)
		require.True(t, strings.HasSuffix(stdout, "\n"))
		line := strings.TrimSuffix(stdout, "\n")
		assert.NotContains(t, line, "\n", "one line, nothing else")
		raw, err := base64.StdEncoding.DecodeString(line)
		require.NoError(t, err)
		assert.Len(t, raw, 32)
		_, err = secrets.ParseKey(line)
		require.NoError(t, err)
		seen[line] = true
	}
	assert.Len(t, seen, 2, "every key is new")
}

func TestKeysRotate(t *testing.T) {
	cl := pgtest.Start(t, pgtest.Options{WalLevel: "replica"})
	cl.CreateDatabase(t, "catalog")
	ctx := context.Background()

	oldKey, err := secrets.GenerateKey()
	require.NoError(t, err)
	newKey, err := secrets.GenerateKey()
	require.NoError(t, err)
	oldKR, err := secrets.NewKeyring(oldKey)
	require.NoError(t, err)

	cat, err := catalog.Open(ctx, cl.URL("catalog"), nil)
	require.NoError(t, err)
	defer cat.Close()
	require.NoError(t, cat.Migrate(ctx))
	for i, name := range []string{"one", "two"} {
		require.NoError(t, cat.CreateConnector(ctx, catalog.Connector{
			Name: name, SystemIdentifier: uint64(i + 1),
			SourceURL: secrets.Secret("postgres://u:pw-rotate-cli@db/" + name),
		}, oldKR))
	}

	t.Setenv("ARDENT_CATALOG_URL", cl.URL("catalog"))
	t.Setenv("ARDENT_MASTER_KEY", secrets.EncodeKey(newKey))
	t.Setenv("ARDENT_MASTER_KEY_FILE", "")

	t.Setenv("ARDENT_OLD_MASTER_KEYS", "")
	_, stderr, code := runKeysCLI(t, "keys", "rotate")
	assert.Equal(t, 1, code, "without the old key nothing can be opened")
	assert.Contains(t, stderr, oldKey.ID())
	assert.NotContains(t, stderr, "pw-rotate-cli")

	t.Setenv("ARDENT_OLD_MASTER_KEYS", secrets.EncodeKey(oldKey))
	stdout, stderr, code := runKeysCLI(t, "keys", "rotate")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "re-sealed 2 connector(s) under key "+newKey.ID()+"\n", stdout)

	stdout, _, code = runKeysCLI(t, "keys", "rotate")
	require.Equal(t, 0, code)
	assert.Equal(t, "re-sealed 0 connector(s) under key "+newKey.ID()+"\n", stdout)

	newOnly, err := secrets.NewKeyring(newKey)
	require.NoError(t, err)
	u, err := cat.SourceURL(ctx, "two", newOnly)
	require.NoError(t, err)
	assert.Equal(t, "postgres://u:pw-rotate-cli@db/two", u)
}
