package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/schema"
)

var checkMarks = map[contract.CheckStatus]string{
	contract.CheckPass: "✓", contract.CheckFail: "✗", contract.CheckWarn: "!", contract.CheckUnverified: "?",
}

// maxTableLines bounds the per-table list in text form; JSON has them all.
const maxTableLines = 50

// renderPreflight is the one text form of a preflight report, for `ardent
// preflight` (every check) and for an onboarding's status and --wait
// (blockingOnly: the checks that need the operator). An aligned table of
// checks with the remedy under each that did not pass, the tables to fix,
// then the verdict, followed by next (what to do) when it did not pass.
func renderPreflight(w io.Writer, heading string, rep *contract.PreflightReport, blockingOnly bool, next string) {
	fmt.Fprintf(w, "%s\n\n", heading)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	counts := map[contract.CheckStatus]int{}
	for _, ch := range rep.Checks {
		counts[ch.Status]++
		if blockingOnly && (ch.Status == contract.CheckPass || ch.Status == contract.CheckWarn) {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", checkMarks[ch.Status], ch.ID, ch.Message)
		if ch.Status != contract.CheckPass && ch.Remedy != "" {
			fmt.Fprintf(tw, "  \t\t→ %s\n", ch.Remedy)
		}
	}
	_ = tw.Flush()
	var fix []contract.TableReport
	for _, t := range rep.Tables {
		if t.Remedy != "" {
			fix = append(fix, t)
		}
	}
	if len(fix) > 0 {
		of := fmt.Sprintf("%d of %d", len(fix), len(rep.Tables))
		if blockingOnly {
			// An onboarding's report carries only the tables that need the
			// operator (contract.MaxReportTables), the rest counted.
			of = fmt.Sprint(len(fix) + rep.MoreTables)
		}
		fmt.Fprintf(w, "\nTables to fix (%s):\n", of)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for i, t := range fix {
			if i == maxTableLines {
				fmt.Fprintf(tw, "  … and %d more (--format json lists them all)\n", len(fix)-maxTableLines)
				break
			}
			fmt.Fprintf(tw, "  ✗\t%s\t%s\t%s\n", schema.Table{Schema: t.Schema, Name: t.Name}.Ident(), t.Identity, t.Remedy)
		}
		if rep.MoreTables > 0 {
			fmt.Fprintf(tw, "  … and %d more (`ardent preflight` lists them all)\n", rep.MoreTables)
		}
		_ = tw.Flush()
	}
	fmt.Fprintln(w)
	summary := fmt.Sprintf("%d passed, %d failed, %d unverified, %d warnings",
		counts[contract.CheckPass], counts[contract.CheckFail], counts[contract.CheckUnverified], counts[contract.CheckWarn])
	if rep.Passed {
		fmt.Fprintf(w, "PASSED (%s)\n", summary)
		return
	}
	if next != "" {
		next = " " + next
	}
	fmt.Fprintf(w, "NOT PASSED (%s).%s\n", summary, next)
}

// walBudgetLine is wal_budget in an onboarding's status: what the snapshot
// will retain and the fix, shown even when preflight passed (a warning
// never blocks, so the list of blocking checks leaves it out). Empty when
// the report has no such check or that list shows it already.
func walBudgetLine(rep *contract.PreflightReport) string {
	if rep == nil {
		return ""
	}
	ch := rep.Check(contract.CheckWalBudget)
	if ch.ID == "" || !rep.Passed && ch.Status != contract.CheckPass && ch.Status != contract.CheckWarn {
		return ""
	}
	s := checkMarks[ch.Status] + " " + ch.Message
	if ch.Status != contract.CheckPass && ch.Remedy != "" {
		s += " → " + ch.Remedy
	}
	return s
}

// displayOf is a source URL as reports show it: host:port/database, never
// the password.
func displayOf(source string) string {
	s, err := pgurl.ParseSource(source)
	if err != nil {
		return "(malformed URL)"
	}
	return s.Display()
}
