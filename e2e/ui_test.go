package e2e

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/e2estack"
	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// TestWebUIShowsAFailedConnector opens a failed connector's workflow page
// in the dev server's Web UI with a headless Chromium and finds its stage,
// error and remedy there: the replication workflow's current details,
// which the codec encrypts, decoded by `ardent codec-server` (no worker
// needed for that) for a browser that logged in to it. The UI and the
// codec endpoint share one origin (a front door, as an ingress would), so
// the browser sends the codec server's session cookie; the codec token is
// in no UI setting. Before the login the page shows the workflow but not
// its details.
func TestWebUIShowsAFailedConnector(t *testing.T) {
	b := startBrowser(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	front := "http://" + ln.Addr().String()
	st := e2estack.Start(t, e2estack.Options{
		Source:          pgtest.Options{SSL: true, PasswordAuth: true},
		SourceDatabases: []string{"app"}, DestinationDatabases: []string{"destination"},
		CodecToken: true, OwnTemporal: true,
		Temporal: temporaltest.Options{UI: true, CodecEndpoint: front + "/codec"},
	})
	s := &stack{Deployment: st.Deploy("e2e-webui", e2estack.FastEnv...), t: t, temporal: st.Temporal, src: st.Src, dst: st.Dst,
		codecToken: st.CodecToken}

	// A streaming connector whose slot is dropped while it is paused:
	// resume finds the slot gone, stage failed.
	s.src.Exec(t, "app", seedSQL)
	pw := randomPassword(t)
	s.applySQL(pw)
	s.startWorker()
	out, code := s.ardent("onboard", "--name", "shop", "--source", s.src.URLFor("ardent", pw, "app"),
		"--destination", s.dst.URL("destination"), "--schema", "shop", "--wait")
	require.Equal(t, 0, code, out)
	out, code = s.ardent("pause", "shop")
	require.Equal(t, 0, code, out)
	s.waitStage("shop", "paused", time.Minute)
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := pgtest.Psql(ctx, s.src.URL("app"), "-v", "ON_ERROR_STOP=1", "-c",
			`SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'ardent_shop' AND active_pid IS NOT NULL`,
			"-c", `SELECT pg_drop_replication_slot('ardent_shop')`)
		return err == nil
	}, time.Minute, 500*time.Millisecond, "could not drop the slot")
	out, code = s.ardent("resume", "shop")
	require.Equal(t, 0, code, out)
	s.waitStage("shop", "failed", 2*time.Minute)
	out, code = s.ardent("status", "shop", "--format", "json")
	require.Equal(t, 1, code, "status of a failed connector exits 1: %s", out)
	var status struct{ Stage, Error, Remedy string }
	require.NoError(t, json.Unmarshal([]byte(out), &status), out)
	require.Contains(t, status.Error, "does not exist")
	require.Contains(t, status.Remedy, "`ardent drop shop`")
	require.Contains(t, status.Remedy, "changes since the last checkpoint are gone from the source")

	// The codec endpoint on its own, behind the front door with the UI.
	codecAddr := startCodecServer(t, s, front)
	var decodes statusCounts
	serveFrontDoor(t, ln, st.Temporal.UIAddress, codecAddr, &decodes)
	page := front + "/namespaces/default/workflows/replication-shop"

	b.navigate(t, page)
	b.waitText(t, 2*time.Minute, "replication-shop", "User Metadata")
	b.openTab(t, "User Metadata")
	time.Sleep(5 * time.Second) // the UI's decode attempts have answered by now
	text := b.text()
	require.NotContains(t, text, "Stage: failed", "the details decoded without a login")
	require.NotContains(t, text, `"source_display"`, "the input decoded without a login")
	require.Positive(t, decodes.get(http.StatusUnauthorized), "the UI asked the codec server, which refused it without a login")
	require.Zero(t, decodes.get(http.StatusOK))

	b.navigate(t, front+"/codec/login?next="+url.QueryEscape("/namespaces/default/workflows/replication-shop"))
	b.waitText(t, 30*time.Second, "Codec token")
	_, err = b.eval(`(() => { document.querySelector('input[name=token]').value = ` + strconv.Quote(s.codecToken) +
		`; document.forms[0].submit(); return "" })()`)
	require.NoError(t, err)
	b.waitText(t, 2*time.Minute, "replication-shop", "User Metadata", `"source_display"`)
	b.openTab(t, "User Metadata")
	// The details' stage, error and remedy are the status's: the remedy's
	// words are the workflow's own (not the drift guard's, which the
	// details show too).
	text = b.waitText(t, 2*time.Minute, "Stage: failed", "Error:", "replication slot lost", "it does not exist", "What to do:",
		"changes since the last checkpoint are gone from the source", "Ardent connector shop")
	require.NotContains(t, text, pw, "the page shows no password")
	require.Positive(t, decodes.get(http.StatusOK), "decoded through the codec server with the session cookie")
	require.NotContains(t, text, "Stream: healthy", "a failed connector's last stream report is a position, not its health")
}

// startCodecServer runs `ardent codec-server` with the deployment's master
// key and codec token, allowing the front door's origin, and returns its
// address once it answers.
func startCodecServer(t *testing.T, s *stack, origin string) string {
	t.Helper()
	port, err := pgtest.FreePort()
	require.NoError(t, err)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	temporaltest.StartProcess(t, s.stackArdentBin(), []string{"codec-server", "--listen", addr, "--allowed-origins", origin}, s.Env)
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond, "codec server did not start")
	return addr
}

// serveFrontDoor serves the Web UI and, under /codec/, the codec server on
// one origin, as an ingress in front of both would.
func serveFrontDoor(t *testing.T, ln net.Listener, ui, codecAddr string, decodes *statusCounts) {
	t.Helper()
	uiURL := &url.URL{Scheme: "http", Host: ui}
	codecURL := &url.URL{Scheme: "http", Host: codecAddr}
	mux := http.NewServeMux()
	codec := httputil.NewSingleHostReverseProxy(codecURL)
	mux.Handle("/codec/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		codec.ServeHTTP(rec, r)
		if r.URL.Path == "/codec/decode" {
			decodes.Add(rec.status)
		}
		t.Logf("front door: %s %s -> %d", r.Method, r.URL.Path, rec.status)
	}))
	mux.Handle("/", httputil.NewSingleHostReverseProxy(uiURL))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// stackArdentBin is the ardent binary the deployment runs.
func (s *stack) stackArdentBin() string {
	bin, _, err := temporaltest.Build()
	require.NoError(s.t, err)
	return strings.TrimSpace(bin)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

// statusCounts counts the codec server's answers by status.
type statusCounts struct {
	mu sync.Mutex
	n  map[int]int
}

func (c *statusCounts) Add(status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[int]int{}
	}
	c.n[status]++
}

func (c *statusCounts) get(status int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[status]
}
