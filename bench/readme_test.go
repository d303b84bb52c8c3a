package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestReplaceSection(t *testing.T) {
	doc := "# T\n\nbefore\n" + readmeBegin + "\nold table\n" + readmeEnd + "\nafter\n"
	r := Report{Commit: "abc1234", Started: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), Machine: Machine{Cores: 2},
		Results: []Result{{Workload: "w", RowShape: "shape", Target: ">= 1", Met: true, Ratio: 1.2,
			Ardent: newSeries("rows/s", []float64{10, 12, 11}), Baseline: newSeries("rows/s", []float64{9, 9, 9}),
			Figures: []Figure{fig("rss", "MB", 61, "< 100 MB", true)}}}}
	out, err := replaceSection(doc, readmeSection(r))
	require.NoError(t, err)
	require.NotContains(t, out, "old table")
	require.True(t, strings.HasPrefix(out, "# T\n\nbefore\n"+readmeBegin+"\n"))
	require.True(t, strings.HasSuffix(out, readmeEnd+"\nafter\n"))
	for _, want := range []string{"at commit abc1234", "1.20", "· rss", "61.00 MB", "< 100 MB", "**w**: shape"} {
		require.Contains(t, out, want)
	}
	r.Commit = "abc1234-dirty"
	require.Contains(t, readmeSection(r), "not a released commit")

	_, err = replaceSection("no markers", "x")
	require.Error(t, err)
}

func TestMergeInto(t *testing.T) {
	dir := t.TempDir()
	old := Report{Commit: "old1234", Started: time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC), Seconds: 100,
		Results: []Result{{Workload: "a", Target: "x"}, {Workload: "b", Target: "old b"}, {Workload: "c"}}}
	path, err := writeJSON(dir, old)
	require.NoError(t, err)
	rep := Report{Commit: "new5678", Seconds: 10, Results: []Result{{Workload: "b", Target: "new b", Commit: "new5678"},
		{Workload: "d", Commit: "new5678"}}}
	require.NoError(t, mergeInto(path, &rep))
	var got []string
	for _, r := range rep.Results {
		got = append(got, r.Workload+"@"+r.Commit+":"+r.Target)
	}
	require.Equal(t, []string{"a@old1234:x", "b@new5678:new b", "c@old1234:", "d@new5678:"}, got)
	require.Contains(t, rep.Notes["merged"], "old1234")
	var buf strings.Builder
	writeTable(&buf, rep)
	require.Contains(t, buf.String(), "old1234")
	require.Contains(t, buf.String(), "new5678")
}
