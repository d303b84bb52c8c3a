package slotwatch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/internal/source"
)

// password is distinctive so a scan for it cannot match by accident.
const password = "Pw-51a7c0de-slotwatch-s3cret"

// fakeCatalog lists connectors and hands out their source URLs; a
// connector without a URL fails to open its credentials.
type fakeCatalog struct {
	mu    sync.Mutex
	conns []catalog.Connector
	urls  map[string]string
}

func (f *fakeCatalog) set(conns []catalog.Connector, urls map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conns, f.urls = conns, urls
}

func (f *fakeCatalog) List(context.Context) ([]catalog.Connector, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.conns), nil
}

func (f *fakeCatalog) SourceURL(_ context.Context, name string, _ *secrets.Keyring) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.urls[name]
	if !ok {
		return "", fmt.Errorf("read source_url of connector %q: none stored", name)
	}
	return u, nil
}

// event is one call to the recorder, with when it came.
type event struct {
	what, connector string
	r               source.SlotRetention
	at              time.Time
}

type fakeRecorder struct {
	mu        sync.Mutex
	events    []event
	series    map[string]bool // connectors that have series
	forgotten []string
}

func newRecorder(withSeries ...string) *fakeRecorder {
	r := &fakeRecorder{series: map[string]bool{}}
	for _, s := range withSeries {
		r.series[s] = true
	}
	return r
}

func (f *fakeRecorder) Observe(connector string, r source.SlotRetention, _ time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, event{what: "observe", connector: connector, r: r, at: time.Now()})
	f.series[connector] = true
}

func (f *fakeRecorder) CheckFailed(connector string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, event{what: "failed", connector: connector, at: time.Now()})
	f.series[connector] = true
}

func (f *fakeRecorder) Connectors() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for name := range f.series {
		out = append(out, name)
	}
	return out
}

func (f *fakeRecorder) Forget(connector string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.series, connector)
	f.forgotten = append(f.forgotten, connector)
}

func (f *fakeRecorder) take() []event {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.events
	f.events = nil
	return e
}

func (f *fakeRecorder) takeForgotten() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.forgotten
	f.forgotten = nil
	slices.Sort(out)
	return out
}

func find(events []event, connector string) (event, bool) {
	for _, e := range events {
		if e.connector == connector {
			return e, true
		}
	}
	return event{}, false
}

func live(names ...string) []catalog.Connector {
	var out []catalog.Connector
	for _, n := range names {
		out = append(out, catalog.Connector{Name: n, SlotName: "ardent_" + n, SourceDisplay: n + ".internal:5432/app"})
	}
	return out
}

func dropped(names ...string) []catalog.Connector {
	out := live(names...)
	now := time.Now()
	for i := range out {
		out[i].DroppedAt = &now
	}
	return out
}

// hungServer accepts connections and never answers: a source behind a
// firewall that drops packets, or a server stuck in recovery.
func hungServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// syncBuffer is a log sink safe for the watcher's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSlowSourceDelaysNoOther: a source that accepts and never answers
// costs its own check the timeout, while the other connectors are read at
// once; the round ends within the timeout; the failure is logged once,
// its recovery once, and never with the password.
func TestSlowSourceDelaysNoOther(t *testing.T) {
	cl := pgtest.Start(t, pgtest.Options{})
	cl.CreateDatabase(t, "app")
	cl.Exec(t, "app", `SELECT pg_create_logical_replication_slot('ardent_good', 'test_decoding')`)
	hung := hungServer(t)

	cat := &fakeCatalog{}
	hungURL := fmt.Sprintf("postgres://ardent:%s@%s/app?sslmode=disable", password, hung)
	refusedURL := fmt.Sprintf("postgres://ardent:%s@127.0.0.1:1/app?sslmode=disable", password)
	cat.set(live("hung", "good", "refused", "nokey"), map[string]string{
		"hung": hungURL, "good": cl.URL("app"), "refused": refusedURL,
	})
	rec := newRecorder()
	var logs syncBuffer
	const timeout = 3 * time.Second
	w := &Watcher{Catalog: cat, Recorder: rec, Timeout: timeout,
		Log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, w.Check(ctx))
	took := time.Since(start)
	events := rec.take()

	good, ok := find(events, "good")
	require.True(t, ok, "the good source was read")
	assert.Equal(t, "observe", good.what)
	assert.Less(t, good.at.Sub(start), timeout/2, "the good source was read while the hung one was still waiting")
	assert.Equal(t, source.SlotRetention{Exists: true, WALStatus: "reserved", RetainedBytes: good.r.RetainedBytes}, good.r)
	require.NotNil(t, good.r.RetainedBytes)
	assert.GreaterOrEqual(t, *good.r.RetainedBytes, 0.0)

	for _, name := range []string{"hung", "refused", "nokey"} {
		e, ok := find(events, name)
		require.True(t, ok, name)
		assert.Equal(t, "failed", e.what, name)
	}
	h, _ := find(events, "hung")
	assert.GreaterOrEqual(t, h.at.Sub(start), timeout-100*time.Millisecond, "the hung source had its whole timeout")
	assert.Less(t, took, timeout+2*time.Second, "the round is bounded by the timeout")
	r, _ := find(events, "refused")
	assert.Less(t, r.at.Sub(start), timeout/2, "a refused connection fails at once")

	first := logs.String()
	assert.Contains(t, first, "slot check failed; retried every round")
	assert.Contains(t, first, "connector=hung")
	assert.Contains(t, first, "source="+hung+"/app")
	assert.NotContains(t, first, password)

	// The same failures again are not warned about again; a recovery is
	// said once.
	cat.set(live("hung", "good", "refused", "nokey"), map[string]string{
		"hung": cl.URL("app"), "good": cl.URL("app"), "refused": refusedURL,
	})
	require.NoError(t, w.Check(ctx))
	second := logs.String()[len(first):]
	assert.NotContains(t, second, "retried every round", "an unchanged failure is not warned about again")
	assert.Contains(t, second, "slot check recovered")
	assert.Contains(t, second, "connector=hung")
	assert.NotContains(t, second, password)
	h, _ = find(rec.take(), "hung")
	assert.Equal(t, source.SlotRetention{}, h.r, "recovered: its slot is missing on that source")
	assert.Equal(t, "observe", h.what)
}

