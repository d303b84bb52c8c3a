package main

import (
	"fmt"
	"io"
	"time"

	"github.com/ardent-cdc/ardent/contract"
)

// renderHealth writes what the workflow itself knows of the stream and the
// source beside the live heartbeat: a paused connector's position, the
// WAL its slot keeps and since when; the stream's last report when no
// heartbeat is shown; the drift guard's findings.
func renderHealth(w io.Writer, st contract.Status) {
	if st.PausedSince != nil {
		fmt.Fprintf(w, "paused since\t%s (%s ago)\n", st.PausedSince.Local().Format(time.DateTime), ago(*st.PausedSince))
	}
	var slot *contract.SlotState
	if st.Drift != nil {
		slot = st.Drift.Slot
	}
	if st.Stage == contract.StagePaused || st.Stage == contract.StageFailed || st.Stage == contract.StageAttention ||
		st.Stage == contract.StageRetrying || st.ReplicationProgress == nil {
		// No live stream position: the slot's is the destination's.
		if slot != nil {
			fmt.Fprintf(w, "position\t%s (the slot's confirmed LSN, as of %s)\n", slot.ConfirmedLSN, slot.CheckedAt.Local().Format(time.TimeOnly))
		} else if h := st.Stream; h != nil && h.ConfirmedLSN != "" {
			fmt.Fprintf(w, "position\t%s (the stream's last report)\n", h.ConfirmedLSN)
		}
	}
	if slot != nil {
		line := fmt.Sprintf("%s kept on the source for the slot (wal_status %s", bytesHuman(slot.RetainedBytes), slot.WALStatus)
		if slot.SafeWALSize != nil {
			line += fmt.Sprintf(", %s more before it is invalidated", bytesHuman(*slot.SafeWALSize))
		}
		line += fmt.Sprintf("; as of %s", slot.CheckedAt.Local().Format(time.TimeOnly))
		if st.Stage == contract.StagePaused {
			line += ", and growing while paused"
		}
		fmt.Fprintf(w, "retained WAL\t%s)\n", line)
	}
	if h := st.Stream; h != nil && h.Running && st.ReplicationProgress == nil {
		fmt.Fprintf(w, "stream\t%s\n", healthLine(h))
	}
	if d := st.Drift; d != nil {
		renderDrift(w, d)
	}
}

func healthLine(h *contract.StreamHealth) string {
	s := "healthy"
	if !h.Healthy {
		s = "not applying: reconnecting after " + h.Error
	}
	s += fmt.Sprintf("; lag %s, %.1f s", bytesHuman(h.LagBytes), h.LagSeconds)
	if !h.LastApplyAt.IsZero() {
		s += "; last apply " + h.LastApplyAt.Local().Format(time.TimeOnly)
	}
	return s
}

func renderDrift(w io.Writer, d *contract.DriftSummary) {
	line := "not run yet"
	if d.CheckedAt != nil {
		n := len(d.Regressions())
		switch {
		case n > 0:
			line = fmt.Sprintf("%s regressed since onboarding (checked %s)", plural(n, "check"), d.CheckedAt.Local().Format(time.TimeOnly))
		case len(d.Problems) > 0:
			line = fmt.Sprintf("no regression, %s (checked %s)", plural(len(d.Problems), "warning"), d.CheckedAt.Local().Format(time.TimeOnly))
		default:
			line = fmt.Sprintf("every check passes (checked %s)", d.CheckedAt.Local().Format(time.TimeOnly))
		}
	}
	if d.NextAt != nil {
		line += fmt.Sprintf("; next %s", d.NextAt.Local().Format(time.TimeOnly))
	}
	fmt.Fprintf(w, "drift guard\t%s\n", line)
	for _, c := range d.Problems {
		fmt.Fprintf(w, "  %s %s\t%s\n", c.Status, c.ID, c.Message)
		if c.Remedy != "" {
			fmt.Fprintf(w, "\t  fix: %s\n", c.Remedy)
		}
	}
	if d.Error != "" {
		fmt.Fprintf(w, "  last run\tcould not check the source: %s\n", d.Error)
	}
}

// renderUnhealthy is stage retrying while the attempt runs but applies
// nothing (the stream's own report), with no failed attempt counted.
func renderUnhealthy(w io.Writer, st contract.Status) {
	msg := "the stream reconnects after errors and applies nothing; the attempt keeps running"
	if h := st.Stream; h != nil && !h.LastApplyAt.IsZero() {
		msg += "; last apply " + h.LastApplyAt.Local().Format(time.TimeOnly)
	}
	fmt.Fprintf(w, "attempt\t%s\n", msg)
	if st.LastError != "" {
		fmt.Fprintf(w, "last error\t%s\n", st.LastError)
	}
}

func ago(t time.Time) string { return max(time.Since(t), 0).Round(time.Second).String() }
