package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/contract"
)

// TestStatusShowsWalBudget: an onboarding's status says what the snapshot
// will retain even when preflight passed (a warning never blocks, so the
// list of blocking checks leaves it out), and says it once.
func TestStatusShowsWalBudget(t *testing.T) {
	warn := contract.Check{ID: contract.CheckWalBudget, Status: contract.CheckWarn,
		Message: "this snapshot will retain about 3.2 GB of WAL over about 14 min", Remedy: "raise it to at least 7 GB"}
	fail := warn
	fail.Status = contract.CheckFail
	tests := []struct {
		name  string
		rep   *contract.PreflightReport
		stage contract.Stage
		want  []string
	}{
		{"passed with a warning", &contract.PreflightReport{Passed: true, Checks: []contract.Check{warn}}, contract.StageCreatingConnector,
			[]string{"wal budget  ! this snapshot will retain about 3.2 GB of WAL over about 14 min → raise it to at least 7 GB"}},
		{"passed", &contract.PreflightReport{Passed: true, Checks: []contract.Check{{ID: contract.CheckWalBudget, Status: contract.CheckPass,
			Message: "this snapshot will retain about 2 MB", Remedy: "unused"}}}, contract.StageSnapshot,
			[]string{"wal budget  ✓ this snapshot will retain about 2 MB\n"}},
		{"not passed, warning", &contract.PreflightReport{Checks: []contract.Check{warn}}, contract.StageWaitingForSQL,
			[]string{"wal budget  ! this snapshot"}},
		{"not passed, failed: in the blocking list", &contract.PreflightReport{Checks: []contract.Check{fail}}, contract.StageWaitingForSQL,
			[]string{"✗  wal_budget  this snapshot will retain", "→ raise it to at least 7 GB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			renderStatus(&b, contract.Status{Name: "a", Stage: tt.stage, Report: tt.rep}, target{id: "onboarding-a", running: true})
			for _, w := range tt.want {
				require.Contains(t, b.String(), w)
			}
			require.Equal(t, 1, strings.Count(b.String(), "this snapshot will retain"), b.String())
		})
	}
	var b bytes.Buffer
	renderStatus(&b, contract.Status{Name: "a", Stage: contract.StageSnapshot, Report: &contract.PreflightReport{Passed: true}}, target{})
	require.NotContains(t, b.String(), "wal budget", "a report from before wal_budget existed")
}
