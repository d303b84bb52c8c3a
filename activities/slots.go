package activities

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ardent-cdc/ardent/internal/slotwatch"
	"github.com/ardent-cdc/ardent/internal/source"
)

// SlotMetrics are the series of the worker's slot watcher
// (internal/slotwatch), which reads every live connector's slot on a
// schedule whether or not a stream runs. It is the watcher's Recorder: when
// a connector leaves the catalog it forgets the connector's slot series
// and every per-connector series of Metrics with them.
type SlotMetrics struct {
	RetainedBytes *prometheus.GaugeVec
	Active        *prometheus.GaugeVec
	// WALStatus is 1 for the slot's current wal_status (one of
	// slotwatch.WALStatuses), 0 for the others.
	WALStatus   *prometheus.GaugeVec
	SafeWALSize *prometheus.GaugeVec
	LastChecked *prometheus.GaugeVec
	CheckErrors *prometheus.CounterVec

	metrics *Metrics
}

var _ slotwatch.Recorder = (*SlotMetrics)(nil)

// NewSlotMetrics registers the slot series on reg; m (may be nil) are the
// activities' series it forgets along with its own.
func NewSlotMetrics(reg prometheus.Registerer, m *Metrics) *SlotMetrics {
	s := &SlotMetrics{
		RetainedBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ardent_slot_retained_wal_bytes",
			Help: "Bytes of WAL the connector's slot keeps on the source (pg_current_wal_lsn() - restart_lsn); no series while the slot has no restart_lsn (lost, missing)."},
			[]string{"connector"}),
		Active: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ardent_slot_active",
			Help: "1 when a session (a stream) holds the connector's slot, 0 when none does or the slot is missing."},
			[]string{"connector"}),
		WALStatus: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ardent_slot_wal_status",
			Help: "1 for the slot's current wal_status (reserved, extended, unreserved, lost; missing when the source has no such slot), 0 for the others."},
			[]string{"connector", "status"}),
		SafeWALSize: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ardent_slot_safe_wal_size_bytes",
			Help: "Bytes of WAL the source can still write before the slot risks invalidation (safe_wal_size); no series when unlimited (max_slot_wal_keep_size = -1) or unknown."},
			[]string{"connector"}),
		LastChecked: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "ardent_slot_last_checked_timestamp_seconds",
			Help: "Unix time of the last successful reading of the connector's slot."},
			[]string{"connector"}),
		CheckErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ardent_slot_check_errors_total",
			Help: "Readings of the connector's slot that failed (source unreachable or refusing, credentials not opened, timeout)."},
			[]string{"connector"}),
		metrics: m,
	}
	reg.MustRegister(s.RetainedBytes, s.Active, s.WALStatus, s.SafeWALSize, s.LastChecked, s.CheckErrors)
	return s
}

// Observe records one reading of connector's slot.
func (s *SlotMetrics) Observe(connector string, r source.SlotRetention, at time.Time) {
	status := r.WALStatus
	if !r.Exists {
		status = slotwatch.Missing
	}
	for _, st := range slotwatch.WALStatuses {
		s.WALStatus.WithLabelValues(connector, st).Set(b2f(st == status))
	}
	s.Active.WithLabelValues(connector).Set(b2f(r.Active))
	if r.RetainedBytes != nil {
		s.RetainedBytes.WithLabelValues(connector).Set(*r.RetainedBytes)
	} else {
		s.RetainedBytes.DeleteLabelValues(connector)
	}
	if r.SafeWALSize != nil {
		s.SafeWALSize.WithLabelValues(connector).Set(float64(*r.SafeWALSize))
	} else {
		s.SafeWALSize.DeleteLabelValues(connector)
	}
	s.LastChecked.WithLabelValues(connector).Set(float64(at.UnixNano()) / 1e9)
}

// CheckFailed counts a failed reading. The other series keep the last
// reading: ardent_slot_last_checked_timestamp_seconds says how old it is.
func (s *SlotMetrics) CheckFailed(connector string) {
	s.CheckErrors.WithLabelValues(connector).Inc()
}

// Connectors are the connectors with a series here or in Metrics.
func (s *SlotMetrics) Connectors() []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s.vecs() {
		for _, name := range connectorsOf(v) {
			if !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
	}
	return out
}

// Forget removes every series of connector, its slot's and the activities'.
func (s *SlotMetrics) Forget(connector string) {
	for _, v := range s.own() {
		v.DeletePartialMatch(prometheus.Labels{"connector": connector})
	}
	s.metrics.ForgetConnector(connector)
}

func (s *SlotMetrics) own() []vec {
	return []vec{s.RetainedBytes, s.Active, s.WALStatus, s.SafeWALSize, s.LastChecked, s.CheckErrors}
}

// vecs are s's own vectors first, then those of Metrics.
func (s *SlotMetrics) vecs() []vec { return append(s.own(), s.metrics.connectorVecs()...) }

// ForgetConnector removes every series of connector (a dropped connector
// must not go on exporting its last lag, stage or counters).
func (m *Metrics) ForgetConnector(connector string) {
	if m == nil || connector == "" {
		return
	}
	for _, v := range m.connectorVecs() {
		v.DeletePartialMatch(prometheus.Labels{"connector": connector})
	}
	m.mu.Lock()
	delete(m.verified, connector)
	m.mu.Unlock()
}

// vec is a GaugeVec or a CounterVec.
type vec interface {
	prometheus.Collector
	DeletePartialMatch(prometheus.Labels) int
}

// connectorVecs are every vector of m labelled by connector
// (TestConnectorVecsAreEveryVector keeps the list whole).
func (m *Metrics) connectorVecs() []vec {
	if m == nil {
		return nil
	}
	return []vec{m.ConfirmedLSN, m.LagBytes, m.LagSeconds, m.RowsApplied, m.SnapshotRows, m.SnapshotBytes,
		m.ActivityErrors, m.ConnectorStage, m.LastApply, m.VerifyTableEqual, m.VerifyLastRun, m.VerifyDifferent, m.DriftCheckFailed}
}

// connectorsOf lists the connector label values of v's series.
func connectorsOf(v prometheus.Collector) []string {
	ch := make(chan prometheus.Metric)
	go func() {
		v.Collect(ch)
		close(ch)
	}()
	var out []string
	for m := range ch {
		var pb dto.Metric
		if m.Write(&pb) != nil {
			continue
		}
		for _, l := range pb.GetLabel() {
			if l.GetName() == "connector" {
				out = append(out, l.GetValue())
			}
		}
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
