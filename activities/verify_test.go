package activities

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
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

func TestPostgresDestination(t *testing.T) {
	got, err := postgresDestination("postgres://u:pw@db:5432/dst")
	require.NoError(t, err)
	require.Contains(t, got, "sslmode=", "the sslmode default applies as for the sink")
	_, err = postgresDestination("kafka://broker:9092")
	require.ErrorIs(t, err, errInvalidInput)
	require.ErrorContains(t, err, "PostgreSQL destinations only")
	_, err = postgresDestination("postgres://u@:5432")
	require.ErrorIs(t, err, errInvalidInput)
}
