package preflight

import (
	"context"
	"time"
)

// The WAL rate from the last checkpoint. Every checkpoint records where
// its redo starts and when it began, so the WAL written since, over the
// time since, is the source's rate over the last few minutes, read in one
// query. That is a better forecast for a snapshot of minutes or hours than
// a sample of a second and a half, and it costs no wait.
//
// It is trusted only when it describes recent minutes of a running
// server; otherwise wal_budget samples as before:
//   - at least minCheckpointWindow long. checkpoint_time has whole seconds
//     (the checkpointer's time(NULL)), so the true window is up to
//     checkpointTimeGrain shorter than the age read; the rate divides by
//     that shorter span, never understating it. Five seconds bound the
//     overstatement to a fifth and are more than three of the 1.5 s
//     samples this replaces: a checkpoint a few seconds old (the one
//     after a bulk load, a restore, or an operator's CHECKPOINT) no
//     longer costs onboarding the sample's wait;
//   - the checkpoint was written by this postmaster, not before a restart
//     (the window would span the downtime);
//   - at most twice checkpoint_timeout old. A server that writes
//     checkpoints at least that often (the checkpointer starts one each
//     checkpoint_timeout when anything was written, and spreads it over at
//     most that long); an older one means the server was quiet at the last
//     timeout and whatever it writes now may have begun a moment ago, which
//     a long window would dilute.
var minCheckpointWindow = 5 * time.Second

// checkpointTimeGrain is the resolution of pg_control's checkpoint_time.
const checkpointTimeGrain = time.Second

// checkpointWindowQuery reads the WAL since the last checkpoint's redo
// point, that checkpoint's age, whether this postmaster wrote it, and
// checkpoint_timeout (seconds). pg_control_checkpoint() is executable by
// PUBLIC by default.
const checkpointWindowQuery = `
SELECT (pg_current_wal_insert_lsn() - c.redo_lsn)::bigint,
       extract(epoch FROM clock_timestamp() - c.checkpoint_time)::float8,
       c.checkpoint_time >= pg_postmaster_start_time(),
       extract(epoch FROM current_setting('checkpoint_timeout')::interval)::float8
FROM pg_control_checkpoint() c`

// walWindow is the WAL written over a window of the server's recent past.
type walWindow struct {
	bytes   int64
	age     time.Duration
	current bool          // written by the running postmaster
	timeout time.Duration // checkpoint_timeout
}

// span is the shortest the window can be: its age less what the
// checkpoint time's whole seconds may have cut off its start.
func (w walWindow) span() time.Duration { return w.age - checkpointTimeGrain }

// usable says whether w may stand for the source's WAL rate (see above).
func (w walWindow) usable() bool {
	return w.current && w.bytes >= 0 && w.span() >= minCheckpointWindow && w.age <= 2*w.timeout
}

// checkpointWindow reads the window since the last checkpoint and reports
// whether it is usable; any error (a role the function was revoked from)
// leaves wal_budget to its timed sample.
func (r *runner) checkpointWindow(ctx context.Context) (walWindow, bool) {
	pctx, cancel := r.probeCtx(ctx)
	defer cancel()
	var w walWindow
	var age, timeout float64
	if err := r.conn.QueryRow(pctx, checkpointWindowQuery).Scan(&w.bytes, &age, &w.current, &timeout); err != nil {
		r.opts.Logger.Debug("wal_budget: no checkpoint window, sampling", "error", r.errText(err))
		return walWindow{}, false
	}
	w.age = time.Duration(age * float64(time.Second))
	w.timeout = time.Duration(timeout * float64(time.Second))
	return w, w.usable()
}
