package activities

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the worker's Prometheus series. Activities update them in one
// place each (the heartbeat path and the error boundary), never per row.
// Every method is safe on a nil *Metrics (activities built without them).
type Metrics struct {
	ConfirmedLSN   *prometheus.GaugeVec
	LagBytes       *prometheus.GaugeVec
	LagSeconds     *prometheus.GaugeVec
	RowsApplied    *prometheus.CounterVec
	SnapshotRows   *prometheus.CounterVec
	SnapshotBytes  *prometheus.CounterVec
	ActivityErrors *prometheus.CounterVec
	// ConnectorStage is the connector's stage as this worker sees it: 1 for
	// the current one of WorkerStages, 0 for the others. Activities cannot
	// see the workflow's stage: Replicate sets streaming while it streams,
	// its error boundary sets retrying, attention or failed by the error's
	// class. No series for a connector means this worker runs no stream for
	// it (paused, dropped, or on another worker). The workflow's stage, in
	// `ardent status` and the ArdentStage search attribute, has the last word.
	ConnectorStage *prometheus.GaugeVec
	// LastApply is when the destination last accepted a write for the
	// connector (idle heartbeats included), as Unix seconds.
	LastApply *prometheus.GaugeVec
	// VerifyTableEqual is 1 when the table equalled its source at the last
	// verification that compared it, 0 when it differed.
	VerifyTableEqual *prometheus.GaugeVec
	// VerifyLastRun is when the connector's last verification completed,
	// as Unix seconds; VerifyDifferent counts its tables that differ.
	VerifyLastRun   *prometheus.GaugeVec
	VerifyDifferent *prometheus.GaugeVec
	// DriftCheckFailed is 1 for each drift check (contract.DriftCheckIDs)
	// that failed at the connector's last drift check, 0 for the others:
	// a regression of the source since onboarding (stage attention).
	DriftCheckFailed *prometheus.GaugeVec
	// SnapshotsQueued and SnapshotsRunning are this worker's copies (initial
	// snapshots and backfills) waiting for the snapshot scheduler, and
	// holding its permit.
	SnapshotsQueued  prometheus.Gauge
	SnapshotsRunning prometheus.Gauge

	mu sync.Mutex
	// verified is, per connector, each table's last verdict: a run of
	// some tables (`ardent verify --table`) updates only theirs, and
	// VerifyDifferent counts them all.
	verified map[string]map[string]bool
}

// WorkerStages are the stages ardent_connector_stage reports.
var WorkerStages = []string{"streaming", "retrying", "attention", "failed"}

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
			Help: "Activity attempts that ended in an error, by activity, kind (error class) and connector."},
			[]string{"activity", "kind", "connector"}),
		ConnectorStage: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ardent_connector_stage",
			Help: "1 for the connector's stage as this worker sees it (streaming while its stream runs; retrying, attention or failed " +
				"by the class of the error the stream ended with), 0 for the other stages. The workflow's stage has the last word."},
			[]string{"connector", "stage"}),
		LastApply: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ardent_last_apply_timestamp_seconds",
			Help: "Unix time at which the destination last accepted a write for the connector (idle heartbeats included)."},
			[]string{"connector"}),
		VerifyTableEqual: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ardent_verify_table_equal",
			Help: "1 when the destination table equalled its source table at the last verification that compared it, 0 when it differed."},
			[]string{"connector", "table"}),
		VerifyLastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ardent_verify_last_run_timestamp_seconds",
			Help: "Unix time at which the connector's last verification completed (equal or not; not one that failed)."},
			[]string{"connector"}),
		VerifyDifferent: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ardent_verify_different_tables",
			Help: "Tables of the connector whose destination differed from the source at their last verification."},
			[]string{"connector"}),
		DriftCheckFailed: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ardent_drift_check_failed",
			Help: "1 when the drift check failed at the connector's last drift check (the source regressed since onboarding: stage attention), 0 when it did not."},
			[]string{"connector", "check"}),
		SnapshotsQueued: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ardent_snapshots_queued",
			Help: "Copies (initial snapshots, backfills) on this worker waiting for the snapshot scheduler (a worker slot or a source-host permit)."}),
		SnapshotsRunning: prometheus.NewGauge(prometheus.GaugeOpts{Name: "ardent_snapshots_running",
			Help: "Copies (initial snapshots, backfills) on this worker holding the snapshot scheduler's permit."}),
		verified: map[string]map[string]bool{},
	}
	reg.MustRegister(m.ConfirmedLSN, m.LagBytes, m.LagSeconds, m.RowsApplied, m.SnapshotRows, m.SnapshotBytes, m.ActivityErrors,
		m.ConnectorStage, m.LastApply, m.VerifyTableEqual, m.VerifyLastRun, m.VerifyDifferent, m.DriftCheckFailed,
		m.SnapshotsQueued, m.SnapshotsRunning)
	return m
}

func (m *Metrics) snapshotQueued(d float64) {
	if m != nil && m.SnapshotsQueued != nil {
		m.SnapshotsQueued.Add(d)
	}
}

func (m *Metrics) snapshotRunning(d float64) {
	if m != nil && m.SnapshotsRunning != nil {
		m.SnapshotsRunning.Add(d)
	}
}

func (m *Metrics) activityError(activity, connector, kind string) {
	if m == nil {
		return
	}
	if kind == ErrTypeTransient {
		kind = "transient" // the label value before error classes had names
	}
	m.ActivityErrors.WithLabelValues(activity, kind, connector).Inc()
}

func (m *Metrics) setStage(connector, stage string) {
	if m == nil || connector == "" {
		return
	}
	for _, s := range WorkerStages {
		v := 0.0
		if s == stage {
			v = 1
		}
		m.ConnectorStage.WithLabelValues(connector, s).Set(v)
	}
}

func (m *Metrics) forgetStage(connector string) {
	if m == nil || connector == "" {
		return
	}
	m.ConnectorStage.DeletePartialMatch(prometheus.Labels{"connector": connector})
}

// verifiedReport records a completed verification. A run of every table
// (all) replaces the connector's table series, so a table no longer
// replicated drops out; a run of some tables updates only theirs.
func (m *Metrics) verifiedReport(connector string, r *VerifyReport, all bool, now time.Time) {
	if m == nil || r == nil || connector == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.verified == nil {
		m.verified = map[string]map[string]bool{}
	}
	tables := m.verified[connector]
	if all || tables == nil {
		tables = map[string]bool{}
		m.verified[connector] = tables
		m.VerifyTableEqual.DeletePartialMatch(prometheus.Labels{"connector": connector})
	}
	for _, t := range r.Tables {
		tables[t.Table] = t.Equal
		v := 0.0
		if t.Equal {
			v = 1
		}
		m.VerifyTableEqual.WithLabelValues(connector, t.Table).Set(v)
	}
	different := 0
	for _, equal := range tables {
		if !equal {
			different++
		}
	}
	at := r.FinishedAt
	if at.IsZero() {
		at = now
	}
	m.VerifyLastRun.WithLabelValues(connector).Set(float64(at.UnixNano()) / 1e9)
	m.VerifyDifferent.WithLabelValues(connector).Set(float64(different))
}
