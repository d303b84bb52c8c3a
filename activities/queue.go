package activities

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/admission"
	"github.com/ardent-cdc/ardent/internal/pgurl"
)

// PhaseQueued is a backfill's phase while it waits for the snapshot
// scheduler (contract.BackfillProgress.Phase).
const PhaseQueued = "queued"

// sourceHost is the source's host:port, the key of the per-host bound.
// Its first host: a multi-host URL is one primary behind several names.
func sourceHost(src *pgurl.Conn) string {
	return net.JoinHostPort(src.Config.Host, strconv.Itoa(int(src.Config.Port)))
}

func queueWait(w admission.Wait) *contract.QueueWait {
	return &contract.QueueWait{Reason: string(w.Reason), Host: w.Host, Running: w.Running, Limit: w.Limit, Since: w.Since}
}

// admit waits for the scheduler's permit to copy from src. Each change of
// why it waits goes to show (the heartbeat's details) and, at once, to
// the workflow (stage queued), so status and the Web UI show it; a copy
// that never waits reports nothing here. The caller reports the copy's
// start. The returned release must be called once the copy ended.
func admit(ctx context.Context, sch *admission.Scheduler, src *pgurl.Conn, m *Metrics, report Reporter,
	show func(*contract.QueueWait) contract.ProgressReport, log *slog.Logger) (release func(), err error) {
	waited := false
	rel, err := sch.Acquire(ctx, sourceHost(src), func(w admission.Wait) {
		if !waited {
			waited = true
			m.snapshotQueued(1)
			log.Info("copy queued by the snapshot scheduler", "reason", w.Reason, "source_host", w.Host, "running", w.Running, "limit", w.Limit)
		}
		report.send(ctx, show(queueWait(w)), log)
	})
	if waited {
		m.snapshotQueued(-1)
	}
	if err != nil {
		return nil, err
	}
	m.snapshotRunning(1)
	return func() { rel(); m.snapshotRunning(-1) }, nil
}

// reportNow sends p to the workflow at once, stamped now.
func (r Reporter) reportNow(ctx context.Context, p contract.ProgressReport, log *slog.Logger) {
	p.At = time.Now()
	r.send(ctx, p, log)
}
