package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Series is the timed runs of one side of a measurement, after its warm-up.
type Series struct {
	Unit   string    `json:"unit"`
	Runs   []float64 `json:"runs"`
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	// Spread is (max-min)/median: how much the runs disagree.
	Spread float64 `json:"spread"`
}

func newSeries(unit string, runs []float64) *Series {
	if len(runs) == 0 {
		return nil
	}
	s := slices.Clone(runs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	sp := 0.0
	if med != 0 {
		sp = (s[len(s)-1] - s[0]) / med
	}
	return &Series{Unit: unit, Runs: runs, Median: med, Min: s[0], Max: s[len(s)-1], Spread: sp}
}

// Result is one workload's line of the table.
type Result struct {
	Workload string  `json:"workload"`
	RowShape string  `json:"row_shape"`
	Baseline *Series `json:"baseline,omitempty"`
	Ardent   *Series `json:"ardent,omitempty"`
	// Ratio is Ardent / baseline for throughputs (absent without a baseline).
	Ratio   float64        `json:"ratio,omitempty"`
	Target  string         `json:"target"`
	Met     bool           `json:"met"`
	Details map[string]any `json:"details,omitempty"`
	// Figures are the workload's further measured figures with targets of
	// their own (the fleet's RSS, CPU, actions; the resume's catch-up),
	// each printed on a line of its own under the workload.
	Figures []Figure `json:"figures,omitempty"`
	Error   string   `json:"error,omitempty"`
	Seconds float64  `json:"seconds"` // wall time of the whole workload
	// Commit is the tree this line was measured at (a merged report holds
	// lines of several runs).
	Commit string `json:"commit,omitempty"`
}

// Figure is one more measured figure of a workload. Baseline and Ratio
// are zero when it has no baseline; Met is nil when it has no target.
type Figure struct {
	Name     string  `json:"name"`
	Unit     string  `json:"unit"`
	Value    float64 `json:"value"`
	Baseline float64 `json:"baseline,omitempty"`
	Ratio    float64 `json:"ratio,omitempty"`
	Target   string  `json:"target,omitempty"`
	Met      *bool   `json:"met,omitempty"`
}

// fig builds a Figure with a target ("" and nil met when none).
func fig(name, unit string, value float64, target string, met bool) Figure {
	return Figure{Name: name, Unit: unit, Value: value, Target: target, Met: &met}
}

// Report is what bench/results/latest.json holds.
type Report struct {
	Started  time.Time `json:"started"`
	Seconds  float64   `json:"seconds"`
	Machine  Machine   `json:"machine"`
	Postgres string    `json:"postgres"`
	// Commit is the tree measured: HEAD, "-dirty" when the working tree
	// had uncommitted changes (the harness builds what is checked out).
	Commit  string            `json:"commit"`
	Counts  map[string]any    `json:"counts"`
	Results []Result          `json:"results"`
	Notes   map[string]string `json:"notes,omitempty"`
}

// Machine describes where the figures were measured.
type Machine struct {
	Cores    int    `json:"cores"`
	MemoryMB int64  `json:"memory_mb"`
	CPU      string `json:"cpu"`
	Kernel   string `json:"kernel"`
	Go       string `json:"go"`
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				var kb int64
				fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
				m.MemoryMB = kb >> 10
			}
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

func fmtValue(s *Series) string {
	if s == nil {
		return "-"
	}
	return fmt.Sprintf("%s %s (±%.0f%%)", human(s.Median), s.Unit, 100*s.Spread/2)
}

func human(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

// printTable writes the one table the issue asks for (every figure with
// its baseline, ratio, target and the commit measured), then the context.
func printTable(w io.Writer, r Report) {
	fmt.Fprintf(w, "\nArdent bench at %s, %s, %d cores, %d MB, %s; %s; took %s\n",
		r.Commit, r.Started.UTC().Format(time.RFC3339), r.Machine.Cores, r.Machine.MemoryMB, r.Machine.CPU, r.Postgres,
		(time.Duration(r.Seconds) * time.Second).String())
	writeTable(w, r)
	fmt.Fprintln(w, "\nmedian of the timed runs after a warm-up (± half the min..max spread); row shapes:")
	for _, res := range r.Results {
		fmt.Fprintf(w, "  %s: %s\n", res.Workload, res.RowShape)
		if res.Error != "" {
			fmt.Fprintf(w, "    error: %s\n", res.Error)
		}
	}
}

// writeTable is the table alone: one line per workload, then one per
// further figure of it, indented.
func writeTable(w io.Writer, r Report) {
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tbaseline\tArdent\tratio\ttarget\tmet\tcommit")
	for _, res := range r.Results {
		met := "no"
		switch {
		case res.Error != "":
			met = "ERROR"
		case res.Met:
			met = "yes"
		}
		commit := res.Commit
		if commit == "" {
			commit = r.Commit
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", res.Workload, fmtValue(res.Baseline), fmtValue(res.Ardent),
			fmtRatio(res.Ratio), res.Target, met, commit)
		for _, f := range res.Figures {
			base := "-"
			if f.Baseline != 0 {
				base = human(f.Baseline) + " " + f.Unit
			}
			met, target := "-", f.Target
			if f.Met != nil {
				met = map[bool]string{true: "yes", false: "no"}[*f.Met]
			}
			if target == "" {
				target = "-"
			}
			fmt.Fprintf(tw, "  · %s\t%s\t%s %s\t%s\t%s\t%s\t%s\n", f.Name, base, human(f.Value), f.Unit, fmtRatio(f.Ratio), target, met, commit)
		}
	}
	tw.Flush()
}

// mergeInto puts the results of an earlier report at path around rep's:
// a workload measured now replaces its earlier line, the others stay with
// the commit they were measured at. No earlier report: rep alone.
func mergeInto(path string, rep *Report) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s to merge: %w", path, err)
	}
	var old Report
	if err := json.Unmarshal(b, &old); err != nil {
		return fmt.Errorf("parse %s to merge: %w", path, err)
	}
	fresh := map[string]Result{}
	for _, res := range rep.Results {
		fresh[res.Workload] = res
	}
	var out []Result
	for _, res := range old.Results {
		if res.Commit == "" {
			res.Commit = old.Commit
		}
		if f, ok := fresh[res.Workload]; ok {
			res = f
			delete(fresh, res.Workload)
		}
		out = append(out, res)
	}
	for _, res := range rep.Results {
		if _, ok := fresh[res.Workload]; ok {
			out = append(out, res)
		}
	}
	rep.Results = out
	rep.Seconds += old.Seconds
	if rep.Notes == nil {
		rep.Notes = map[string]string{}
	}
	rep.Notes["merged"] = fmt.Sprintf("lines not measured at %s come from the run started %s at %s", rep.Commit,
		old.Started.UTC().Format(time.RFC3339), old.Commit)
	return nil
}

func fmtRatio(v float64) string {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

func writeJSON(dir string, r Report) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create results directory: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode results: %w", err)
	}
	path := filepath.Join(dir, "latest.json")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}
