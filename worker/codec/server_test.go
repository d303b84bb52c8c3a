package codec

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

const token = "tok-" + "8f1d2c"

func newServer(t *testing.T, opts ServerOptions) *httptest.Server {
	t.Helper()
	h, err := NewHandler(keyring(t, 2, 1), opts)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/codec/", http.StripPrefix("/codec", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// encryptedBody is a /decode request body holding input() sealed under the
// OLD key (1), as history written before a rotation would.
func encryptedBody(t *testing.T) []byte {
	t.Helper()
	p, err := DataConverter(keyring(t, 1)).ToPayload(input())
	require.NoError(t, err)
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p}})
	require.NoError(t, err)
	return b
}

func TestNewHandlerRefusesWithoutToken(t *testing.T) {
	_, err := NewHandler(keyring(t, 1), ServerOptions{})
	require.ErrorIs(t, err, ErrNoToken)
}

func TestHandlerDecode(t *testing.T) {
	srv := newServer(t, ServerOptions{Token: token, AllowPathToken: true})
	tests := []struct {
		name       string
		path       string
		auth       string
		origin     string
		wantStatus int
	}{
		{"bearer token", "/codec/decode", "Bearer " + token, "", http.StatusOK},
		{"bearer lower-case scheme", "/codec/decode", "bearer " + token, "", http.StatusOK},
		{"token in path (dev UI)", "/codec/" + token + "/decode", "", "http://localhost:8233", http.StatusOK},
		{"no token", "/codec/decode", "", "", http.StatusUnauthorized},
		{"wrong token", "/codec/decode", "Bearer nope", "", http.StatusUnauthorized},
		{"token prefix only", "/codec/decode", "Bearer " + token[:5], "", http.StatusUnauthorized},
		{"basic auth", "/codec/decode", "Basic " + token, "", http.StatusUnauthorized},
		{"wrong path token", "/codec/nope/decode", "", "", http.StatusUnauthorized},
		{"foreign origin", "/codec/decode", "Bearer " + token, "http://evil.example", http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.URL+tc.path, bytes.NewReader(encryptedBody(t)))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Namespace", "default")
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			require.Equal(t, tc.wantStatus, resp.StatusCode, string(body))
			if tc.wantStatus != http.StatusOK {
				assert.NotContains(t, string(body), password)
				return
			}
			var out commonpb.Payloads
			require.NoError(t, protojson.Unmarshal(body, &out))
			require.Len(t, out.Payloads, 1)
			assert.Equal(t, "json/plain", string(out.Payloads[0].Metadata["encoding"]))
			assert.Contains(t, string(out.Payloads[0].Data), password)
			if tc.origin != "" {
				assert.Equal(t, tc.origin, resp.Header.Get("Access-Control-Allow-Origin"))
			}
		})
	}
}

func TestHandlerEncodeUsesCurrentKey(t *testing.T) {
	srv := newServer(t, ServerOptions{Token: token})
	plain := []byte(`{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"eyJyZWFzb24iOiJ4In0="}]}`)
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/codec/encode", bytes.NewReader(plain))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(body, &out))
	require.Len(t, out.Payloads, 1)
	assert.Equal(t, EncodingEncrypted, string(out.Payloads[0].Metadata["encoding"]))
	assert.Equal(t, keyring(t, 2).CurrentID(), string(out.Payloads[0].Metadata[MetadataKeyID]))
}

func TestHandlerCORSPreflight(t *testing.T) {
	tests := []struct {
		name       string
		opts       ServerOptions
		origin     string
		wantStatus int
		wantAllow  string
	}{
		{"dev UI localhost", ServerOptions{Token: token}, "http://localhost:8233", http.StatusNoContent, "http://localhost:8233"},
		{"dev UI 127.0.0.1", ServerOptions{Token: token}, "http://127.0.0.1:8233", http.StatusNoContent, "http://127.0.0.1:8233"},
		{"configured origin", ServerOptions{Token: token, AllowedOrigins: []string{"https://temporal.example.com/"}}, "https://temporal.example.com", http.StatusNoContent, "https://temporal.example.com"},
		{"default not allowed once configured", ServerOptions{Token: token, AllowedOrigins: []string{"https://temporal.example.com"}}, "http://localhost:8233", http.StatusForbidden, ""},
		{"foreign origin", ServerOptions{Token: token}, "http://evil.example", http.StatusForbidden, ""},
		{"wildcard", ServerOptions{Token: token, AllowedOrigins: []string{"*"}}, "http://anything.example", http.StatusNoContent, "http://anything.example"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, tc.opts)
			req, err := http.NewRequest(http.MethodOptions, srv.URL+"/codec/decode", nil)
			require.NoError(t, err)
			req.Header.Set("Origin", tc.origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace,authorization")
			resp, err := srv.Client().Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, tc.wantStatus, resp.StatusCode)
			assert.Equal(t, tc.wantAllow, resp.Header.Get("Access-Control-Allow-Origin"))
			if tc.wantStatus == http.StatusNoContent {
				allowed := resp.Header.Get("Access-Control-Allow-Headers")
				for _, h := range []string{"Content-Type", "X-Namespace", "Authorization"} {
					assert.Contains(t, allowed, h)
				}
				assert.Contains(t, resp.Header.Get("Access-Control-Allow-Methods"), "POST")
			}
		})
	}
}
