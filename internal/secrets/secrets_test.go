package secrets

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustKey(t *testing.T, fill byte) Key {
	t.Helper()
	k, err := NewKey(bytes.Repeat([]byte{fill}, KeySize))
	require.NoError(t, err)
	return k
}

func TestKeyID(t *testing.T) {
	// sha256 of 32 zero bytes is 66687aad...; the id is its first 8 hex chars,
	// which is what the doc's shell one-liner prints.
	k := mustKey(t, 0)
	assert.Equal(t, "66687aad", k.ID())
}

func TestParseKey(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, KeySize)
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"std", base64.StdEncoding.EncodeToString(raw), ""},
		{"raw std with newline", base64.RawStdEncoding.EncodeToString(raw) + "\n", ""},
		{"url", base64.URLEncoding.EncodeToString(raw), ""},
		{"empty", "  ", "empty"},
		{"not base64", "not*base64!", "not valid base64"},
		{"short", base64.StdEncoding.EncodeToString(raw[:16]), "decodes to 16 bytes, want 32"},
		{"long", base64.StdEncoding.EncodeToString(append(raw, 1)), "decodes to 33 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := ParseKey(tc.in)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				if in := strings.TrimSpace(tc.in); len(in) > 4 {
					assert.NotContains(t, err.Error(), in, "error must not echo the input")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, mustKey(t, 7).ID(), k.ID())
		})
	}
}

func TestLoadMasterKey(t *testing.T) {
	good := EncodeKey(mustKey(t, 3))
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), mode))
		require.NoError(t, os.Chmod(p, mode)) // umask-independent
		return p
	}
	private := write("private", good+"\n", 0o600)
	groupReadable := write("group", good, 0o640)
	worldReadable := write("world", good, 0o604)
	badContent := write("bad", "hello", 0o400)

	tests := []struct {
		name    string
		b64     string
		file    string
		wantErr string
	}{
		{"env", good, "", ""},
		{"file", "", private, ""},
		{"both", good, private, "set exactly one"},
		{"neither", "", "", "no master key"},
		{"group readable file", "", groupReadable, "mode 0640"},
		{"world readable file", "", worldReadable, "mode 0604"},
		{"missing file", "", filepath.Join(dir, "nope"), "no such file"},
		{"bad file content", "", badContent, "not valid base64"},
		{"bad env", "abc", "", "ARDENT_MASTER_KEY"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := LoadMasterKey(tc.b64, tc.file)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				assert.NotContains(t, err.Error(), good)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, mustKey(t, 3).ID(), k.ID())
		})
	}
}

func TestSealOpen(t *testing.T) {
	k1, k2, k3 := mustKey(t, 1), mustKey(t, 2), mustKey(t, 3)
	old, err := NewKeyring(k1)
	require.NoError(t, err)
	rotated, err := NewKeyring(k2, k1)
	require.NoError(t, err)
	stranger, err := NewKeyring(k3)
	require.NoError(t, err)

	secret := []byte("postgres://ardent:s3cr3t@db:5432/app")
	aad := []byte("ardent.connectors/shop/source_url")
	sealed, err := old.Seal(secret, aad)
	require.NoError(t, err)
	require.Equal(t, k1.ID(), sealed.KeyID)
	assert.NotContains(t, string(sealed.Ciphertext), "s3cr3t")

	flip := func(i int) Sealed {
		c := bytes.Clone(sealed.Ciphertext)
		c[i] ^= 1
		return Sealed{KeyID: sealed.KeyID, Ciphertext: c}
	}
	tests := []struct {
		name    string
		kr      *Keyring
		in      Sealed
		aad     []byte
		wantErr error
	}{
		{"same keyring", old, sealed, aad, nil},
		{"rotated keyring opens old key", rotated, sealed, aad, nil},
		{"keyring without the key", stranger, sealed, aad, ErrUnknownKey},
		{"wrong key under the right id", stranger, Sealed{KeyID: k3.ID(), Ciphertext: sealed.Ciphertext}, aad, ErrOpen},
		{"tampered nonce", old, flip(0), aad, ErrOpen},
		{"tampered ciphertext", old, flip(nonceSize + 1), aad, ErrOpen},
		{"tampered tag", old, flip(len(sealed.Ciphertext) - 1), aad, ErrOpen},
		{"moved to another row", old, sealed, []byte("ardent.connectors/other/source_url"), ErrOpen},
		{"truncated", old, Sealed{KeyID: k1.ID(), Ciphertext: sealed.Ciphertext[:10]}, aad, ErrOpen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.kr.Open(tc.in, tc.aad)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.NotContains(t, err.Error(), "s3cr3t")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, secret, got)
		})
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	kr, err := NewKeyring(mustKey(t, 1))
	require.NoError(t, err)
	a, err := kr.Seal([]byte("x"), nil)
	require.NoError(t, err)
	b, err := kr.Seal([]byte("x"), nil)
	require.NoError(t, err)
	assert.NotEqual(t, a.Ciphertext, b.Ciphertext)
}

func TestReseal(t *testing.T) {
	k1, k2 := mustKey(t, 1), mustKey(t, 2)
	old, _ := NewKeyring(k1)
	rotated, err := NewKeyring(k2, k1)
	require.NoError(t, err)
	s, err := old.Seal([]byte("pw"), []byte("a"))
	require.NoError(t, err)

	out, changed, err := rotated.Reseal(s, []byte("a"))
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, k2.ID(), out.KeyID)

	again, changed, err := rotated.Reseal(out, []byte("a"))
	require.NoError(t, err)
	assert.False(t, changed)
	assert.Equal(t, out, again)

	onlyNew, _ := NewKeyring(k2)
	pt, err := onlyNew.Open(out, []byte("a"))
	require.NoError(t, err)
	assert.Equal(t, "pw", string(pt))
}

func TestNewKeyring(t *testing.T) {
	k1 := mustKey(t, 1)
	kr, err := NewKeyring(k1, k1, mustKey(t, 2))
	require.NoError(t, err, "repeating a key is harmless")
	assert.Equal(t, k1.ID(), kr.CurrentID())
	assert.True(t, kr.Has(mustKey(t, 2).ID()))

	_, err = NewKeyring(Key{})
	require.Error(t, err)

	collide := mustKey(t, 9)
	collide.id = k1.id
	_, err = NewKeyring(k1, collide)
	require.ErrorContains(t, err, "share id")
}

func TestLoadKeyring(t *testing.T) {
	cur, prev := EncodeKey(mustKey(t, 5)), EncodeKey(mustKey(t, 6))
	kr, err := LoadKeyring(cur, "", []string{prev})
	require.NoError(t, err)
	assert.Equal(t, mustKey(t, 5).ID(), kr.CurrentID())
	assert.True(t, kr.Has(mustKey(t, 6).ID()))

	_, err = LoadKeyring(cur, "", []string{"short"})
	require.ErrorContains(t, err, "previous master key #1")
}

func TestNothingPrintsSecrets(t *testing.T) {
	k := mustKey(t, 0xAB)
	material := EncodeKey(k)
	s := Secret("postgres://u:hunter2@h/db")
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("x", "key", k, "url", s)
	outputs := []string{
		fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k),
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x", s, s, s, s, s, s),
		fmt.Sprintf("%+v", struct{ URL Secret }{s}),
		logBuf.String(),
	}
	for _, out := range outputs {
		assert.NotContains(t, out, "hunter2")
		assert.NotContains(t, out, material)
		assert.NotContains(t, out, "abababab")
	}
	assert.Equal(t, "postgres://u:hunter2@h/db", s.Reveal())
}
