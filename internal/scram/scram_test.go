package scram

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Verifiers PostgreSQL 15 made itself (SET password_encryption =
// 'scram-sha-256'; CREATE ROLE … PASSWORD '…'; SELECT rolpassword FROM
// pg_authid): Build with the same salt must give the same string.
func TestBuildMatchesPostgreSQL(t *testing.T) {
	tests := []struct{ password, verifier string }{
		{"pencil", "SCRAM-SHA-256$4096:Ptt1DvCvFPHRFwCyC7jEmw==$abvxkJVetAWW3TIrLxqP+6kMwd6MFvfsk0hoYxwuJLU=:YRYsrnHaaP29YSxzXMcytb/Pbynwudtn4VSGP+drIyQ="},
		{`it's a "pa$$:w\rd"`, "SCRAM-SHA-256$4096:rE0YKmtua6LS6JZUw7p/BA==$AI6Y/R8N2u2wX8GHLZUs7FrQ+8q3Okt8/Ag2J0Yq3uw=:FVuDG9dvJTsdJoYoqjeJt20JdG3iW41e46Dq8LRgLro="},
		{"pässwörd-€ ü", "SCRAM-SHA-256$4096:da8iNOpKLPQWgk9McTXsRg==$ir70eBDn4uEUlnI1Zk4RtsucyZO8C/X8X1wf6kzql+I=:+wHl1jt56Ux3VXu1KKfp4kLAwEsiGhqrb8S6SeT/F40="},
		{"x", "SCRAM-SHA-256$4096:TMHp7J/GlnspcI/mG1huTg==$mWElswUzwPCVVcJbvdiDU13YimVkpwtS36M1ixjxKwo=:/sLEQ7KWtmwAx2zEpI0bOF4SJDNIPStP6K6oXtz35H4="},
	}
	for _, tt := range tests {
		t.Run(tt.password, func(t *testing.T) {
			p, err := Parse(tt.verifier)
			require.NoError(t, err)
			got, err := Build(tt.password, p.Salt, p.Iterations)
			require.NoError(t, err)
			assert.Equal(t, tt.verifier, got)
			assert.True(t, Matches(tt.verifier, tt.password))
			assert.False(t, Matches(tt.verifier, tt.password+" "))
		})
	}
}

// TestRFC7677 checks the keys against the exchange of RFC 7677 section 3
// (user "user", password "pencil"): the server signature the RFC's server
// sends, and the client proof the RFC's client sends, follow from them.
func TestRFC7677(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	v, err := Build("pencil", salt, 4096)
	require.NoError(t, err)
	p, err := Parse(v)
	require.NoError(t, err)
	nonce := "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	authMessage := "n=user,r=rOprNGfwEbeRWgbNEkqO," +
		"r=" + nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," +
		"c=biws,r=" + nonce
	sign := func(key []byte) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(authMessage))
		return h.Sum(nil)
	}

	assert.Equal(t, "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", base64.StdEncoding.EncodeToString(sign(p.ServerKey)))
	// ClientKey = ClientProof XOR ClientSignature; StoredKey = H(ClientKey).
	proof, _ := base64.StdEncoding.DecodeString("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
	clientKey := sign(p.StoredKey)
	for i := range clientKey {
		clientKey[i] ^= proof[i]
	}
	sum := sha256.Sum256(clientKey)
	assert.Equal(t, p.StoredKey, sum[:])
}

func TestVerifier(t *testing.T) {
	a, err := Verifier("correct horse")
	require.NoError(t, err)
	b, err := Verifier("correct horse")
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "a fresh salt each time")
	for _, v := range []string{a, b} {
		p, err := Parse(v)
		require.NoError(t, err)
		assert.Len(t, p.Salt, SaltLen)
		assert.Equal(t, Iterations, p.Iterations)
		assert.True(t, strings.HasPrefix(v, "SCRAM-SHA-256$4096:"))
		assert.NotContains(t, v, "correct")
		assert.True(t, Matches(v, "correct horse"))
		assert.False(t, Matches(v, "correct horsE"))
		assert.False(t, Matches(v, ""))
	}
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		name, password string
		want           error
	}{
		{"ascii", `it's a "pa$$:w\rd"`, nil},
		{"ascii controls fall back to raw bytes alike", "tab\there", nil},
		{"nfkc-normal unicode", "pässwörd-€ ü 日本", nil},
		{"empty", "", ErrEmpty},
		{"ligature (NFKC maps it to fi)", "\ufb01ne", ErrNotNormalized},
		{"decomposed u + diaeresis", "u\u0308ber", ErrNotNormalized},
		{"soft hyphen (mapped to nothing)", "pass\u00adword", ErrNotNormalized},
		{"zero-width joiner", "pass\u200dword", ErrNotNormalized},
		{"no-break space (mapped to space)", "pass\u00a0word", ErrNotNormalized},
		{"ideographic space", "pass\u3000word", ErrNotNormalized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckPassword(tt.password)
			assert.ErrorIs(t, err, tt.want)
			_, verr := Verifier(tt.password)
			assert.ErrorIs(t, verr, tt.want)
			if err != nil && tt.password != "" {
				assert.NotContains(t, err.Error(), tt.password)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	good := "SCRAM-SHA-256$4096:Ptt1DvCvFPHRFwCyC7jEmw==$abvxkJVetAWW3TIrLxqP+6kMwd6MFvfsk0hoYxwuJLU=:YRYsrnHaaP29YSxzXMcytb/Pbynwudtn4VSGP+drIyQ="
	require.True(t, IsVerifier(good))
	for _, bad := range []string{
		"", "pencil", "SCRAM-SHA-256$", "SCRAM-SHA-256$x",
		"md5" + strings.Repeat("0", 32),
		strings.Replace(good, "4096", "0", 1),
		strings.Replace(good, "4096", "four", 1),
		strings.Replace(good, "Ptt1DvCvFPHRFwCyC7jEmw==", "", 1),
		strings.Replace(good, "Ptt1DvCvFPHRFwCyC7jEmw==", "Ptt1DvCvFPHRFwCyC7jEmw=", 1),
		strings.Replace(good, "abvxkJVetAWW3TIrLxqP+6kMwd6MFvfsk0hoYxwuJLU=", "abvx", 1),
		strings.Replace(good, ":YRYs", "YRYs", 1),
		strings.Replace(good, "SCRAM-SHA-256", "SCRAM-SHA-1", 1),
		good + "\nDROP ROLE x",
		strings.Replace(good, "abvx", "ab\nvx", 1),
	} {
		assert.False(t, IsVerifier(bad), "%q", bad)
	}
}

func ExampleVerifier() {
	v, _ := Verifier("pencil")
	fmt.Println(strings.HasPrefix(v, "SCRAM-SHA-256$4096:"), IsVerifier(v), Matches(v, "pencil"), strings.Contains(v, "pencil"))
	// Output: true true true false
}
