package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRefusesToStartWithoutKey: without a master key the worker stops
// before it connects to anything, rather than store credentials in clear.
func TestRefusesToStartWithoutKey(t *testing.T) {
	t.Setenv("ARDENT_MASTER_KEY", "")
	t.Setenv("ARDENT_MASTER_KEY_FILE", "")
	t.Setenv("ARDENT_CATALOG_URL", "postgres://ardent@127.0.0.1:1/catalog")
	err := run(context.Background(), nil)
	require.ErrorContains(t, err, "no master key")
	require.ErrorContains(t, err, "refuses to store credentials unencrypted")
}

func TestRefusesAMalformedKey(t *testing.T) {
	t.Setenv("ARDENT_MASTER_KEY", "not-base64-of-32-bytes")
	t.Setenv("ARDENT_MASTER_KEY_FILE", "")
	t.Setenv("ARDENT_CATALOG_URL", "postgres://ardent@127.0.0.1:1/catalog")
	err := run(context.Background(), nil)
	require.ErrorContains(t, err, "master key")
	require.NotContains(t, err.Error(), "not-base64-of-32-bytes", "the key is never echoed")
}
