package activities

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/e2estack"
	"github.com/ardent-cdc/ardent/internal/secrets"
)

// syncBuffer is a log sink the activity's goroutines may write to while
// the test reads it.
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

// TestReplicateTakesNewCredentials: credentials stored while Replicate
// streams under a steady write load are taken by a new stream session of
// the same attempt within seconds (the walsender and the destination
// sessions run as the new roles), with one log line and no secret in it,
// and a destination equal to the source once the load stops.
func TestReplicateTakesNewCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	w := newWorld(t)
	ctx := context.Background()
	// Trust authentication: the roles differ, which the servers show; the
	// passwords are there to be looked for in the log.
	const secret = "Pw-5d1c-rotated-activity-s3cret"
	w.src.Exec(t, "app", `CREATE ROLE ardent2 LOGIN SUPERUSER`)
	w.dst.Exec(t, "postgres", `CREATE ROLE writer2 LOGIN SUPERUSER`)

	conns := &Connectors{Catalog: w.cat, Keyring: w.kr, Sinks: w.sinks}
	snaps := &Snapshotter{Catalog: w.cat, Keyring: w.kr, Sinks: w.sinks, HeartbeatInterval: 50 * time.Millisecond}
	_, err := w.env(t, conns).ExecuteActivity(conns.CreateConnector, CreateConnectorInput{Name: "acts", SourceURL: w.srcURL,
		DestinationURL: w.dstURL, Selection: Selection{Schemas: []string{"shop"}}})
	require.NoError(t, err)
	_, err = w.env(t, snaps).ExecuteActivity(snaps.Snapshot, SnapshotInput{Name: "acts"})
	require.NoError(t, err)

	logs := &syncBuffer{}
	streams := &Streamer{Catalog: w.cat, Keyring: w.kr, Sinks: w.sinks, HeartbeatInterval: 200 * time.Millisecond,
		IdleEmitInterval: time.Second, CredentialsInterval: 200 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}

	// A steady load: one small transaction every 10 ms until stopped.
	stopLoad := make(chan struct{})
	loadDone := make(chan error, 1)
	var inserted atomic.Int64
	go func() {
		writer, err := w.src.ConnectContext(ctx, "app")
		if err != nil {
			loadDone <- err
			return
		}
		defer writer.Close(ctx)
		for id := 100000; ; id++ {
			select {
			case <-stopLoad:
				loadDone <- nil
				return
			case <-time.After(10 * time.Millisecond):
			}
			if _, err := writer.Exec(ctx, `WITH i AS (INSERT INTO shop.items VALUES ($1, 'load', 1))
				UPDATE shop."Odd Name" SET v = jsonb_build_object('n', $1::bigint) WHERE k = 1`, id); err != nil {
				loadDone <- err
				return
			}
			inserted.Add(1)
		}
	}()

	env := w.env(t, streams)
	done := make(chan error, 1)
	var res ReplicateResult
	go func() {
		v, err := env.ExecuteActivity(streams.Replicate, ReplicateInput{Name: "acts", MaxDuration: 25 * time.Second})
		if err == nil {
			err = v.Get(&res)
		}
		done <- err
	}()

	walsenderUser := func() string {
		var user string
		_ = w.src.QueryRowContext(ctx, "app", `SELECT coalesce(max(usename), '') FROM pg_stat_replication WHERE application_name = 'ardent-acts'`, &user)
		return user
	}
	destUsers := func() string {
		var users string
		_ = w.dst.QueryRowContext(ctx, "postgres", `SELECT coalesce(string_agg(DISTINCT usename, ','), '') FROM pg_stat_activity WHERE datname = 'destination'`, &users)
		return users
	}
	require.Eventually(t, func() bool { return walsenderUser() == "postgres" && inserted.Load() > 50 },
		20*time.Second, 100*time.Millisecond, "the first session never streamed: walsender %q, %d inserted\n%s", walsenderUser(), inserted.Load(), logs.String())
	require.NotContains(t, destUsers(), "writer2")

	_, err = w.cat.SetCredentials(ctx, "acts", secrets.Secret(w.src.URLFor("ardent2", secret, "app")),
		secrets.Secret(w.dst.URLFor("writer2", secret, "destination")), w.kr)
	require.NoError(t, err)
	changedAt := time.Now()
	require.Eventually(t, func() bool { return walsenderUser() == "ardent2" && strings.Contains(destUsers(), "writer2") },
		10*time.Second, 100*time.Millisecond, "the stream did not take the new credentials: walsender %q, destination %q", walsenderUser(), destUsers())
	t.Logf("new credentials taken after %s", time.Since(changedAt).Round(10*time.Millisecond))

	// The new session applies the load; then the load stops and the
	// destination catches up with the source.
	before := inserted.Load()
	require.Eventually(t, func() bool { return inserted.Load() > before+50 }, 10*time.Second, 50*time.Millisecond)
	close(stopLoad)
	require.NoError(t, <-loadDone)
	require.Eventually(t, func() bool {
		a, errA := e2estack.Checksum(ctx, w.srcURL, "shop.items")
		b, errB := e2estack.Checksum(ctx, w.dstURL, "shop.items")
		c, errC := e2estack.Checksum(ctx, w.srcURL, `shop."Odd Name"`)
		d, errD := e2estack.Checksum(ctx, w.dstURL, `shop."Odd Name"`)
		return errA == nil && errB == nil && errC == nil && errD == nil && a == b && c == d
	}, 20*time.Second, 200*time.Millisecond, "the destination never caught up")
	require.Equal(t, 3000+int(inserted.Load()), w.count(t, w.dst, "destination", "shop.items"))

	require.NoError(t, <-done, logs.String())
	require.NotEmpty(t, res.ConfirmedLSN)
	out := logs.String()
	require.Equal(t, 1, strings.Count(out, "credentials changed: new stream session"), out)
	require.NotContains(t, out, secret)
}
