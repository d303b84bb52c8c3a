package activities

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/internal/verify"
)

func TestVerifyMetrics(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	equal := func(table string) float64 { return value(t, m.VerifyTableEqual.WithLabelValues("orders", table)) }

	// A full run: every table's verdict, the count of different ones.
	m.verifiedReport("orders", &VerifyReport{FinishedAt: at, Tables: []VerifyTable{
		{Table: "public.a", Equal: true}, {Table: "public.b"}, {Table: "public.c"}}}, true, time.Time{})
	require.Equal(t, 1.0, equal("public.a"))
	require.Equal(t, 0.0, equal("public.b"))
	require.Equal(t, 2.0, value(t, m.VerifyDifferent.WithLabelValues("orders")))
	require.Equal(t, float64(at.Unix()), value(t, m.VerifyLastRun.WithLabelValues("orders")))

	// A run of one table updates it and recounts: c still differs.
	m.verifiedReport("orders", &VerifyReport{FinishedAt: at.Add(time.Hour), Tables: []VerifyTable{{Table: "public.b", Equal: true}}}, false, time.Time{})
	require.Equal(t, 1.0, equal("public.b"))
	require.Equal(t, 1.0, value(t, m.VerifyDifferent.WithLabelValues("orders")))
	require.Equal(t, float64(at.Add(time.Hour).Unix()), value(t, m.VerifyLastRun.WithLabelValues("orders")))

	// A full run replaces the table series: a table no longer replicated
	// disappears.
	m.verifiedReport("orders", &VerifyReport{Tables: []VerifyTable{{Table: "public.a", Equal: true}}}, true, at.Add(2*time.Hour))
	require.Equal(t, 1, count(t, m.VerifyTableEqual))
	require.Equal(t, 0.0, value(t, m.VerifyDifferent.WithLabelValues("orders")))
	require.Equal(t, float64(at.Add(2*time.Hour).Unix()), value(t, m.VerifyLastRun.WithLabelValues("orders")),
		"a report without a finish time counts as finished now")

	// Other connectors are their own.
	m.verifiedReport("users", &VerifyReport{Tables: []VerifyTable{{Table: "public.a"}}}, true, at)
	require.Equal(t, 1.0, equal("public.a"))
	require.Equal(t, 1.0, value(t, m.VerifyDifferent.WithLabelValues("users")))

	var none *Metrics
	none.verifiedReport("orders", &VerifyReport{}, true, at) // nil-safe
}

func TestVerifyErrorsClassified(t *testing.T) {
	tests := []struct {
		err      error
		wantType string
		remedy   string
	}{
		{fmt.Errorf("verify connector c: %w", &verify.UnknownTableError{Names: []string{"public.nope"}, Known: []string{"public.a"}}),
			ErrTypeInvalidInput, ""},
		{fmt.Errorf("verify connector c: %w", verify.ErrNoFreeSlot), ErrTypeNoFreeSlot, "max_replication_slots"},
		{fmt.Errorf("verify connector c: hold: %w", verify.ErrApplyNotReached), ErrTypeApplyNotReached, "`ardent status c`"},
	}
	for _, tt := range tests {
		t.Run(tt.wantType, func(t *testing.T) {
			out := boundary(tt.err, site{activity: VerifyName, connector: "c"})
			var app *temporal.ApplicationError
			require.ErrorAs(t, out, &app)
			require.Equal(t, tt.wantType, app.Type())
			require.True(t, app.NonRetryable())
			require.Contains(t, app.Message(), tt.err.Error())
			var d FailureDetails
			if tt.remedy != "" {
				require.NoError(t, app.Details(&d))
				require.Contains(t, d.Remedy, tt.remedy)
			}
		})
	}
}

func TestParseConns(t *testing.T) {
	var pw []string
	src, dst, err := parseConns("postgres://u:s3cret@db:5432/src", "postgres://w:t0p@wh:5432/dst", &pw)
	require.NoError(t, err)
	require.Contains(t, dst.Config.ConnString(), "sslmode=", "the sslmode default applies to the destination too")
	require.Equal(t, "db:5432/src", src.Display())
	require.Equal(t, []string{"s3cret", "t0p"}, pw, "the passwords to scrub, taken from the parsed values")
	_, _, err = parseConns("", "kafka://broker:9092", &pw)
	require.ErrorIs(t, err, errInvalidInput)
	require.ErrorContains(t, err, "PostgreSQL destinations only")
	require.ErrorContains(t, err, "destination URL")
	_, _, err = parseConns("postgres://u@:5432", "", &pw)
	require.ErrorIs(t, err, errInvalidInput)
	require.ErrorContains(t, err, "source URL")
}

