package pgurl

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, raw          string
		wantMode, wantDisp string
		wantUser           string
		wantErr            string
	}{
		{name: "url default require", raw: "postgres://app:s3cret@db.example.com/shop", wantMode: "require", wantDisp: "db.example.com:5432/shop", wantUser: "app"},
		{name: "postgresql scheme", raw: "postgresql://app:s3cret@10.0.0.5:6543/shop", wantMode: "require", wantDisp: "10.0.0.5:6543/shop", wantUser: "app"},
		{name: "explicit sslmode wins", raw: "postgres://app:s3cret@127.0.0.1/shop?sslmode=disable", wantMode: "disable", wantDisp: "127.0.0.1:5432/shop", wantUser: "app"},
		{name: "dsn", raw: "host=db user=app password=s3cret dbname=shop port=5433", wantMode: "require", wantDisp: "db:5433/shop", wantUser: "app"},
		{name: "dsn explicit sslmode", raw: "host=db user=app dbname=shop sslmode=prefer", wantMode: "prefer", wantDisp: "db:5432/shop", wantUser: "app"},
		{name: "ipv6 literal", raw: "postgres://app@[::1]:5432/shop?sslmode=disable", wantMode: "disable", wantDisp: "[::1]:5432/shop", wantUser: "app"},
		{name: "quotes in password", raw: `postgres://app:s3cret'"@127.0.0.1/shop?sslmode=disable`, wantMode: "disable", wantDisp: "127.0.0.1:5432/shop", wantUser: "app"},
		{name: "wrong scheme", raw: "mysql://app:s3cret@db/shop", wantErr: "scheme must be postgres://"},
		{name: "garbage", raw: "s3cret", wantErr: "not a postgres:// URL"},
		{name: "empty", raw: "  ", wantErr: "empty"},
		{name: "bad port", raw: "postgres://app:s3cret@db:notaport/shop", wantErr: "source URL"},
		{name: "no database", raw: "postgres://app:s3cret@db", wantErr: "no database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("PGDATABASE", "")
			t.Setenv("PGUSER", "")
			s, err := ParseSource(tt.raw)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.NotContains(t, err.Error(), "s3cret")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantMode, s.SSLMode)
			assert.Equal(t, tt.wantDisp, s.Display())
			assert.Equal(t, tt.wantUser, s.Config.User)
			assert.NotContains(t, s.Display(), "s3cret")
		})
	}
}

func TestParseRootCertDefaultsToVerifyFull(t *testing.T) {
	// pgx loads the root certificate while parsing, so it must exist.
	_, err := ParseSource("postgres://app:s3cret@db/shop?sslrootcert=/nonexistent/root.crt")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret")
	assert.Contains(t, err.Error(), "root.crt")

	mode, explicit, root := sslSettings("postgres://app@db/shop?sslrootcert=/x.crt", true)
	assert.Equal(t, "", mode)
	assert.False(t, explicit)
	assert.True(t, root)
	mode, explicit, root = sslSettings("host=db sslrootcert='/x y.crt' sslmode=verify-ca", false)
	assert.Equal(t, "verify-ca", mode)
	assert.True(t, explicit)
	assert.True(t, root)
}

func TestParseNamesItsSide(t *testing.T) {
	_, err := ParseDestination("postgres://app:s3cret@/shop")
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "destination URL: no host"), err.Error())
	_, err = ParseSource("postgres://app:s3cret@/shop")
	assert.True(t, strings.HasPrefix(err.Error(), "source URL: no host"), err.Error())
	d, err := ParseDestination("postgres://w@db/dst")
	require.NoError(t, err)
	assert.Equal(t, SideDestination, d.Side)
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://app:s3cret@db/shop", "postgres://app:xxxxx@db/shop"},
		{"postgres://app@db/shop", "postgres://app@db/shop"},
		{"postgres://app@db/shop?password=s3cret&sslmode=require", "postgres://app@db/shop?password=xxxxx&sslmode=require"},
		{"host=db password=s3cret user=app", "host=db password=xxxxx user=app"},
		{"host=db password='s3 cret' user=app", "host=db password=xxxxx user=app"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Redact(tt.in), tt.in)
	}
}

func TestScrub(t *testing.T) {
	tests := []struct {
		name, in string
		pw       []string
		want     string
	}{
		{"known password", `failed: FATAL: password authentication failed (hunter2!)`, []string{"hunter2!"}, `failed: FATAL: password authentication failed (xxxxx)`},
		{"url in text", `cannot connect to postgres://u:p%40ss@h:5/db: refused`, nil, `cannot connect to postgres://u:xxxxx@h:5/db: refused`},
		{"dsn in text", `dial "host=h password=abc user=u"`, nil, `dial "host=h password=xxxxx user=u"`},
		{"escaped known password", `postgres://u:a%2Fb@h/db`, []string{"a/b"}, `postgres://u:xxxxx@h/db`},
		{"empty password ignored", `nothing here`, []string{""}, `nothing here`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Scrub(tt.in, tt.pw...))
		})
	}
}

func ExampleRedact() {
	fmt.Println(Redact("postgres://ardent:s3cret@db.example.com:5432/shop?sslmode=require"))
	// Output: postgres://ardent:xxxxx@db.example.com:5432/shop?sslmode=require
}

func ExampleScrub() {
	err := errors.New(`connect "host=db user=ardent password=s3cret": refused`)
	fmt.Println(Scrub(err.Error(), "s3cret"))
	// Output: connect "host=db user=ardent password=xxxxx": refused
}
