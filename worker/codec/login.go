package codec

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ardent-cdc/ardent/internal/secrets"
)

// A browser logs in to the codec endpoint once, with the codec token, and
// keeps a session cookie: the Web UI then decodes with the cookie
// (TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true, or the codec served under the
// UI's own origin), and the token stays out of the UI's configuration,
// which the UI hands to every user who opens it.
//
// The cookie is HttpOnly (no script reads it) and SameSite=Lax (no other
// site's page can make a browser post it to decode), and holds no secret:
// an expiry and an HMAC of it under a key derived from the token, so
// every instance with the same token accepts it, and a new token ends
// every session.

// DefaultSessionTTL is how long a login lasts.
const DefaultSessionTTL = 12 * time.Hour

// SessionCookie is the session cookie's name.
const SessionCookie = "ardent_codec_session"

type sessions struct {
	key []byte // nil: no token, no login
	ttl time.Duration
	now func() time.Time
}

func newSessions(token secrets.Secret, ttl time.Duration) *sessions {
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	s := &sessions{ttl: ttl, now: time.Now}
	if token != "" {
		m := hmac.New(sha256.New, []byte(token.Reveal()))
		m.Write([]byte("ardent/codec-session-key/v1"))
		s.key = m.Sum(nil)
	}
	return s
}

func (s *sessions) mac(expiry string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("v1:" + expiry))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// issue returns a session valid for ttl.
func (s *sessions) issue() string {
	exp := strconv.FormatInt(s.now().Add(s.ttl).Unix(), 10)
	return exp + "." + s.mac(exp)
}

// valid reports whether r carries an unexpired session of this key.
func (s *sessions) valid(r *http.Request) bool {
	if s.key == nil {
		return false
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return false
	}
	exp, mac, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(s.mac(exp))) {
		return false
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	return err == nil && s.now().Before(time.Unix(n, 0))
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Ardent codec: log in</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Ardent codec server</h1>
{{if .LoggedIn}}<p id="status">Logged in: the Temporal Web UI can decode Ardent's payloads in this browser until {{.Until}}.</p>{{end}}
{{if .Failed}}<p id="status" style="color: #b00">That is not the codec token.</p>{{end}}
<p>The Web UI decodes Ardent's encrypted payloads through this server. Log in once with the codec token
(ARDENT_CODEC_TOKEN, from whoever runs Ardent); the browser keeps a session cookie that only this server reads.</p>
<form method="post" action="login">
<input type="hidden" name="next" value="{{.Next}}">
<label>Codec token <input type="password" name="token" autocomplete="current-password" autofocus></label>
<button type="submit">Log in</button>
</form>
</body></html>
`))

type loginView struct {
	LoggedIn, Failed bool
	Until, Next      string
}

// serveLogin answers .../login (GET: the form; POST: check the token, set
// the cookie, go to next or say so) and .../logout (POST).
func (h *handler) serveLogin(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	if h.sessions.key == nil {
		http.Error(w, "no codec token is configured here: there is nothing to log in with", http.StatusNotFound)
		return
	}
	secure := r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
	switch {
	case r.URL.Path == "/logout" && r.Method == http.MethodPost:
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
		_, _ = w.Write([]byte("logged out\n"))
		return
	case r.URL.Path == "/logout":
		w.Header().Set("Allow", "POST")
		http.Error(w, "POST to log out", http.StatusMethodNotAllowed)
		return
	case r.Method == http.MethodGet:
		hd.Set("Content-Type", "text/html; charset=utf-8")
		_ = loginPage.Execute(w, loginView{LoggedIn: h.sessions.valid(r), Next: safeNext(r.URL.Query().Get("next"))})
		return
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "GET the form or POST the token", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	hd.Set("Content-Type", "text/html; charset=utf-8")
	if !h.tokenOK(strings.TrimSpace(r.PostForm.Get("token"))) {
		w.WriteHeader(http.StatusUnauthorized)
		_ = loginPage.Execute(w, loginView{Failed: true, Next: next})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: h.sessions.issue(), Path: "/", MaxAge: int(h.sessions.ttl.Seconds()),
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	if next != "" {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	_ = loginPage.Execute(w, loginView{LoggedIn: true, Until: h.sessions.now().Add(h.sessions.ttl).UTC().Format(time.RFC3339)})
}

// safeNext keeps a redirect target on this origin: a path, never a
// scheme or another host ("//evil", "/\evil").
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, `/\`) || strings.ContainsAny(next, "\r\n") {
		return ""
	}
	return next
}
