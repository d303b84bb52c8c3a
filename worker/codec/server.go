package codec

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/ardent-cdc/ardent/internal/secrets"
	"go.temporal.io/sdk/converter"
)

// DefaultOrigins are the dev server's Web UI origins.
var DefaultOrigins = []string{"http://localhost:8233", "http://127.0.0.1:8233"}

// ErrNoToken is returned by NewHandler when no token is configured: the
// worker then serves no codec endpoint (and should say so in its log).
var ErrNoToken = errors.New("codec endpoint disabled: no codec token configured (set ARDENT_CODEC_TOKEN)")

// maxBody bounds a decode request; the UI sends one event's payloads at a time.
const maxBody = 16 << 20

// ServerOptions configure the codec endpoint.
type ServerOptions struct {
	// Token is the bearer token a caller must present. Required.
	Token secrets.Secret
	// AllowedOrigins are the browser origins (scheme://host:port) allowed by
	// CORS; "*" allows any. Empty means DefaultOrigins.
	AllowedOrigins []string
}

// NewHandler returns the codec endpoint: POST .../decode and .../encode as
// Temporal's remote codec protocol defines them, behind CORS and a token.
//
// The token is accepted two ways, both compared in constant time:
//   - "Authorization: Bearer TOKEN", for the CLI, tests and a Web UI that
//     passes an access token;
//   - as the first path segment, ".../TOKEN/decode", for the dev server's Web
//     UI, which cannot add headers: its codec endpoint setting is then
//     "http://HOST:PORT/codec/TOKEN". The token then sits in the UI's
//     settings and the browser's history, so use it only where those are as
//     trusted as the token.
//
// Mount it with http.StripPrefix, e.g. mux.Handle("/codec/",
// http.StripPrefix("/codec", h)).
func NewHandler(kr *secrets.Keyring, opts ServerOptions) (http.Handler, error) {
	if opts.Token == "" {
		return nil, ErrNoToken
	}
	origins := opts.AllowedOrigins
	if len(origins) == 0 {
		origins = DefaultOrigins
	}
	return &handler{
		tokenSum: sha256.Sum256([]byte(opts.Token.Reveal())),
		origins:  slices.Clone(origins),
		inner:    converter.NewPayloadCodecHTTPHandler(New(kr)),
	}, nil
}

type handler struct {
	tokenSum [32]byte
	origins  []string
	inner    http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" {
		if !h.originAllowed(origin) {
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		hd := w.Header()
		hd.Set("Access-Control-Allow-Origin", origin)
		hd.Add("Vary", "Origin")
		hd.Set("Access-Control-Allow-Credentials", "true")
		hd.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		hd.Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
		hd.Set("Access-Control-Max-Age", "600")
	}
	// A CORS preflight carries no credentials by definition; it only learns
	// what the real request may send.
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	path, ok := h.authorize(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ardent-codec"`)
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	r2 := r.Clone(r.Context())
	r2.URL.Path = path
	r2.URL.RawPath = ""
	h.inner.ServeHTTP(w, r2)
}

// authorize checks the token and returns the path without a path token.
func (h *handler) authorize(r *http.Request) (string, bool) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, tok, found := strings.Cut(auth, " ")
		if found && strings.EqualFold(scheme, "Bearer") && h.tokenOK(strings.TrimSpace(tok)) {
			return r.URL.Path, true
		}
	}
	// "/TOKEN/decode": the segment before the last one.
	trimmed := strings.TrimPrefix(r.URL.Path, "/")
	if first, rest, found := strings.Cut(trimmed, "/"); found && !strings.Contains(rest, "/") && h.tokenOK(first) {
		return "/" + rest, true
	}
	return "", false
}

func (h *handler) tokenOK(tok string) bool {
	if tok == "" {
		return false
	}
	// Hashing first makes the comparison constant-time in the token length too.
	sum := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(sum[:], h.tokenSum[:]) == 1
}

func (h *handler) originAllowed(origin string) bool {
	for _, o := range h.origins {
		if o == "*" || strings.EqualFold(strings.TrimSuffix(o, "/"), origin) {
			return true
		}
	}
	return false
}
