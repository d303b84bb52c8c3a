package secrets

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

// Key is one master key. Its material never leaves the package: String,
// GoString and LogValue print only the id.
type Key struct {
	id       string
	material [KeySize]byte
}

// ID is the key id stored beside everything this key seals.
func (k Key) ID() string { return k.id }

// String prints the id only.
func (k Key) String() string { return "key:" + k.id }

// GoString keeps %#v from printing the material.
func (k Key) GoString() string { return "secrets.Key{" + k.id + "}" }

// LogValue keeps slog from printing the material.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.id) }

// NewKey builds a key from exactly 32 bytes.
func NewKey(material []byte) (Key, error) {
	if len(material) != KeySize {
		return Key{}, fmt.Errorf("master key must be %d bytes, got %d", KeySize, len(material))
	}
	var k Key
	copy(k.material[:], material)
	sum := sha256.Sum256(k.material[:])
	k.id = hex.EncodeToString(sum[:])[:8]
	return k, nil
}

// GenerateKey returns a new random key.
func GenerateKey() (Key, error) {
	var b [KeySize]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Key{}, fmt.Errorf("generate master key: %w", err)
	}
	return NewKey(b[:])
}

// EncodeKey returns the base64 form ARDENT_MASTER_KEY expects. It exists
// for `ardent keys generate` and tests; nothing else should need it.
func EncodeKey(k Key) string { return base64.StdEncoding.EncodeToString(k.material[:]) }

// ParseKey decodes base64 (standard or URL alphabet, padded or not) of
// exactly 32 bytes. Errors describe the problem, never the input.
func ParseKey(b64 string) (Key, error) {
	s := strings.TrimSpace(b64)
	if s == "" {
		return Key{}, errors.New("master key is empty")
	}
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return Key{}, errors.New("master key is not valid base64 (generate one with `ardent keys generate`)")
	}
	if len(raw) != KeySize {
		return Key{}, fmt.Errorf("master key decodes to %d bytes, want %d (generate one with `ardent keys generate`)", len(raw), KeySize)
	}
	return NewKey(raw)
}

// LoadMasterKey reads the current key from exactly one of b64 (the value of
// ARDENT_MASTER_KEY) or file (ARDENT_MASTER_KEY_FILE, holding the base64
// text). A file readable by group or others is refused.
func LoadMasterKey(b64, file string) (Key, error) {
	switch {
	case b64 != "" && file != "":
		return Key{}, errors.New("both ARDENT_MASTER_KEY and ARDENT_MASTER_KEY_FILE are set: set exactly one")
	case b64 == "" && file == "":
		return Key{}, errors.New("no master key: set ARDENT_MASTER_KEY (base64 of 32 random bytes, see `ardent keys generate`) or ARDENT_MASTER_KEY_FILE; Ardent refuses to store credentials unencrypted")
	case b64 != "":
		k, err := ParseKey(b64)
		if err != nil {
			return Key{}, fmt.Errorf("ARDENT_MASTER_KEY: %w", err)
		}
		return k, nil
	}
	return loadKeyFile(file)
}

func loadKeyFile(file string) (Key, error) {
	st, err := os.Stat(file)
	if err != nil {
		return Key{}, fmt.Errorf("master key file %s: %w", file, err)
	}
	if !st.Mode().IsRegular() {
		return Key{}, fmt.Errorf("master key file %s is not a regular file", file)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return Key{}, fmt.Errorf("master key file %s has mode %04o: group and others must have no access (chmod 600 %s)", file, perm, file)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return Key{}, fmt.Errorf("read master key file %s: %w", file, err)
	}
	k, err := ParseKey(string(b))
	if err != nil {
		return Key{}, fmt.Errorf("master key file %s: %w", file, err)
	}
	return k, nil
}
