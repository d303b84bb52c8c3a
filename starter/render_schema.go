package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/ardent-cdc/ardent/contract"
)

// maxInlineStatement is the longest statement shown in its column; a
// longer one (or one of several lines) goes on indented lines under its
// change, where it can be copied whole.
const maxInlineStatement = 60

// outcomeOrder is the order outcomes are counted in (the destination's
// outcomes, internal/sink.Outcome*).
var outcomeOrder = []string{"applied", "resync", "kept", "quarantined"}

// renderSchemaHistory writes `ardent schema history`: one aligned line per
// change, newest first (at, LSN, table, outcome, change, statement), a
// long statement and the reason of a kept or quarantined change on
// indented lines under it, then the counts per outcome.
func renderSchemaHistory(w io.Writer, r *contract.SchemaHistoryReport, table string) {
	if len(r.Changes) == 0 {
		if table != "" {
			fmt.Fprintf(w, "no schema changes recorded for %s of connector %s\n", table, r.Connector)
		} else {
			fmt.Fprintf(w, "no schema changes recorded for connector %s\n", r.Connector)
		}
		return
	}
	rows := [][]string{{"AT", "LSN", "TABLE", "OUTCOME", "CHANGE", "STATEMENT"}}
	details := make([][]string, len(r.Changes))
	counts := map[string]int{}
	quarantined := ""
	for i, c := range r.Changes {
		stmt, below := inlineStatement(c.Statement)
		details[i] = below
		if c.Detail != "" {
			details[i] = append(details[i], "why: "+c.Detail)
		}
		rows = append(rows, []string{when(c.At), orDash(c.LSN), c.Table, c.Outcome, orDash(c.Change), stmt})
		counts[c.Outcome]++
		if c.Outcome == "quarantined" && quarantined == "" {
			quarantined = c.Table
		}
	}
	writeAligned(w, rows, details)
	fmt.Fprintf(w, "\n%s: %s\n", plural(len(r.Changes), "change"), outcomeLine(counts))
	if quarantined != "" {
		fmt.Fprintf(w, "a quarantined change stops its table's changes until it is approved: `ardent schema approve %s --table %s` "+
			"changes the destination table to the source's shape and copies it again (`ardent tables %s` shows which tables are quarantined now)\n",
			r.Connector, quarantined, r.Connector)
	}
}

// inlineStatement is what the STATEMENT column shows and the lines under
// the change a statement too long for it takes.
func inlineStatement(s string) (column string, below []string) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "-", nil
	case len([]rune(s)) <= maxInlineStatement && !strings.Contains(s, "\n"):
		return s, nil
	}
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimRight(l, " \t\r"); l != "" {
			below = append(below, l)
		}
	}
	return "(below)", below
}

// writeAligned writes rows with their columns aligned (two spaces apart,
// the last column unpadded) and, under data row i, the lines of under[i]
// indented.
func writeAligned(w io.Writer, rows [][]string, under [][]string) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			width[i] = max(width[i], len([]rune(cell)))
		}
	}
	for i, row := range rows {
		var b strings.Builder
		for j, cell := range row[:len(row)-1] {
			b.WriteString(cell + strings.Repeat(" ", width[j]-len([]rune(cell))+2))
		}
		b.WriteString(row[len(row)-1])
		fmt.Fprintln(w, b.String())
		if i > 0 && i-1 < len(under) {
			for _, l := range under[i-1] {
				fmt.Fprintln(w, "    "+l)
			}
		}
	}
}

// outcomeLine is "3 applied, 1 quarantined" in outcomeOrder, then any
// outcome this CLI does not know, by name.
func outcomeLine(counts map[string]int) string {
	var parts, other []string
	for _, o := range outcomeOrder {
		if counts[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[o], o))
		}
	}
	for o, n := range counts {
		if !slices.Contains(outcomeOrder, o) {
			other = append(other, fmt.Sprintf("%d %s", n, o))
		}
	}
	slices.Sort(other)
	return strings.Join(append(parts, other...), ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
