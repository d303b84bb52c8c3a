//go:build faults

package faults

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/e2estack"
)

// result is one row of the suite's closing table.
type result struct {
	scenario string
	faults   string
	outcome  string
	rows     int64
	samples  int64 // destination invariant samples taken during the faults
}

// tables are the scene's replicated tables, read from the source.
func (s *scene) tables() []string {
	out := s.query(s.srcURL(), `SELECT string_agg(format('%I.%I', schemaname, tablename), ' ' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'app'`)
	return strings.Fields(out)
}

// checksum is the table's whole-row digest, "count:md5" (see
// internal/rowsum).
func (s *scene) checksum(url, table string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sum, err := e2estack.Checksum(ctx, url, table)
	require.NoError(s.t, err)
	return sum
}

// settle stops the load, then waits until either every table matches or
// the connector reports failure. It returns the outcome for the table and
// the number of rows compared; silent divergence fails the test.
func (s *scene) settle(l *load, timeout time.Duration) (string, int64) {
	s.t.Helper()
	if l != nil {
		l.stop()
		s.t.Logf("load: %d transactions committed, %d attempts failed", l.committed.Load(), l.failed.Load())
	}
	tables := s.tables()
	deadline := time.Now().Add(timeout)
	var diff []string
	var st e2estack.Status
	for {
		var ok bool
		st, ok = s.status()
		if ok && st.Stage == "failed" {
			if st.Error == "" || st.Remedy == "" {
				s.t.Errorf("connector failed without naming the cause and the fix: %+v", st)
			}
			s.t.Logf("failed as reported: error: %s\nremedy: %s", st.Error, st.Remedy)
			if !strings.Contains(st.Remedy, "ardent ") {
				s.t.Errorf("the remedy names no command to run: %q", st.Remedy)
			}
			return "reported failed: " + cause(st.Error) + "; remedy: " + remedyCmd(st.Remedy), 0
		}
		diff = diff[:0]
		var rows int64
		for _, tbl := range tables {
			a, b := s.checksum(s.srcURL(), tbl), s.checksum(s.dstURL(), tbl)
			if a != b {
				diff = append(diff, fmt.Sprintf("%s source %s destination %s", tbl, a, b))
			}
			n, _ := strconv.ParseInt(strings.SplitN(a, ":", 2)[0], 10, 64)
			rows += n
		}
		if len(diff) == 0 {
			return "converged: destination == source (" + strconv.Itoa(len(tables)) + " tables)", rows
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	s.t.Errorf("SILENT DIVERGENCE: stage %q, tables differ after %s:\n%s\nworkers:\n%s", st.Stage, timeout, strings.Join(diff, "\n"), s.workerOutput())
	return "DIVERGED (stage " + st.Stage + ")", 0
}

// cause is the error's first clause, enough to name the cause in a table.
func cause(e string) string {
	if i := strings.Index(e, ": "); i > 0 {
		return e[:i]
	}
	return oneLine(e, 40)
}

// remedyCmd is the first command the remedy tells the operator to run.
func remedyCmd(r string) string {
	if i := strings.Index(r, "`"); i >= 0 {
		if j := strings.Index(r[i+1:], "`"); j > 0 {
			return r[i+1 : i+1+j]
		}
	}
	return oneLine(r, 40)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n-1] + "…"
	}
	return s
}

func printTable(results []result, took time.Duration) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nFault suite (%s):\n", took.Round(time.Second))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tFAULTS INJECTED\tOUTCOME\tROWS CHECKED\tINVARIANT SAMPLES")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", r.scenario, r.faults, r.outcome, r.rows, r.samples)
	}
	tw.Flush()
	fmt.Fprint(os.Stdout, b.String())
}
