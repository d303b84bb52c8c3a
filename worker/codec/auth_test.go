package codec

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// post sends a decode request as the Web UI does (origin, namespace) with
// c's cookies, and an Authorization header when auth is set.
func post(t *testing.T, c *http.Client, srvURL, path, auth string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srvURL+path, bytes.NewReader(encryptedBody(t)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "default")
	req.Header.Set("Origin", "http://localhost:8233")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		assert.Contains(t, string(body), "payloads")
	} else {
		assert.NotContains(t, string(body), password)
	}
	return resp.StatusCode
}

func jarClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// The token is not the UI's to hand out: by default it is accepted as a
// bearer token or typed into the login form, never in the path the UI's
// settings show everyone.
func TestPathTokenOnlyWhenAllowed(t *testing.T) {
	srv := newServer(t, ServerOptions{Token: token})
	assert.Equal(t, http.StatusUnauthorized, post(t, srv.Client(), srv.URL, "/codec/"+token+"/decode", ""))
	assert.Equal(t, http.StatusOK, post(t, srv.Client(), srv.URL, "/codec/decode", "Bearer "+token))
}

// A browser logs in once with the token and decodes with its session
// cookie; a wrong token, a forged or expired cookie, or another token's
// session decode nothing.
func TestLoginSession(t *testing.T) {
	srv := newServer(t, ServerOptions{Token: token})
	c := jarClient(t)
	assert.Equal(t, http.StatusUnauthorized, post(t, c, srv.URL, "/codec/decode", ""), "no session yet")

	resp, err := c.Get(srv.URL + "/codec/login?next=/namespaces/default/workflows")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(page), `name="token"`)
	assert.Contains(t, string(page), `value="/namespaces/default/workflows"`)
	assert.NotContains(t, string(page), token)

	resp, err = c.PostForm(srv.URL+"/codec/login", url.Values{"token": {"nope"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, http.StatusUnauthorized, post(t, c, srv.URL, "/codec/decode", ""), "a wrong token gives no session")

	resp, err = c.PostForm(srv.URL+"/codec/login", url.Values{"token": {token}, "next": {"/namespaces/default/workflows"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/namespaces/default/workflows", resp.Header.Get("Location"))
	cookies := resp.Cookies()
	require.Len(t, cookies, 1)
	ck := cookies[0]
	assert.Equal(t, SessionCookie, ck.Name)
	assert.True(t, ck.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, ck.SameSite)
	assert.NotContains(t, ck.Value, token, "the cookie holds no secret")
	assert.Equal(t, http.StatusOK, post(t, c, srv.URL, "/codec/decode", ""), "the session decodes")

	forged := jarClient(t)
	u, _ := url.Parse(srv.URL)
	exp, _, _ := strings.Cut(ck.Value, ".")
	forged.Jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: exp + ".AAAA", Path: "/"}})
	assert.Equal(t, http.StatusUnauthorized, post(t, forged, srv.URL, "/codec/decode", ""), "a forged session")

	other := newServer(t, ServerOptions{Token: "another-token"})
	stolen := jarClient(t)
	ou, _ := url.Parse(other.URL)
	stolen.Jar.SetCookies(ou, []*http.Cookie{{Name: SessionCookie, Value: ck.Value, Path: "/"}})
	assert.Equal(t, http.StatusUnauthorized, post(t, stolen, other.URL, "/codec/decode", ""), "a new token ends every session")

	s := newSessions(token, time.Hour)
	s.now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	old := s.issue()
	expired := jarClient(t)
	expired.Jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: old, Path: "/"}})
	assert.Equal(t, http.StatusUnauthorized, post(t, expired, srv.URL, "/codec/decode", ""), "an expired session")
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{"/namespaces/default": "/namespaces/default", "//evil.example/x": "", `/\evil`: "",
		"https://evil.example": "", "": "", "/a\r\nSet-Cookie: x": ""} {
		assert.Equal(t, want, safeNext(in), in)
	}
}

type frontend struct {
	workflowservice.WorkflowServiceClient
	good  string
	calls int
	anyOK bool
}

func (f *frontend) DescribeNamespace(ctx context.Context, in *workflowservice.DescribeNamespaceRequest, _ ...grpc.CallOption) (*workflowservice.DescribeNamespaceResponse, error) {
	f.calls++
	md, _ := metadata.FromOutgoingContext(ctx)
	if f.anyOK || (in.GetNamespace() == "default" && len(md.Get("authorization")) == 1 && md.Get("authorization")[0] == "Bearer "+f.good) {
		return &workflowservice.DescribeNamespaceResponse{}, nil
	}
	return nil, errors.New("PermissionDenied: Request unauthorized")
}

// A Web UI user's own access token decodes when the Temporal frontend
// accepts it for the request's namespace; the verdict is reused for a
// while; a frontend without an authorizer is refused at the probe.
func TestAccessTokenVerifiedByTemporal(t *testing.T) {
	fe := &frontend{good: "user-jwt"}
	v := &TemporalVerifier{Service: fe}
	require.NoError(t, v.Probe(context.Background(), "default"))
	srv := newServer(t, ServerOptions{VerifyAccessToken: v.Verify})
	c := srv.Client()
	assert.Equal(t, http.StatusOK, post(t, c, srv.URL, "/codec/decode", "Bearer user-jwt"))
	assert.Equal(t, http.StatusOK, post(t, c, srv.URL, "/codec/decode", "Bearer user-jwt"))
	assert.Equal(t, 2, fe.calls, "the probe and one question: the second decode reused the verdict")
	assert.Equal(t, http.StatusUnauthorized, post(t, c, srv.URL, "/codec/decode", "Bearer someone-else"))
	assert.Equal(t, http.StatusUnauthorized, post(t, c, srv.URL, "/codec/decode", ""))

	_, err := NewHandler(keyring(t, 1), ServerOptions{})
	require.ErrorIs(t, err, ErrNoToken, "nothing to authenticate with")
	require.ErrorIs(t, (&TemporalVerifier{Service: &frontend{anyOK: true}}).Probe(context.Background(), "default"), ErrNoAuthorizer)
}

func TestLoadToken(t *testing.T) {
	dir := t.TempDir()
	good, loose := dir+"/token", dir+"/loose"
	require.NoError(t, os.WriteFile(good, []byte(token+"\n"), 0o600))
	require.NoError(t, os.WriteFile(loose, []byte(token), 0o644))
	tok, err := LoadToken("", good)
	require.NoError(t, err)
	assert.Equal(t, token, tok.Reveal())
	tok, err = LoadToken(token, "")
	require.NoError(t, err)
	assert.Equal(t, token, tok.Reveal())
	_, err = LoadToken("", loose)
	require.ErrorContains(t, err, "readable by others")
	_, err = LoadToken(token, good)
	require.ErrorContains(t, err, "not both")
}
