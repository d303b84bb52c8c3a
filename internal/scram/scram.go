package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

const (
	// Prefix starts every SCRAM-SHA-256 verifier.
	Prefix = "SCRAM-SHA-256$"
	// Iterations is PostgreSQL's default (scram_iterations).
	Iterations = 4096
	// SaltLen is the salt PostgreSQL generates (SCRAM_DEFAULT_SALT_LEN).
	SaltLen = 16
	keyLen  = sha256.Size
)

var (
	// ErrEmpty: PostgreSQL refuses an empty password, and so does Ardent.
	ErrEmpty = errors.New("the password is empty")
	// ErrNotNormalized: SASLprep would change the password (see doc.go).
	ErrNotNormalized = errors.New("the password holds Unicode text that SASLprep normalises " +
		"(compatibility characters, non-ASCII spaces, or invisible characters such as a soft hyphen): " +
		"PostgreSQL clients would log in with a different password than the one hashed; choose another")
)

// Verifier returns the SCRAM-SHA-256 verifier of password with a fresh
// random salt and PostgreSQL's default iteration count.
func Verifier(password string) (string, error) {
	salt := make([]byte, SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("scram: random salt: %w", err)
	}
	return Build(password, salt, Iterations)
}

// Build returns the verifier of password for a given salt and iteration
// count: deterministic, for tests and for checking a verifier.
func Build(password string, salt []byte, iterations int) (string, error) {
	if err := CheckPassword(password); err != nil {
		return "", err
	}
	if len(salt) == 0 || iterations < 1 {
		return "", errors.New("scram: empty salt or no iterations")
	}
	stored, server, err := keys(password, salt, iterations)
	if err != nil {
		return "", err
	}
	b64 := base64.StdEncoding.EncodeToString
	return fmt.Sprintf("%s%d:%s$%s:%s", Prefix, iterations, b64(salt), b64(stored), b64(server)), nil
}

func keys(password string, salt []byte, iterations int) (stored, server []byte, err error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iterations, keyLen)
	if err != nil {
		return nil, nil, fmt.Errorf("scram: pbkdf2: %w", err)
	}
	clientKey := mac(salted, "Client Key")
	sum := sha256.Sum256(clientKey)
	return sum[:], mac(salted, "Server Key"), nil
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// CheckPassword tells whether a verifier of password would let a client
// log in with it: not empty, and unchanged by SASLprep.
func CheckPassword(password string) error {
	if password == "" {
		return ErrEmpty
	}
	for _, r := range password {
		if r > unicode.MaxASCII && (unicode.Is(mappedToNothing, r) || unicode.Is(nonASCIISpace, r)) {
			return ErrNotNormalized
		}
	}
	if !norm.NFKC.IsNormalString(password) {
		return ErrNotNormalized
	}
	return nil
}

// Parsed is a verifier's parts.
type Parsed struct {
	Iterations           int
	Salt                 []byte
	StoredKey, ServerKey []byte
}

// Parse splits a verifier into its parts, checking each as PostgreSQL's
// parse_scram_secret does; a string that fails here is, for PostgreSQL, a
// clear-text password.
func Parse(v string) (Parsed, error) {
	var p Parsed
	bad := errors.New("not a SCRAM-SHA-256 verifier (SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>)")
	rest, ok := strings.CutPrefix(v, Prefix)
	// Go's base64 skips line breaks; a verifier never holds any.
	if !ok || strings.ContainsAny(rest, " \t\r\n") {
		return p, bad
	}
	iterSalt, keysPart, ok := strings.Cut(rest, "$")
	if !ok {
		return p, bad
	}
	iter, salt, ok1 := strings.Cut(iterSalt, ":")
	stored, server, ok2 := strings.Cut(keysPart, ":")
	if !ok1 || !ok2 {
		return p, bad
	}
	n, err := strconv.Atoi(iter)
	if err != nil || n < 1 {
		return p, bad
	}
	p.Iterations = n
	dec := base64.StdEncoding.DecodeString
	if p.Salt, err = dec(salt); err != nil || len(p.Salt) == 0 {
		return p, bad
	}
	if p.StoredKey, err = dec(stored); err != nil || len(p.StoredKey) != keyLen {
		return p, bad
	}
	if p.ServerKey, err = dec(server); err != nil || len(p.ServerKey) != keyLen {
		return p, bad
	}
	return p, nil
}

// IsVerifier reports whether v is a well-formed SCRAM-SHA-256 verifier.
func IsVerifier(v string) bool {
	_, err := Parse(v)
	return err == nil
}

// Matches reports whether verifier v was made from password.
func Matches(v, password string) bool {
	p, err := Parse(v)
	if err != nil || password == "" {
		return false
	}
	stored, server, err := keys(password, p.Salt, p.Iterations)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(stored, p.StoredKey)&subtle.ConstantTimeCompare(server, p.ServerKey) == 1
}

// RFC 3454 table B.1 (commonly mapped to nothing) and C.1.2 (non-ASCII
// space characters): SASLprep's mapping step changes them.
var (
	mappedToNothing = &unicode.RangeTable{R16: []unicode.Range16{
		{Lo: 0x00ad, Hi: 0x00ad, Stride: 1}, {Lo: 0x034f, Hi: 0x034f, Stride: 1},
		{Lo: 0x1806, Hi: 0x1806, Stride: 1}, {Lo: 0x180b, Hi: 0x180d, Stride: 1},
		{Lo: 0x200b, Hi: 0x200d, Stride: 1}, {Lo: 0x2060, Hi: 0x2060, Stride: 1},
		{Lo: 0xfe00, Hi: 0xfe0f, Stride: 1}, {Lo: 0xfeff, Hi: 0xfeff, Stride: 1},
	}}
	nonASCIISpace = &unicode.RangeTable{R16: []unicode.Range16{
		{Lo: 0x00a0, Hi: 0x00a0, Stride: 1}, {Lo: 0x1680, Hi: 0x1680, Stride: 1},
		{Lo: 0x2000, Hi: 0x200b, Stride: 1}, {Lo: 0x202f, Hi: 0x202f, Stride: 1},
		{Lo: 0x205f, Hi: 0x205f, Stride: 1}, {Lo: 0x3000, Hi: 0x3000, Stride: 1},
	}}
)
