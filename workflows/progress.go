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
	// snapshotting: a Snapshot activity is scheduled and not yet ended, so
	// its reports may move the stage between queued and snapshot.
	snapshotting bool
}

// changeSnapshotQueued is the GetVersion change id of stage queued: from
// version 1 a snapshot report saying it waits for the snapshot scheduler
// moves the stage to queued (a search attribute upsert: a command), and
// the report of its copy's start back to snapshot. It is asked only when
// such a report arrives, so a run that never queues records no marker.
const changeSnapshotQueued = "snapshot-queued"

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
	case p.CatalogChanged:
		// The stream saw the selection's tables change on the source: the
		// tables loop discovers now (while the stream runs), not at its
		// next interval. Nothing to publish.
		if r.ts.enabled {
			r.ts.discoverNow = true
			r.wakeTables()
		}
		return
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
		r.snapshotQueue(ctx, p.Snapshot.Queued)
	case p.Backfill != nil && r.ts.running != "":
		r.ps.backfill = p.Backfill
	}
	r.publish(ctx)
}

// snapshotQueue follows a running snapshot's place in the scheduler's
// queue: stage queued (with why and since when) while it waits, snapshot
// once its copy started (q nil).
func (r *replication) snapshotQueue(ctx workflow.Context, q *contract.QueueWait) {
	if !r.ps.snapshotting || (q == nil && r.st.Stage != contract.StageQueued) {
		return
	}
	if workflow.GetVersion(ctx, changeSnapshotQueued, workflow.DefaultVersion, 1) < 1 {
		return
	}
	r.st.Queued = q
	if q != nil {
		r.setStage(ctx, contract.StageQueued)
	} else {
		r.setStage(ctx, contract.StageSnapshot)
	}
}

// snapshotStarted and snapshotEnded bracket the Snapshot activity: a
// report that arrives after it ended moves no stage.
func (r *replication) snapshotStarted() { r.ps.snapshotting = true }

func (r *replication) snapshotEnded() {
	r.ps.snapshotting = false
	r.st.Queued = nil
}

// streamStarted and streamEnded bracket a Replicate attempt: a report
// belongs to the attempt that runs.
func (r *replication) streamStarted() { r.ps.unhealthy = false }

func (r *replication) streamEnded() { r.ps.unhealthy = false }
