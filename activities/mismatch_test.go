package activities

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/internal/replication"
	"github.com/ardent-cdc/ardent/internal/sink"
)

// applyErr is what the stream returns when the destination refuses a
// change: the sink's ApplyError wrapped by the apply path.
func applyErr(table, column string, pe *pgconn.PgError) error {
	return fmt.Errorf("apply 3 changes to the destination: %w", &sink.ApplyError{Schema: "app", Table: table, Column: column, Err: pe})
}

func TestSchemaMismatchIsAttentionNamingTableColumnAndDDL(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want []string // in the message
		fix  string   // in the remedy
	}{
		{"column added on the source (42703, column parsed from the message)",
			applyErr("orders", "", &pgconn.PgError{Code: "42703", Message: `column "note" of relation "orders" does not exist`}),
			[]string{`"app"."orders"`, `column "note"`, "42703", "ADD COLUMN"}, `ALTER TABLE "app"."orders" ADD COLUMN "note"`},
		{"qualified undefined column", applyErr("orders", "", &pgconn.PgError{Code: "42703", Message: `column t.extra does not exist`}),
			[]string{`column "extra"`, "ADD COLUMN"}, `ADD COLUMN "extra"`},
		{"table missing (42P01)", applyErr("orders", "", &pgconn.PgError{Code: "42P01", Message: `relation "app.orders" does not exist`}),
			[]string{`"app"."orders"`, "42P01", "created or renamed on the source"}, `CREATE TABLE "app"."orders"`},
		{"datatype mismatch (42804)", applyErr("orders", "qty", &pgconn.PgError{Code: "42804", Message: "column \"qty\" is of type integer but expression is of type text"}),
			[]string{`column "qty"`, "42804", "ALTER COLUMN … TYPE"}, `ALTER TABLE "app"."orders" ALTER COLUMN "qty" TYPE`},
		{"cannot coerce (42846)", applyErr("orders", "qty", &pgconn.PgError{Code: "42846", Message: "cannot cast type jsonb to integer"}),
			[]string{`column "qty"`, "42846", "type was changed"}, `ALTER COLUMN "qty" TYPE`},
		{"invalid text (22P02)", applyErr("orders", "qty", &pgconn.PgError{Code: "22P02", Message: `invalid input syntax for type integer: "1.5"`}),
			[]string{`column "qty"`, "22P02", "type was changed"}, `ALTER COLUMN "qty" TYPE`},
		{"NOT NULL violation from a dropped column (23502)", applyErr("orders", "", &pgconn.PgError{Code: "23502",
			Message: `null value in column "legacy" of relation "orders" violates not-null constraint`, ColumnName: "legacy", Detail: "Failing row contains (secret-value)."}),
			[]string{`column "legacy"`, "23502", "dropped or made nullable on the source"}, `ALTER COLUMN "legacy" DROP NOT NULL`},
		{"value too long (22001)", applyErr("orders", "name", &pgconn.PgError{Code: "22001", Message: "value too long for type character varying(10)"}),
			[]string{`column "name"`, "22001", "widened on the source", "ALTER COLUMN … TYPE"}, `ALTER TABLE "app"."orders" ALTER COLUMN "name" TYPE`},
		{"numeric out of range (22003)", applyErr("orders", "price", &pgconn.PgError{Code: "22003", Message: "numeric field overflow"}),
			[]string{`column "price"`, "22003", "widened on the source"}, `ALTER COLUMN "price" TYPE`},
		{"datetime format (22007)", applyErr("orders", "at", &pgconn.PgError{Code: "22007", Message: "invalid input syntax for type date"}),
			[]string{`column "at"`, "22007", "date/time"}, `ALTER COLUMN "at" TYPE`},
		{"datetime overflow (22008)", applyErr("orders", "at", &pgconn.PgError{Code: "22008", Message: "date/time field value out of range"}),
			[]string{`column "at"`, "22008", "date/time"}, `ALTER COLUMN "at" TYPE`},
		{"bare PgError while applying names the table from its fields", fmt.Errorf("apply: %w", &pgconn.PgError{Code: "23502",
			Message: "null value violates not-null constraint", SchemaName: "app", TableName: "items", ColumnName: "sku"}),
			[]string{`"app"."items"`, `column "sku"`, "23502"}, `ALTER TABLE "app"."items" ALTER COLUMN "sku" DROP NOT NULL`},
		{"bare 42P01 while applying", &pgconn.PgError{Code: "42P01", Message: `relation "items" does not exist`},
			[]string{`"items"`, "42P01"}, `CREATE TABLE "items"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := boundary(tt.err, site{activity: ReplicateName, connector: "shop", lsn: "0/16B3748"})
			var app *temporal.ApplicationError
			require.ErrorAs(t, out, &app)
			require.Equal(t, ErrTypeSchemaMismatch, app.Type())
			require.True(t, app.NonRetryable(), "a schema mismatch is not retried: the operator must act")
			for _, w := range tt.want {
				require.Contains(t, app.Message(), w)
			}
			require.NotContains(t, app.Message(), "secret-value", "DETAIL quotes row values: it stays out")
			var d FailureDetails
			require.NoError(t, app.Details(&d))
			require.Contains(t, d.Remedy, tt.fix)
			require.Contains(t, d.Remedy, "make the destination table match the source")
			require.Contains(t, d.Remedy, "`ardent resume shop`")
			require.Contains(t, d.Remedy, "`ardent drop shop`")
			require.Equal(t, "0/16B3748", d.ConfirmedLSN)
		})
	}
}

func TestNotEverySQLStateIsAMismatch(t *testing.T) {
	// A deadlock inside an ApplyError is retried, and a bare type error
	// outside the apply path is not a schema mismatch.
	out := boundary(applyErr("orders", "", &pgconn.PgError{Code: "40P01"}), site{activity: ReplicateName, connector: "shop"})
	var app *temporal.ApplicationError
	require.ErrorAs(t, out, &app)
	require.Equal(t, ErrTypeTransient, app.Type())
	require.False(t, app.NonRetryable())
	out = boundary(&pgconn.PgError{Code: "22P02"}, site{activity: CreateConnectorName, connector: "shop"})
	require.ErrorAs(t, out, &app)
	require.Equal(t, ErrTypeTransient, app.Type())
}

func TestDestinationBehindHasRemedy(t *testing.T) {
	out := boundary(fmt.Errorf("start slot %q: %w: sink 0/10 < slot 0/20", "ardent_shop", replication.ErrDestinationBehind),
		site{activity: ReplicateName, connector: "shop"})
	var app *temporal.ApplicationError
	require.ErrorAs(t, out, &app)
	require.Equal(t, ErrTypeDestinationBehind, app.Type())
	require.True(t, app.NonRetryable())
	var d FailureDetails
	require.NoError(t, app.Details(&d))
	require.Contains(t, d.Remedy, "restored from a backup")
	require.Contains(t, d.Remedy, "`ardent drop shop`")
}

func TestBoundaryMetricsByConnectorAndStage(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	m.setStage("shop", "streaming")
	require.Equal(t, 1.0, value(t, m.ConnectorStage.WithLabelValues("shop", "streaming")))

	_ = boundary(&pgconn.PgError{Code: "XX000"}, site{activity: ReplicateName, connector: "shop", metrics: m})
	require.Equal(t, 1.0, value(t, m.ActivityErrors.WithLabelValues(ReplicateName, "transient", "shop")))
	require.Equal(t, 0.0, value(t, m.ConnectorStage.WithLabelValues("shop", "streaming")))
	require.Equal(t, 1.0, value(t, m.ConnectorStage.WithLabelValues("shop", "retrying")))

	_ = boundary(applyErr("orders", "note", &pgconn.PgError{Code: "42703"}), site{activity: ReplicateName, connector: "shop", metrics: m})
	require.Equal(t, 1.0, value(t, m.ActivityErrors.WithLabelValues(ReplicateName, ErrTypeSchemaMismatch, "shop")))
	require.Equal(t, 1.0, value(t, m.ConnectorStage.WithLabelValues("shop", "attention")))
	require.Equal(t, 0.0, value(t, m.ConnectorStage.WithLabelValues("shop", "retrying")))

	_ = boundary(fmt.Errorf("%w: gone", errSlotLost), site{activity: ReplicateName, connector: "shop", metrics: m})
	require.Equal(t, 1.0, value(t, m.ConnectorStage.WithLabelValues("shop", "failed")))

	// Other activities count errors but leave the stage alone.
	_ = boundary(&pgconn.PgError{Code: "28P01"}, site{activity: PreflightName, connector: "other", metrics: m})
	require.Equal(t, 1.0, value(t, m.ActivityErrors.WithLabelValues(PreflightName, ErrTypePermanent, "other")))
	require.Equal(t, 4, count(t, m.ConnectorStage), "only shop has stage series")

	// A cancelled stream (pause, drop) leaves no stage behind.
	_ = boundary(fmt.Errorf("stop: %w", context.Canceled), site{activity: ReplicateName, connector: "shop", metrics: m})
	require.Equal(t, 0, count(t, m.ConnectorStage))
}

func value(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	if m.Gauge != nil {
		return m.Gauge.GetValue()
	}
	return m.Counter.GetValue()
}

func count(t *testing.T, c prometheus.Collector) int {
	t.Helper()
	ch := make(chan prometheus.Metric, 100)
	c.Collect(ch)
	close(ch)
	return len(ch)
}