// TestVerifyBesideTheStream runs Verify on real clusters while Replicate
// streams: equal after the snapshot, different (with the key) after a row
// is deleted on the destination behind Ardent's back; an unknown table is
// non-retryable InvalidInput.
func TestVerifyBesideTheStream(t *testing.T) {
	if testing.Short() {
		t.Skip("needs PostgreSQL")
	}
	w := newWorld(t)
	conns := &Connectors{Catalog: w.cat, Keyring: w.kr, Sinks: w.sinks}
	snaps := &Snapshotter{Catalog: w.cat, Keyring: w.kr, Sinks: w.sinks, HeartbeatInterval: 50 * time.Millisecond}
	streams := &Streamer{Catalog: w.cat, Keyring: w.kr, Sinks: w.sinks, HeartbeatInterval: 200 * time.Millisecond, IdleEmitInterval: time.Second}
	metrics := NewMetrics(prometheus.NewRegistry())
	verifier := &Verifier{Catalog: w.cat, Keyring: w.kr, HeartbeatInterval: 50 * time.Millisecond, Metrics: metrics}
	_, err := w.env(t, conns).ExecuteActivity(conns.CreateConnector, CreateConnectorInput{Name: "ver", SourceURL: w.srcURL,
		DestinationURL: w.dstURL, Selection: Selection{Schemas: []string{"shop"}}})
	require.NoError(t, err)
	_, err = w.env(t, snaps).ExecuteActivity(snaps.Snapshot, SnapshotInput{Name: "ver"})
	require.NoError(t, err)

	streamDone := make(chan error, 1)
	go func() {
		_, err := w.env(t, streams).ExecuteActivity(streams.Replicate, ReplicateInput{Name: "ver", MaxDuration: 40 * time.Second})
		streamDone <- err
	}()
	w.src.Exec(t, "app", `INSERT INTO shop.items SELECT g, 'new', 1 FROM generate_series(3001, 3100) g`)

	run := func(in VerifyInput) (*VerifyReport, []VerifyProgress, error) {
		env := w.env(t, verifier)
		var beats []VerifyProgress
		env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
			var p VerifyProgress
			if details.HasValues() && details.Get(&p) == nil {
				beats = append(beats, p)
			}
		})
		v, err := env.ExecuteActivity(verifier.Verify, in)
		if err != nil {
			return nil, beats, err
		}
		var rep VerifyReport
		require.NoError(t, v.Get(&rep))
		return &rep, beats, nil
	}

	rep, beats, err := run(VerifyInput{Name: "ver"})
	require.NoError(t, err)
	require.True(t, rep.Equal, "%+v", rep)
	require.Len(t, rep.Tables, 2)
	require.NotEmpty(t, beats, "Verify heartbeats")
	require.Equal(t, 0.0, value(t, metrics.VerifyDifferent.WithLabelValues("ver")))
	require.Equal(t, 1.0, value(t, metrics.VerifyTableEqual.WithLabelValues("ver", "shop.items")))

	w.dst.Exec(t, "destination", `DELETE FROM shop.items WHERE id = 1234`)
	rep, _, err = run(VerifyInput{Name: "ver", Tables: []string{"shop.items"}})
	require.NoError(t, err)
	require.False(t, rep.Equal)
	require.Equal(t, []string{"shop.items"}, rep.Different())
	require.Len(t, rep.Tables, 1, "only the table asked for")
	require.Contains(t, rep.Tables[0].Examples, VerifyDifference{Key: "1234", Kind: "missing"})
	require.Equal(t, 1.0, value(t, metrics.VerifyDifferent.WithLabelValues("ver")))
	require.Equal(t, 0.0, value(t, metrics.VerifyTableEqual.WithLabelValues("ver", "shop.items")))

	_, _, err = run(VerifyInput{Name: "ver", Tables: []string{"shop.nope"}})
	var app *temporal.ApplicationError
	require.ErrorAs(t, err, &app)
	require.Equal(t, ErrTypeInvalidInput, app.Type(), app.Error())
	require.True(t, app.NonRetryable())
	require.Contains(t, app.Message(), "shop.nope")

	require.NoError(t, <-streamDone, "the stream ran its whole run beside the verifications")
}
