package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
)

// The long activities send their progress to the replication workflow
// (contract.SignalProgress): the stream its health, at once when it
// changes and every minute otherwise; the snapshot and a backfill their
// copy's progress every minute. The workflow sees no heartbeat, and
// without them it would call a stream "streaming" from the moment the
// attempt starts until it fails: with them, stage streaming means the
// stream's last report was healthy, and a stream that reconnects after
// errors with nothing applied shows stage retrying (the attempt keeps
// running) within its grace and a report.
//
// The signal is driven by its own history events: it changes no command of
// a run that receives none, so it needs no GetVersion.

type progressState struct {
	ch signalChan[contract.ProgressReport]
	// unhealthy: the running attempt reported that it cannot apply.
	unhealthy bool
	snapshot  *contract.SnapshotProgress
	backfill  *contract.BackfillProgress
}

// startProgress takes the progress signals for the life of the run.
func (r *replication) startProgress(ctx workflow.Context) {
	r.ps.ch = signalChannel(ctx, contract.SignalProgress)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var p contract.ProgressReport
			if more := r.ps.ch.Receive(ctx, &p); !more {
				return
			}
			r.takeProgress(ctx, p)
		}
	})
}

func (r *replication) takeProgress(ctx workflow.Context, p contract.ProgressReport) {
	switch {
	case p.Stream != nil:
		if !r.vs.streaming {
			return // from an attempt that has ended
		}
		h := *p.Stream
		r.in.Stream = &h
		was := r.ps.unhealthy
		r.ps.unhealthy = !h.Healthy
		if was != r.ps.unhealthy && r.in.Error == "" && r.in.Attempt == 0 {
			r.setStreamStage(ctx)
		}
	case p.Snapshot != nil && r.in.Snapshot == nil:
		r.ps.snapshot = p.Snapshot
	case p.Backfill != nil && r.ts.running != "":
		r.ps.backfill = p.Backfill
	}
	r.publish(ctx)
}

// streamStarted and streamEnded bracket a Replicate attempt: a report
// belongs to the attempt that runs.
func (r *replication) streamStarted() { r.ps.unhealthy = false }

func (r *replication) streamEnded() { r.ps.unhealthy = false }
