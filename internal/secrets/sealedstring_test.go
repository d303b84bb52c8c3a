package secrets

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealString(t *testing.T) {
	k1, err := GenerateKey()
	require.NoError(t, err)
	k2, err := GenerateKey()
	require.NoError(t, err)
	kr, err := NewKeyring(k1)
	require.NoError(t, err)
	const url = "postgres://ardent:Pa55-w0rd@db:5432/app"

	sealed, err := kr.SealString(url, "url")
	require.NoError(t, err)
	require.True(t, IsSealedString(sealed))
	require.NotContains(t, sealed, "Pa55")
	got, err := kr.OpenString(sealed, "url")
	require.NoError(t, err)
	require.Equal(t, url, got)

	tests := []struct {
		name  string
		in    string
		purp  string
		keyed *Keyring
	}{
		{"wrong purpose", sealed, "other", kr},
		{"not sealed", url, "url", kr},
		{"tampered", sealed[:len(sealed)-2] + "AA", "url", kr},
		{"truncated", strings.TrimSuffix(sealed, sealed[len(sealed)-10:]), "url", kr},
		{"no separator", SealedStringPrefix + "abc", "url", kr},
		{"unknown key", sealed, "url", mustKeyring(t, k2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.keyed.OpenString(tt.in, tt.purp)
			require.Error(t, err)
			require.NotContains(t, err.Error(), "Pa55")
		})
	}

	// After rotation the old key still opens it.
	rotated, err := NewKeyring(k2, k1)
	require.NoError(t, err)
	got, err = rotated.OpenString(sealed, "url")
	require.NoError(t, err)
	require.Equal(t, url, got)
}

func mustKeyring(t *testing.T, k Key) *Keyring {
	kr, err := NewKeyring(k)
	require.NoError(t, err)
	return kr
}
