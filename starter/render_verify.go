package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ardent-cdc/ardent/contract"
)

// renderVerify writes a verification report: one line per table, then for
// each table that differs its key ranges and example keys, then the verdict.
func renderVerify(w io.Writer, r *contract.VerifyReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tSOURCE ROWS\tDESTINATION ROWS\tRESULT")
	for _, t := range r.Tables {
		result := "equal"
		if !t.Equal {
			result = "DIFFERENT"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", t.Table, t.SourceRows, t.DestinationRows, result)
	}
	_ = tw.Flush()
	different := r.Different()
	examples := false
	for _, t := range r.Tables {
		if !t.Equal {
			fmt.Fprintln(w)
			renderTableDifference(w, t)
			examples = examples || len(t.Examples) > 0
		}
	}
	if examples {
		fmt.Fprintln(w, "\n(missing: only in the source; extra: only in the destination; changed: in both, other values)")
	}
	fmt.Fprintln(w)
	if len(different) == 0 && r.Equal {
		fmt.Fprintf(w, "equal at LSN %s\n", r.LSN)
		return
	}
	fmt.Fprintf(w, "%d of %d tables differ at LSN %s\n", len(different), len(r.Tables), r.LSN)
}

func renderTableDifference(w io.Writer, t contract.VerifyTable) {
	switch {
	case t.Missing:
		fmt.Fprintf(w, "%s: the destination table %s does not exist\n", t.Table, t.Destination)
		return
	case t.Key == "":
		note := t.Note
		if note == "" {
			note = "the table has no key: its rows differ as a whole"
		}
		fmt.Fprintf(w, "%s: %s (%d rows in source, %d in destination)\n", t.Table, note, t.SourceRows, t.DestinationRows)
		return
	}
	head := t.Table
	if t.DifferentChunks > 0 {
		head += fmt.Sprintf(" (%d of %d key ranges differ)", t.DifferentChunks, t.Chunks)
	}
	fmt.Fprintln(w, head+":")
	for _, rg := range t.Ranges {
		fmt.Fprintf(w, "  %s: %d rows in source, %d in destination\n", rangeText(t.Key, rg), rg.SourceRows, rg.DestinationRows)
	}
	if more := t.DifferentChunks - len(t.Ranges); more > 0 && len(t.Ranges) > 0 {
		fmt.Fprintf(w, "  … and %d more key ranges\n", more)
	}
	for _, ex := range t.Examples {
		fmt.Fprintf(w, "  %s %s\n", keyText(t.Key, ex.Key), ex.Kind)
	}
	if t.Note != "" {
		fmt.Fprintf(w, "  %s\n", t.Note)
	}
}

// rangeText is a key range [from, to) of column key; an empty bound is
// unbounded.
func rangeText(key string, r contract.VerifyRange) string {
	switch {
	case r.From == "" && r.To == "":
		return "all rows"
	case r.From == "":
		return fmt.Sprintf("%s < %s", key, r.To)
	case r.To == "":
		return fmt.Sprintf("%s >= %s", key, r.From)
	}
	return fmt.Sprintf("%s in [%s, %s)", key, r.From, r.To)
}

// keyText is one differing key: "id=1234", or "key (1, 2)" for a key of
// several columns (the report names only the first).
func keyText(col, key string) string {
	if strings.HasPrefix(key, "(") && strings.HasSuffix(key, ")") {
		return "key " + key
	}
	return col + "=" + key
}

// renderVerifySummary is the status line of the connector's verifications.
func renderVerifySummary(w io.Writer, v *contract.VerifySummary, p *contract.VerifyProgress) {
	switch {
	case v.At == nil:
		fmt.Fprintf(w, "verified\tnot yet\n")
	case len(v.Different) == 0:
		fmt.Fprintf(w, "verified\tequal at LSN %s (%s)\n", v.LSN, when(*v.At))
	default:
		names := v.Different
		more := ""
		if len(names) > 5 {
			more = fmt.Sprintf(" and %d more", len(names)-5)
			names = names[:5]
		}
		fmt.Fprintf(w, "verified\t%d tables DIFFER at LSN %s: %s%s (%s)\n", len(v.Different), v.LSN, strings.Join(names, ", "), more, when(*v.At))
	}
	if v.RunningSince != nil {
		progress := ""
		if p != nil && p.Tables > 0 {
			progress = fmt.Sprintf(", %d/%d tables compared", p.TablesDone, p.Tables)
		}
		fmt.Fprintf(w, "verifying\tsince %s%s\n", when(*v.RunningSince), progress)
	}
	if v.Error != "" {
		at := ""
		if v.ErrorAt != nil {
			at = " (" + when(*v.ErrorAt) + ")"
		}
		fmt.Fprintf(w, "verify failed\t%s%s\n", v.Error, at)
	}
	if v.NextAt != nil && v.RunningSince == nil {
		fmt.Fprintf(w, "next verify\t%s\n", when(*v.NextAt))
	}
}

// when is a local date and time: verifications are hours apart.
func when(t time.Time) string { return t.Local().Format(time.DateTime) }
