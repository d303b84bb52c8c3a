package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ardent-cdc/ardent/contract"
)

// stateOrder is the order states are counted in.
var stateOrder = []string{contract.TableSnapshot, contract.TableStreaming, contract.TableBackfilling, contract.TableQueued,
	contract.TableQuarantined, contract.TableRemoved, contract.TableDropped}

// renderTables writes `ardent tables`: one aligned line per table (name,
// state, rows, applied LSN), a backfill's progress and a quarantined or
// dropped table's cause and remedy on indented lines under it, then the
// counts per state.
func renderTables(w io.Writer, r *contract.TablesReport) {
	if len(r.Tables) == 0 {
		fmt.Fprintf(w, "connector %s has no tables\n", r.Connector)
		return
	}
	rows := [][]string{{"TABLE", "STATE", "ROWS", "APPLIED LSN"}}
	for _, t := range r.Tables {
		n := "?"
		if t.Rows >= 0 {
			n = strconv.FormatInt(t.Rows, 10)
		}
		lsn := t.AppliedLSN
		if lsn == "" {
			lsn = "-"
		}
		state := t.State
		if b := t.Backfill; b != nil && b.EstimatedRows > 0 && t.State == contract.TableBackfilling {
			state += fmt.Sprintf(" %.0f%%", 100*min(float64(b.Rows)/float64(b.EstimatedRows), 1))
		}
		rows = append(rows, []string{t.Table, state, n, lsn})
	}
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			width[i] = max(width[i], len([]rune(cell)))
		}
	}
	line := func(row []string) {
		var b strings.Builder
		for i, cell := range row[:len(row)-1] {
			b.WriteString(cell + strings.Repeat(" ", width[i]-len([]rune(cell))+2))
		}
		b.WriteString(row[len(row)-1])
		fmt.Fprintln(w, b.String())
	}
	line(rows[0])
	for i, t := range r.Tables {
		line(rows[i+1])
		for _, l := range tableDetail(t) {
			fmt.Fprintln(w, "    "+l)
		}
	}
	fmt.Fprintf(w, "\n%s: %s\n", plural(len(r.Tables), "table"), countLine(stateCounts(r.Tables)))
}

// tableDetail is the indented lines under a table: a backfill's progress,
// a quarantined or dropped table's cause (since when) and remedy.
func tableDetail(t contract.TableInfo) []string {
	var out []string
	if t.Backfill != nil {
		out = append(out, backfillLine(t.Backfill))
	}
	if t.Cause != "" {
		cause := "cause: " + t.Cause
		if !t.Since.IsZero() {
			cause += " (since " + when(t.Since) + ")"
		}
		out = append(out, cause)
	} else if !t.Since.IsZero() && (t.State == contract.TableQuarantined || t.State == contract.TableDropped) {
		out = append(out, t.State+" since "+when(t.Since))
	}
	if t.Remedy != "" {
		out = append(out, "→ "+t.Remedy)
	}
	return out
}

// backfillLine is a running backfill's progress: its phase, rows copied
// (of the estimate) and bytes.
func backfillLine(p *contract.BackfillProgress) string {
	if q := p.Queued; q != nil {
		// Not copying yet: what it waits for says why it does not move.
		return fmt.Sprintf("queued: %s, since %s (%s ago)", q.Why(), q.Since.Local().Format(time.TimeOnly),
			max(time.Since(q.Since), 0).Round(time.Second))
	}
	var s string
	switch p.Phase {
	case "copy", "":
		s = "copying"
	case "catch_up":
		s = "catching up with the stream"
	case "handed_over":
		s = "handed over to the stream"
	default:
		s = p.Phase
	}
	if p.EstimatedRows > 0 {
		frac := min(float64(p.Rows)/float64(p.EstimatedRows), 1)
		s += fmt.Sprintf(": %d of ~%d rows (%.0f%%)", p.Rows, p.EstimatedRows, 100*frac)
	} else {
		s += fmt.Sprintf(": %d rows", p.Rows)
	}
	if p.Bytes > 0 {
		s += ", " + bytesHuman(p.Bytes)
	}
	if p.Phase == "catch_up" && p.AppliedLSN != "" && p.StreamLSN != "" {
		s += fmt.Sprintf(", applied %s of the stream's %s", p.AppliedLSN, p.StreamLSN)
	}
	return s
}

func stateCounts(tables []contract.TableInfo) map[string]int {
	m := map[string]int{}
	for _, t := range tables {
		m[t.State]++
	}
	return m
}

// countLine is "10 streaming, 1 backfilling, 2 queued" in stateOrder, then
// any state this CLI does not know, by name.
func countLine(counts map[string]int) string {
	var parts []string
	for _, s := range stateOrder {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	var other []string
	for s, n := range counts {
		if n > 0 && !slices.Contains(stateOrder, s) {
			other = append(other, fmt.Sprintf("%d %s", n, s))
		}
	}
	slices.Sort(other)
	return strings.Join(append(parts, other...), ", ")
}

// maxStatusTables bounds the queued and quarantined tables a status names.
const maxStatusTables = 3

// renderTablesSummary writes the status's lines on the live table set (w
// is the status's tabwriter): counts per state, the running backfill with
// its progress, the queue, each quarantined table with cause and remedy,
// and the last backfill finished.
func renderTablesSummary(w io.Writer, name string, s *contract.TablesSummary, p *contract.BackfillProgress) {
	if s == nil {
		s = &contract.TablesSummary{}
	}
	if line := countLine(s.Counts); line != "" {
		fmt.Fprintf(w, "tables\t%s\n", line)
	}
	backfilling := s.Backfilling
	if backfilling == "" && p != nil {
		backfilling = p.Table
	}
	switch {
	case p != nil && (p.Table == backfilling || p.Table == ""):
		fmt.Fprintf(w, "backfilling\t%s: %s\n", backfilling, backfillLine(p))
	case backfilling != "":
		fmt.Fprintf(w, "backfilling\t%s (no progress reported yet)\n", backfilling)
	}
	if len(s.Queued) > 0 {
		fmt.Fprintf(w, "queued\t%s\n", firstFew(s.Queued, maxStatusTables))
	}
	for i, t := range s.Attention {
		if i == maxStatusTables {
			fmt.Fprintf(w, "\t… and %d more: `ardent tables %s`\n", len(s.Attention)-maxStatusTables, name)
			break
		}
		line := t.Table
		if t.Cause != "" {
			line += ": " + t.Cause
		}
		fmt.Fprintf(w, "%s\t%s\n", t.State, line)
		if t.Remedy != "" {
			fmt.Fprintf(w, "\t→ %s\n", t.Remedy)
		}
	}
	if b := s.LastBackfill; b != nil && b.Gone {
		fmt.Fprintf(w, "last backfill\t%s: gone from the source before its copy (dropped or renamed): nothing to copy\n", b.Table)
	} else if b != nil {
		fmt.Fprintf(w, "last backfill\t%s: %d rows in %.0f s, streaming from %s\n", b.Table, b.Rows, b.Seconds, b.HandedOverLSN)
	}
}

// quarantinedOnly: the stage is attention because tables are quarantined
// while the stream keeps running (its activity reports a position), not
// because replication stopped.
func quarantinedOnly(st contract.Status) bool {
	return st.Stage == contract.StageAttention && st.Tables != nil && len(st.Tables.Attention) > 0 && st.ReplicationProgress != nil
}
