package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/ardent-cdc/ardent/contract"
)

// follow shows an onboarding live until it streams (nil), fails or is
// dropped (exit 1). Stage changes print as lines; the snapshot draws a
// progress bar. runID is the onboarding run it follows, with the
// replication workflow that run hands off to ("": the one running now).
func follow(ctx context.Context, c *cli, tc client.Client, dc converter.DataConverter, name, runID string) error {
	fr, err := newFollowedRun(ctx, tc, name, runID)
	if err != nil {
		return err
	}
	var (
		last       contract.Stage
		lastTry    int
		lastReport time.Time
		bar        *progressbar.ProgressBar
		transient  int
		walShown   bool
	)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		st, t, err := fr.status(ctx, tc, dc)
		var final *exitError
		if errors.As(err, &final) {
			return err // not a hiccup: the run ended or was replaced
		}
		if err != nil {
			// The worker may be restarting: keep following for a while.
			transient++
			if transient > 60 || ctx.Err() != nil {
				return err
			}
		} else {
			transient = 0
			if st.Stage != last || st.Attempt != lastTry {
				if bar != nil {
					_ = bar.Finish()
					fmt.Fprintln(c.out)
					bar = nil
				}
				fmt.Fprintf(c.out, "%s  %s\n", time.Now().Format(time.TimeOnly), stageLine(st))
				// Once preflight passed: what the snapshot will retain.
				if line := walBudgetLine(st.Report); line != "" && st.Report.Passed && !walShown {
					fmt.Fprintf(c.out, "          wal budget: %s\n", line)
					walShown = true
				}
				last, lastTry = st.Stage, st.Attempt
			}
			if st.Stage == contract.StageWaitingForSQL && st.Report != nil && !st.Report.CheckedAt.Equal(lastReport) {
				lastReport = st.Report.CheckedAt
				renderPreflight(c.out, "Preflight run "+strconv.Itoa(st.Attempts), st.Report, true,
					"Apply the SQL from `ardent sql --source ...`, then run `ardent signal sql-applied "+name+"` (or wait for the next automatic check).")
			}
			if p := st.SnapshotProgress; p != nil && st.Stage == contract.StageSnapshot {
				if bar == nil {
					max := p.EstimatedRows
					if max <= 0 {
						max = -1
					}
					bar = progressbar.NewOptions64(max, progressbar.OptionSetWriter(c.out), progressbar.OptionSetDescription("snapshot"),
						progressbar.OptionShowCount(), progressbar.OptionSetItsString("rows"), progressbar.OptionShowIts(),
						progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetPredictTime(true))
				}
				if p.EstimatedRows > bar.GetMax64() {
					bar.ChangeMax64(p.EstimatedRows)
				}
				_ = bar.Set64(p.Rows)
			}
			switch st.Stage {
			case contract.StageStreaming:
				if bar != nil {
					_ = bar.Finish()
					fmt.Fprintln(c.out)
				}
				fmt.Fprintf(c.out, "%s is streaming; `ardent status %s` shows position and lag\n", name, name)
				return nil
			case contract.StageFailed, contract.StageAttention:
				return &exitError{code: 1, err: fmt.Errorf("onboarding %s stopped in stage %s: %s (%s)", name, st.Stage, st.Error, st.Remedy)}
			case contract.StageDropped:
				return &exitError{code: 1, err: fmt.Errorf("onboarding %s was dropped", name)}
			case contract.StageCancelled:
				return &exitError{code: 1, err: fmt.Errorf("onboarding %s was cancelled: %s (%s)", name, st.Error, st.Remedy)}
			}
			// A finished onboarding handed the connector to its replication
			// workflow (stage snapshot before handed_off existed): the next
			// status comes from there.
			if !t.running && st.Stage != contract.StageHandedOff && st.Stage != contract.StageSnapshot {
				return &exitError{code: 1, err: fmt.Errorf("workflow %s ended in stage %s", t.id, st.Stage)}
			}
		}
		select {
		case <-ctx.Done():
			return &exitError{code: 1, err: fmt.Errorf("stopped following %s: it continues in the background (`ardent status %s`)", name, name)}
		case <-tick.C:
		}
	}
}

func stageLine(st contract.Status) string {
	switch st.Stage {
	case contract.StagePreflight:
		return fmt.Sprintf("preflight (run %d)", st.Attempts)
	case contract.StageWaitingForSQL:
		return "waiting for the operator to apply SQL"
	case contract.StageCreatingConnector:
		return "preflight passed; creating the connector"
	case contract.StageSnapshot:
		return "taking the initial snapshot"
	case contract.StageQueued:
		if q := queueOf(st); q != nil {
			return "initial snapshot queued: " + q.Why()
		}
		return "initial snapshot queued"
	case contract.StageStreaming:
		return "streaming changes"
	case contract.StageHandedOff:
		return "connector created; handed to the replication workflow"
	case contract.StageRetrying:
		if st.Attempt == 0 {
			return "retrying"
		}
		return fmt.Sprintf("retrying: attempt %d failed: %s", st.Attempt, st.LastError)
	default:
		return string(st.Stage)
	}
}
