package codec

import (
	"context"
	"fmt"
	"net/http"

	"github.com/ardent-cdc/ardent/internal/secrets"
)

// Endpoint is how the worker's /codec/ and `ardent codec-server`
// configure the codec endpoint, from the same settings.
type Endpoint struct {
	// Token or TokenFile: the codec token (LoadToken).
	Token, TokenFile string
	AllowedOrigins   []string
	// PathToken: ServerOptions.AllowPathToken (a laptop's dev UI only).
	PathToken bool
	// AccessTokens verifies Web UI users' own access tokens with the
	// Temporal frontend (Service); Namespace is the one the start-up probe
	// asks about.
	AccessTokens bool
	Service      NamespaceDescriber
	Namespace    string
}

// Handler builds the endpoint (ErrNoToken when nothing could
// authenticate a caller). With AccessTokens it first checks that the
// frontend refuses a made-up token.
func (e Endpoint) Handler(ctx context.Context, kr *secrets.Keyring) (http.Handler, error) {
	tok, err := LoadToken(e.Token, e.TokenFile)
	if err != nil {
		return nil, err
	}
	opts := ServerOptions{Token: tok, AllowedOrigins: e.AllowedOrigins, AllowPathToken: e.PathToken}
	if e.AccessTokens {
		if e.Service == nil {
			return nil, fmt.Errorf("codec access tokens: no Temporal frontend to verify them with")
		}
		v := &TemporalVerifier{Service: e.Service}
		if err := v.Probe(ctx, e.Namespace); err != nil {
			return nil, fmt.Errorf("codec access tokens (ARDENT_CODEC_ACCESS_TOKENS): %w", err)
		}
		opts.VerifyAccessToken = v.Verify
	}
	return NewHandler(kr, opts)
}
