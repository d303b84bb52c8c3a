package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// ErrUnknownKey means a value was sealed under a key the keyring does not
// hold: the key was retired before `ardent keys rotate` re-sealed it, or the
// worker runs with the wrong key.
var ErrUnknownKey = errors.New("sealed under a key this keyring does not hold")

// ErrOpen means authentication failed: the ciphertext, its nonce or its
// additional data were altered, or a different key with a colliding id was
// used.
var ErrOpen = errors.New("sealed value failed authentication (tampered, moved, or wrong key)")

const nonceSize = 12

// Sealed is a ciphertext and the id of the key that sealed it. Ciphertext
// is the nonce followed by the GCM output.
type Sealed struct {
	KeyID      string
	Ciphertext []byte
}

type entry struct {
	key  Key
	aead cipher.AEAD
}

// Keyring seals with its current key and opens with any key it holds.
// It is safe for concurrent use.
type Keyring struct {
	current entry
	byID    map[string]entry
}

// NewKeyring builds a keyring. previous may repeat current or each other
// (ignored); two different keys with the same id are refused.
func NewKeyring(current Key, previous ...Key) (*Keyring, error) {
	kr := &Keyring{byID: map[string]entry{}}
	for i, k := range append([]Key{current}, previous...) {
		if k.id == "" {
			return nil, errors.New("keyring: zero key")
		}
		if e, ok := kr.byID[k.id]; ok {
			if e.key.material != k.material {
				return nil, fmt.Errorf("keyring: two different keys share id %s", k.id)
			}
			continue
		}
		block, err := aes.NewCipher(k.material[:])
		if err != nil {
			return nil, fmt.Errorf("keyring: key %s: %w", k.id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %s: %w", k.id, err)
		}
		e := entry{key: k, aead: aead}
		kr.byID[k.id] = e
		if i == 0 {
			kr.current = e
		}
	}
	return kr, nil
}

// LoadKeyring is what the binaries call with their configuration: the
// current key from exactly one of b64 or file (see LoadMasterKey), and the
// previous keys as base64 strings.
func LoadKeyring(b64, file string, previous []string) (*Keyring, error) {
	cur, err := LoadMasterKey(b64, file)
	if err != nil {
		return nil, err
	}
	old := make([]Key, 0, len(previous))
	for i, p := range previous {
		k, err := ParseKey(p)
		if err != nil {
			return nil, fmt.Errorf("previous master key #%d: %w", i+1, err)
		}
		old = append(old, k)
	}
	return NewKeyring(cur, old...)
}

// CurrentID is the id of the key Seal uses.
func (kr *Keyring) CurrentID() string { return kr.current.key.id }

// Has reports whether the keyring can open values sealed under id.
func (kr *Keyring) Has(id string) bool { _, ok := kr.byID[id]; return ok }

// Seal encrypts plaintext under the current key, bound to aad.
func (kr *Keyring) Seal(plaintext, aad []byte) (Sealed, error) {
	nonce := make([]byte, nonceSize, nonceSize+len(plaintext)+kr.current.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return Sealed{}, fmt.Errorf("seal: nonce: %w", err)
	}
	return Sealed{
		KeyID:      kr.current.key.id,
		Ciphertext: kr.current.aead.Seal(nonce, nonce, plaintext, aad),
	}, nil
}

// Open decrypts s with the key named by s.KeyID, checking aad.
func (kr *Keyring) Open(s Sealed, aad []byte) ([]byte, error) {
	e, ok := kr.byID[s.KeyID]
	if !ok {
		return nil, fmt.Errorf("open: key %q: %w", s.KeyID, ErrUnknownKey)
	}
	if len(s.Ciphertext) < nonceSize+e.aead.Overhead() {
		return nil, fmt.Errorf("open: ciphertext of %d bytes is too short: %w", len(s.Ciphertext), ErrOpen)
	}
	pt, err := e.aead.Open(nil, s.Ciphertext[:nonceSize], s.Ciphertext[nonceSize:], aad)
	if err != nil {
		return nil, fmt.Errorf("open under key %s: %w", s.KeyID, ErrOpen)
	}
	return pt, nil
}

// Reseal opens s and, when it is not already under the current key, seals
// it again under the current key. changed reports whether it did.
func (kr *Keyring) Reseal(s Sealed, aad []byte) (out Sealed, changed bool, err error) {
	if s.KeyID == kr.current.key.id {
		return s, false, nil
	}
	pt, err := kr.Open(s, aad)
	if err != nil {
		return Sealed{}, false, err
	}
	out, err = kr.Seal(pt, aad)
	clear(pt)
	if err != nil {
		return Sealed{}, false, err
	}
	return out, true, nil
}
