package main

import (
	"errors"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestErrorTextRedactsSecretLookingArguments(t *testing.T) {
	const pw = "Zq7-s3cret"
	tests := []struct {
		name string
		err  string
		args []string
		want string
	}{
		{"stray DSN pair", `unknown command "password=` + pw + `" for "ardent preflight"`,
			[]string{"preflight", "--source", "host=db", "password=" + pw},
			`unknown command "<redacted>" for "ardent preflight": quote a connection string`},
		{"quoted form with a quote inside", "invalid argument " + strconv.Quote(`password="a`+pw) + ` for "--x" flag`,
			[]string{`password="a` + pw}, `invalid argument "<redacted>"`},
		{"URL as a flag value", `--format must be text or json, not "postgres://u:` + pw + `@db/app"`,
			[]string{"--format", "postgres://u:" + pw + "@db/app"}, `not "<redacted>"`},
		{"harmless arguments stay", `unknown command "extra" for "ardent preflight"`,
			[]string{"preflight", "extra"}, `unknown command "extra" for "ardent preflight"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errorText(errors.New(tt.err), tt.args)
			assert.Contains(t, got, tt.want)
			assert.NotContains(t, got, pw)
		})
	}
}
