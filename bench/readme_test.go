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
