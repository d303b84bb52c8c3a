package activities

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the worker's Prometheus series. Activities update them in one
// place each (the heartbeat path), never per row.
type Metrics struct {
	ConfirmedLSN   *prometheus.GaugeVec
	LagBytes       *prometheus.GaugeVec
	LagSeconds     *prometheus.GaugeVec
	RowsApplied    *prometheus.CounterVec
	SnapshotRows   *prometheus.CounterVec
	SnapshotBytes  *prometheus.CounterVec
	ActivityErrors *prometheus.CounterVec
}

// NewMetrics registers the series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		ConfirmedLSN: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ardent_confirmed_lsn",
			Help: "LSN committed in the destination and acknowledged to the source."}, []string{"connector"}),
		LagBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ardent_replication_lag_bytes",
			Help: "Bytes of WAL between the source's current position and the confirmed LSN."}, []string{"connector"}),
		LagSeconds: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ardent_replication_lag_seconds",
			Help: "Seconds between the last applied source commit and now."}, []string{"connector"}),
		RowsApplied: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ardent_rows_applied_total",
			Help: "Row changes applied to the destination by streaming."}, []string{"connector"}),
		SnapshotRows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ardent_snapshot_rows_total",
			Help: "Rows copied by the initial snapshot."}, []string{"connector"}),
		SnapshotBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ardent_snapshot_bytes_total",
			Help: "Bytes copied by the initial snapshot."}, []string{"connector"}),
		ActivityErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ardent_activity_errors_total",
			Help: "Activity attempts that ended in an error, by activity and kind."}, []string{"activity", "kind"}),
	}
	reg.MustRegister(m.ConfirmedLSN, m.LagBytes, m.LagSeconds, m.RowsApplied, m.SnapshotRows, m.SnapshotBytes, m.ActivityErrors)
	return m
}
