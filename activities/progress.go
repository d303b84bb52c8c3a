package activities

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/replication"
)

// Reporter sends a running activity's progress to the workflow that
// scheduled it, as the progress signal (contract.SignalProgress): the
// workflow sees no heartbeat, and its stage, status and Web UI details
// must tell whether the stream applies. The worker wires it with its
// Temporal client; nil sends nothing (tests, tools).
type Reporter func(ctx context.Context, workflowID, runID string, p contract.ProgressReport) error

// reportTimeout bounds one report: a slow server delays no heartbeat long.
const reportTimeout = 10 * time.Second

// send sends p to the activity's own workflow run, best effort: a run that
// has ended (continued as new) or a server that does not answer loses one
// report, never the activity.
func (r Reporter) send(ctx context.Context, p contract.ProgressReport, log *slog.Logger) {
	if r == nil || !activity.IsActivity(ctx) {
		return
	}
	info := activity.GetInfo(ctx)
	sctx, cancel := context.WithTimeout(ctx, reportTimeout)
	defer cancel()
	if err := r(sctx, info.WorkflowExecution.ID, info.WorkflowExecution.RunID, p); err != nil && ctx.Err() == nil {
		log.Debug("progress report not sent", "err", err)
	}
}

// startReports sends what progress returns every interval (0:
// contract.ProgressInterval) until stop is called.
func (r Reporter) startReports(ctx context.Context, every time.Duration, progress func() contract.ProgressReport, log *slog.Logger) (stop func()) {
	if r == nil {
		return func() {}
	}
	if every <= 0 {
		every = contract.ProgressInterval
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				r.send(ctx, progress(), log)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// DefaultUnhealthyAfter is how long a stream may reconnect after errors
// with nothing applied before it reports itself unhealthy: one reconnect
// (a walsender restart, a brief network cut) changes no stage.
const DefaultUnhealthyAfter = 20 * time.Second

// healthWatch turns the stream's counters into its health, and says when
// to report it: at once when it changes (and first), else every interval.
type healthWatch struct {
	grace, every time.Duration
	lastOK       time.Time // the attempt's start, then its last accepted write
	sent         bool
	healthy      bool
	sentAt       time.Time
}

func newHealthWatch(start time.Time, grace, every time.Duration) *healthWatch {
	if grace <= 0 {
		grace = DefaultUnhealthyAfter
	}
	if every <= 0 {
		every = contract.ProgressInterval
	}
	return &healthWatch{grace: grace, every: every, lastOK: start}
}

// observe returns the stream's health at now, and whether to report it.
// Unhealthy: reconnecting after an error (StreamError set) with nothing
// applied for longer than grace.
func (w *healthWatch) observe(st replication.Stats, now time.Time) (contract.StreamHealth, bool) {
	if st.LastWriteTime.After(w.lastOK) {
		w.lastOK = st.LastWriteTime
	}
	h := contract.StreamHealth{Healthy: st.LastError == "" || now.Sub(w.lastOK) < w.grace,
		LastApplyAt: st.LastWriteTime, LagBytes: int64(st.LagBytes), LagSeconds: st.LagSeconds}
	if !h.Healthy {
		h.Error = st.LastError
	}
	send := !w.sent || h.Healthy != w.healthy || now.Sub(w.sentAt) >= w.every
	if send {
		w.sent, w.healthy, w.sentAt = true, h.Healthy, now
	}
	return h, send
}
