package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ardent-cdc/ardent/contract"
)

// renderStatus writes the human form of a connector's status.
func renderStatus(w io.Writer, st contract.Status, t target) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "connector\t%s\n", st.Name)
	run := "completed"
	if t.running {
		run = "running"
	}
	fmt.Fprintf(tw, "workflow\t%s (%s, %s)\n", t.id, st.Workflow, run)
	switch {
	case st.Diverged:
		fmt.Fprintf(tw, "stage\t%s (the destination differs from the source; the stream keeps running, see what to do)\n", st.Stage)
	case quarantinedOnly(st):
		fmt.Fprintf(tw, "stage\t%s (%s quarantined; the other tables keep streaming, see below)\n", st.Stage, plural(len(st.Tables.Attention), "table"))
	default:
		fmt.Fprintf(tw, "stage\t%s\n", stageWord(st.Stage))
	}
	fmt.Fprintf(tw, "source\t%s\n", st.SourceDisplay)
	if st.HandedOffTo != "" {
		fmt.Fprintf(tw, "handed off to\t%s\n", st.HandedOffTo)
	}
	if st.Attempts > 0 {
		fmt.Fprintf(tw, "preflight runs\t%d\n", st.Attempts)
	}
	if line := walBudgetLine(st.Report); line != "" {
		fmt.Fprintf(tw, "wal budget\t%s\n", line)
	}
	if st.NextCheckAt != nil && st.Stage == contract.StageWaitingForSQL {
		fmt.Fprintf(tw, "next check\t%s (or sooner on `ardent signal sql-applied %s`)\n", st.NextCheckAt.Local().Format(time.TimeOnly), st.Name)
	}
	if st.Snapshot != nil {
		fmt.Fprintf(tw, "snapshot\t%d tables, %d rows, consistent at %s\n", st.Snapshot.Tables, st.Snapshot.Rows, st.Snapshot.ConsistentLSN)
	}
	if q := queueOf(st); q != nil {
		fmt.Fprintf(tw, "queued\t%s, since %s (%s ago)\n", q.Why(), q.Since.Local().Format(time.TimeOnly),
			max(time.Since(q.Since), 0).Round(time.Second))
	} else if p := st.SnapshotProgress; p != nil {
		fmt.Fprintf(tw, "copying\t%s\n", snapshotLine(p))
	}
	if p := st.ReplicationProgress; p != nil && p.SampledAt.IsZero() {
		fmt.Fprintf(tw, "replication\tstarting (no position reported yet)\n")
	} else if p != nil {
		fmt.Fprintf(tw, "confirmed LSN\t%s (received %s; as of %s)\n", p.ConfirmedLSN, p.ReceivedLSN, p.SampledAt.Local().Format(time.TimeOnly))
		fmt.Fprintf(tw, "lag\t%s, %.1f s\n", bytesHuman(p.LagBytes), p.LagSeconds)
		fmt.Fprintf(tw, "applied\t%d rows in %d transactions (%.0f rows/s)\n", p.RowsApplied, p.TxApplied, p.RowsPerSecond)
		if !p.LastApplyAt.IsZero() {
			fmt.Fprintf(tw, "last apply\t%s\n", p.LastApplyAt.Local().Format(time.TimeOnly))
		}
		if p.StreamError != "" {
			fmt.Fprintf(tw, "reconnecting\tafter: %s\n", p.StreamError)
		}
	}
	renderHealth(tw, st)
	if st.Verify != nil {
		renderVerifySummary(tw, st.Verify, st.VerifyProgress)
	}
	if st.Tables != nil || st.BackfillProgress != nil {
		renderTablesSummary(tw, st.Name, st.Tables, st.BackfillProgress)
	}
	if st.Stage == contract.StageRetrying {
		renderRetry(tw, st)
	}
	if st.Error != "" {
		fmt.Fprintf(tw, "error\t%s\n", st.Error)
	}
	if st.Remedy != "" {
		fmt.Fprintf(tw, "what to do\t%s\n", st.Remedy)
	}
	_ = tw.Flush()
	if st.Report != nil && !st.Report.Passed && st.Stage != contract.StageHandedOff {
		fmt.Fprintln(w)
		renderPreflight(w, "Last preflight", st.Report, true, "")
	}
}

// stageWord is the stage with what it asks of the operator.
func stageWord(s contract.Stage) string {
	switch s {
	case contract.StageAttention:
		return string(s) + " (stopped: needs the operator, see what to do)"
	case contract.StageFailed:
		return string(s) + " (stopped, see what to do)"
	case contract.StageRetrying:
		return string(s) + " (replication failed and is retried)"
	case contract.StageCancelled:
		return string(s) + " (the workflow was cancelled and has ended, see what to do)"
	case contract.StageHandedOff:
		return string(s) + " (onboarding done: the replication workflow speaks for the connector)"
	case contract.StageQueued:
		return string(s) + " (the initial snapshot waits for the snapshot scheduler)"
	}
	return string(s)
}

// queueOf is what a queued snapshot waits for: the pending activity's
// heartbeat is fresher than the workflow's last report.
func queueOf(st contract.Status) *contract.QueueWait {
	if p := st.SnapshotProgress; p != nil {
		return p.Queued
	}
	return st.Queued
}

func renderRetry(w io.Writer, st contract.Status) {
	if st.Attempt == 0 && st.NextTryAt == nil {
		renderUnhealthy(w, st)
		return
	}
	of := ""
	if st.MaxAttempts > 0 {
		of = fmt.Sprintf(" of %d", st.MaxAttempts)
	}
	if st.NextTryAt != nil {
		fmt.Fprintf(w, "attempt\t%d%s failed\n", st.Attempt, of)
		fmt.Fprintf(w, "next try\t%s (in %s; `ardent resume %s` tries now)\n", st.NextTryAt.Local().Format(time.TimeOnly),
			max(time.Until(*st.NextTryAt), 0).Round(time.Second), st.Name)
	} else {
		fmt.Fprintf(w, "attempt\t%d running, after %d%s failed without progress\n", st.Attempt+1, st.Attempt, of)
	}
	if st.LastError != "" {
		fmt.Fprintf(w, "last error\t%s\n", st.LastError)
	}
}

// stoppedExit is the exit status of `ardent status`: 1 when the connector
// stopped and waits for the operator (stage failed, attention or
// cancelled), so scripts and probes see it without parsing.
func stoppedExit(st contract.Status) error {
	switch st.Stage {
	case contract.StageFailed, contract.StageAttention, contract.StageCancelled, contract.StageTerminated:
		return &exitError{code: 1}
	}
	return nil
}

func snapshotLine(p *contract.SnapshotProgress) string {
	s := fmt.Sprintf("%d/%d tables, %d rows, %s", p.TablesDone, p.Tables, p.Rows, bytesHuman(p.Bytes))
	if p.EstimatedRows > 0 {
		frac := min(float64(p.Rows)/float64(p.EstimatedRows), 1)
		const width = 20
		filled := int(frac * width)
		s = fmt.Sprintf("[%s%s] ~%.0f%%  ", strings.Repeat("#", filled), strings.Repeat(".", width-filled), 100*frac) + s
	}
	if p.ETASeconds > 0 {
		s += fmt.Sprintf(", ETA %s", (time.Duration(p.ETASeconds) * time.Second).Round(time.Second))
	}
	return s
}

func bytesHuman(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// writeJSON prints v as indented JSON, the form of every --format json.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
