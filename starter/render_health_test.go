package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/contract"
)

// What the workflow itself knows shows in `ardent status`: a paused
// connector's position, retained WAL and since when; a stream that applies
// nothing; the drift guard's regressions with their fixes.
func TestRenderHealth(t *testing.T) {
	now := time.Now()
	since := now.Add(-90 * time.Minute)
	safe := int64(512 << 20)
	slot := &contract.SlotState{ConfirmedLSN: "0/3000000", RetainedBytes: 3 << 30, WALStatus: "extended", SafeWALSize: &safe, CheckedAt: now}
	tests := []struct {
		name string
		st   contract.Status
		want []string
		not  []string
	}{
		{name: "paused", st: contract.Status{Name: "a", Stage: contract.StagePaused, PausedSince: &since,
			Drift: &contract.DriftSummary{CheckedAt: &now, Slot: slot}},
			want: []string{"paused since", "(1h30m0s ago)", "position", "0/3000000 (the slot's confirmed LSN", "retained WAL",
				"3.0 GiB kept on the source", "512.0 MiB more before it is invalidated", "growing while paused", "every check passes"}},
		{name: "paused before any drift check", st: contract.Status{Name: "a", Stage: contract.StagePaused, PausedSince: &since,
			Stream: &contract.StreamHealth{Healthy: true, ConfirmedLSN: "0/2000000"}},
			want: []string{"paused since", "0/2000000 (the stream's last report)"}, not: []string{"retained WAL"}},
		{name: "retrying: the stream applies nothing", st: contract.Status{Name: "a", Stage: contract.StageRetrying,
			LastError: "the stream reconnects after errors and applies nothing; last error: connection refused",
			Stream:    &contract.StreamHealth{Error: "connection refused", LastApplyAt: since}},
			want: []string{"retrying", "applies nothing; the attempt keeps running", "last apply", "connection refused"},
			not:  []string{"running, after 0"}},
		{name: "drift regression", st: contract.Status{Name: "a", Stage: contract.StageAttention,
			Error: "the source regressed since onboarding (drift guard; the stream keeps running): role_valid: expires soon",
			Drift: &contract.DriftSummary{CheckedAt: &now, NextAt: &now, Problems: []contract.Check{
				{ID: contract.CheckRoleValid, Status: contract.CheckFail, Message: `role "ardent" expires at 2026`, Remedy: `ALTER ROLE "ardent" VALID UNTIL 'infinity';`},
				{ID: contract.CheckWalRetention, Status: contract.CheckWarn, Message: "max_slot_wal_keep_size = -1"}}}},
			want: []string{"drift guard", "1 check regressed since onboarding", "fail role_valid", `role "ardent" expires at 2026`,
				`fix: ALTER ROLE "ardent" VALID UNTIL 'infinity';`, "warn wal_retention"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			renderStatus(&b, tt.st, target{id: "replication-a", running: true})
			for _, w := range tt.want {
				assert.Contains(t, b.String(), w)
			}
			for _, n := range tt.not {
				assert.NotContains(t, b.String(), n)
			}
		})
	}
}

func TestListReportJSON(t *testing.T) {
	rows := map[string]listRow{
		"b": {name: "b", id: "replication-b", stage: "attention", source: "db:5432/b", status: "running"},
		"a": {name: "a", id: "onboarding-a", stage: "waiting_for_sql", source: "db:5432/a", status: "running"},
	}
	var b bytes.Buffer
	require.NoError(t, writeJSON(&b, listReport(rows, []string{"a", "b"})))
	var got struct {
		Connectors []map[string]string `json:"connectors"`
	}
	require.NoError(t, json.Unmarshal(b.Bytes(), &got))
	require.Len(t, got.Connectors, 2)
	assert.Equal(t, map[string]string{"name": "a", "stage": "waiting_for_sql", "source": "db:5432/a", "workflow": "onboarding-a", "status": "running"},
		got.Connectors[0])
	assert.Equal(t, "attention", got.Connectors[1]["stage"])
	b.Reset()
	require.NoError(t, writeJSON(&b, listReport(nil, nil)))
	assert.True(t, strings.Contains(b.String(), `"connectors": []`), "no connector is an empty list, not null: %s", b.String())
}
