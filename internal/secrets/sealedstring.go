package secrets

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// SealedStringPrefix marks a string sealed by SealString. Connection URLs
// travel through Temporal in this form: the payload codec encrypts every
// payload, but whoever holds the codec token sees payloads decoded in the
// Web UI, and a password must not be among what they see.
const SealedStringPrefix = "ardent-sealed:v1:"

// IsSealedString reports whether s is in SealString's form.
func IsSealedString(s string) bool { return strings.HasPrefix(s, SealedStringPrefix) }

// SealString seals plaintext under the current key for purpose (bound as
// additional data, so a value sealed for one purpose does not open as
// another): "ardent-sealed:v1:<key id>:<base64url ciphertext>".
func (kr *Keyring) SealString(plaintext, purpose string) (string, error) {
	s, err := kr.Seal([]byte(plaintext), []byte("ardent/"+purpose))
	if err != nil {
		return "", err
	}
	return SealedStringPrefix + s.KeyID + ":" + base64.RawURLEncoding.EncodeToString(s.Ciphertext), nil
}

// OpenString opens a value sealed by SealString for purpose.
func (kr *Keyring) OpenString(sealed, purpose string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, SealedStringPrefix)
	if !ok {
		return "", errors.New("open sealed string: not a sealed value")
	}
	id, b64, ok := strings.Cut(rest, ":")
	if !ok {
		return "", fmt.Errorf("open sealed string: malformed: %w", ErrOpen)
	}
	ct, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		return "", fmt.Errorf("open sealed string: malformed: %w", ErrOpen)
	}
	pt, err := kr.Open(Sealed{KeyID: id, Ciphertext: ct}, []byte("ardent/"+purpose))
	if err != nil {
		return "", err
	}
	return string(pt), nil
}