// TestOneSessionPerServer: connectors on databases of one server are read
// over one session; when the first one's credentials are refused, each is
// read over its own, so the others' slots are still read.
func TestOneSessionPerServer(t *testing.T) {
	cl := pgtest.Start(t, pgtest.Options{PasswordAuth: true})
	for _, db := range []string{"a", "b", "c"} {
		cl.CreateDatabase(t, db)
		cl.Exec(t, db, fmt.Sprintf(`SELECT pg_create_logical_replication_slot('ardent_%s', 'test_decoding')`, db))
	}
	cl.Exec(t, "postgres", fmt.Sprintf(`CREATE ROLE ardent LOGIN PASSWORD '%s'`, password))
	cat := &fakeCatalog{}
	urls := map[string]string{"a": cl.URLFor("ardent", password, "a"), "b": cl.URLFor("ardent", password, "b"), "c": cl.URLFor("ardent", password, "c")}
	cat.set(live("a", "b", "c"), urls)
	rec := newRecorder()
	w := &Watcher{Catalog: cat, Recorder: rec}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	require.NoError(t, w.Check(ctx))
	assert.Equal(t, int64(1), w.sessions.Load(), "one session for the server's three connectors")
	events := rec.take()
	for _, name := range []string{"a", "b", "c"} {
		e, ok := find(events, name)
		require.True(t, ok, name)
		assert.Equal(t, "observe", e.what, name)
		assert.True(t, e.r.Exists, "%s: its own slot is read, in another database of the same server", name)
	}

	// The first connector's password changed on the source: the others
	// are read with their own credentials.
	urls["a"] = cl.URLFor("ardent", "not-"+password, "a")
	cat.set(live("a", "b", "c"), urls)
	w.sessions.Store(0)
	require.NoError(t, w.Check(ctx))
	assert.Equal(t, int64(4), w.sessions.Load(), "the group's session, then one per connector")
	events = rec.take()
	e, _ := find(events, "a")
	assert.Equal(t, "failed", e.what)
	for _, name := range []string{"b", "c"} {
		e, ok := find(events, name)
		require.True(t, ok, name)
		assert.Equal(t, "observe", e.what, name)
	}
}

// TestForgetsConnectorsThatLeaveTheCatalog: a dropped connector, and one
// removed from the catalog after the watcher saw it, lose their series; a
// connector the catalog never listed (an onboarding in preflight) keeps
// them.
func TestForgetsConnectorsThatLeaveTheCatalog(t *testing.T) {
	cat := &fakeCatalog{}
	rec := newRecorder("live", "dropped", "removed", "onboarding")
	w := &Watcher{Catalog: cat, Recorder: rec}
	ctx := context.Background()

	cat.set(append(live("live", "removed"), dropped("dropped")...), nil)
	require.NoError(t, w.Check(ctx))
	assert.Equal(t, []string{"dropped"}, rec.takeForgotten())
	events := rec.take()
	_, checked := find(events, "dropped")
	assert.False(t, checked, "a dropped connector's slot is not read")
	_, checked = find(events, "removed")
	assert.True(t, checked, "a live connector's slot is read")

	cat.set(append(live("live"), dropped("dropped")...), nil)
	require.NoError(t, w.Check(ctx))
	assert.Equal(t, []string{"removed"}, rec.takeForgotten(), "gone from the catalog after it was seen live")

	require.NoError(t, w.Check(ctx))
	assert.Empty(t, rec.takeForgotten(), "nothing left to forget")
	assert.ElementsMatch(t, []string{"live", "onboarding"}, rec.Connectors())

	// Dropped, then onboarded again under the same name: live again.
	cat.set(live("live", "dropped"), nil)
	require.NoError(t, w.Check(ctx))
	assert.Empty(t, rec.takeForgotten())
	assert.ElementsMatch(t, []string{"live", "onboarding", "dropped"}, rec.Connectors())
}

type failingCatalog struct{ fakeCatalog }

func (*failingCatalog) List(context.Context) ([]catalog.Connector, error) {
	return nil, errors.New("list connectors: connection refused")
}

// TestCatalogDownForgetsNothing: a round that cannot list the catalog is
// an error and removes no series.
func TestCatalogDownForgetsNothing(t *testing.T) {
	rec := newRecorder("shop")
	w := &Watcher{Catalog: &failingCatalog{}, Recorder: rec}
	w.seen = map[string]bool{"shop": true}
	require.ErrorContains(t, w.Check(context.Background()), "connection refused")
	assert.Empty(t, rec.takeForgotten())
	assert.Empty(t, rec.take())
}

// TestRunChecksAtOnceThenEveryInterval and stops with its context.
func TestRunChecksAtOnceThenEveryInterval(t *testing.T) {
	cat := &fakeCatalog{}
	cat.set(live("shop"), nil)
	rec := newRecorder()
	w := &Watcher{Catalog: cat, Recorder: rec, Interval: 200 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	require.Eventually(t, func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.events) >= 3
	}, 5*time.Second, 20*time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
