package codec

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ardent-cdc/ardent/internal/secrets"
	"go.temporal.io/sdk/converter"
)

// DefaultOrigins are the dev server's Web UI origins.
var DefaultOrigins = []string{"http://localhost:8233", "http://127.0.0.1:8233"}

// ErrNoToken is returned by NewHandler when nothing could authenticate a
// caller (no token, no access-token verifier): the worker then serves no
// codec endpoint (and should say so in its log).
var ErrNoToken = errors.New("codec endpoint disabled: no codec token configured (set ARDENT_CODEC_TOKEN)")

// maxBody bounds a decode request; the UI sends one event's payloads at a time.
const maxBody = 16 << 20

// ServerOptions configure the codec endpoint.
type ServerOptions struct {
	// Token is the codec token: a caller presents it as a bearer token
	// (the CLI, scripts, support tools), or once to the login form, which
	// gives the browser a session cookie. Required unless VerifyAccessToken
	// is set.
	Token secrets.Secret
	// AllowedOrigins are the browser origins (scheme://host:port) allowed by
	// CORS; "*" allows any. Empty means DefaultOrigins.
	AllowedOrigins []string
	// VerifyAccessToken, when set, accepts a bearer token that is not the
	// codec token: a Web UI user's own access token (the UI's codec
	// setting passAccessToken), if it returns nil for it and the
	// request's namespace (X-Namespace). See TemporalVerifier.
	VerifyAccessToken func(ctx context.Context, namespace, token string) error
	// AllowPathToken also accepts the token as the first path segment
	// (".../TOKEN/decode"), for the dev server's Web UI, which can send
	// neither a header nor a cookie. The Web UI hands its codec endpoint
	// to everyone who opens it (its settings API), so the token is then
	// every UI user's: for a single-user laptop only.
	AllowPathToken bool
	// SessionTTL is how long a login's cookie lasts; 0 is DefaultSessionTTL.
	SessionTTL time.Duration
}

// NewHandler returns the codec endpoint: POST .../decode and .../encode as
// Temporal's remote codec protocol defines them, behind CORS and one of:
//   - "Authorization: Bearer TOKEN" with the codec token, compared in
//     constant time: the CLI, scripts, `temporal --codec-auth`;
//   - the session cookie the login form (GET/POST .../login) sets once the
//     codec token is typed in: a browser whose Web UI sends credentials
//     (TEMPORAL_CODEC_INCLUDE_CREDENTIALS, or the codec served under the
//     UI's origin), so the token is never in the UI's configuration;
//   - "Authorization: Bearer ACCESS_TOKEN", a Web UI user's own token
//     (TEMPORAL_CODEC_PASS_ACCESS_TOKEN), when VerifyAccessToken accepts it;
//   - the token as a path segment, only with AllowPathToken.
//
// Mount it with http.StripPrefix, e.g. mux.Handle("/codec/",
// http.StripPrefix("/codec", h)).
func NewHandler(kr *secrets.Keyring, opts ServerOptions) (http.Handler, error) {
	if opts.Token == "" && opts.VerifyAccessToken == nil {
		return nil, ErrNoToken
	}
	origins := opts.AllowedOrigins
	if len(origins) == 0 {
		origins = DefaultOrigins
	}
	h := &handler{
		origins:  slices.Clone(origins),
		inner:    converter.NewPayloadCodecHTTPHandler(New(kr)),
		verify:   opts.VerifyAccessToken,
		pathTok:  opts.AllowPathToken,
		sessions: newSessions(opts.Token, opts.SessionTTL),
	}
	if opts.Token != "" {
		h.tokenSum = sha256.Sum256([]byte(opts.Token.Reveal()))
		h.hasToken = true
	}
	return h, nil
}

type handler struct {
	tokenSum [32]byte
	hasToken bool
	origins  []string
	inner    http.Handler
	verify   func(ctx context.Context, namespace, token string) error
	pathTok  bool
	sessions *sessions
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/login" || r.URL.Path == "/logout" {
		h.serveLogin(w, r)
		return
	}
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
		hd.Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization, Authorization-Extras")
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
		http.Error(w, http.StatusText(http.StatusUnauthorized)+": present the codec token (Authorization: Bearer), log in at .../login, "+
			"or an access token the codec server verifies", http.StatusUnauthorized)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	r2 := r.Clone(r.Context())
	r2.URL.Path = path
	r2.URL.RawPath = ""
	h.inner.ServeHTTP(w, r2)
}

// authorize checks the caller and returns the path without a path token.
func (h *handler) authorize(r *http.Request) (string, bool) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, tok, found := strings.Cut(auth, " ")
		tok = strings.TrimSpace(tok)
		if found && strings.EqualFold(scheme, "Bearer") && tok != "" {
			if h.tokenOK(tok) {
				return r.URL.Path, true
			}
			if h.verify != nil {
				ns := r.Header.Get("X-Namespace")
				if ns != "" && h.verify(r.Context(), ns, tok) == nil {
					return r.URL.Path, true
				}
			}
		}
	}
	if h.sessions.valid(r) {
		return r.URL.Path, true
	}
	if !h.pathTok {
		return "", false
	}
	// "/TOKEN/decode": the segment before the last one.
	trimmed := strings.TrimPrefix(r.URL.Path, "/")
	if first, rest, found := strings.Cut(trimmed, "/"); found && !strings.Contains(rest, "/") && h.tokenOK(first) {
		return "/" + rest, true
	}
	return "", false
}

func (h *handler) tokenOK(tok string) bool {
	if tok == "" || !h.hasToken {
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
