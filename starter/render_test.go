package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/activities"
	"github.com/ardent-cdc/ardent/workflows"
)

func TestRenderStatus(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		st   workflows.Status
		want []string
		not  []string
	}{
		{name: "waiting with report", st: workflows.Status{Name: "a", Stage: workflows.StageWaitingForSQL, Attempts: 2, NextCheckAt: &now,
			Report: &activities.PreflightReport{Checks: []activities.Check{{ID: "wal_level", Status: "fail", Message: "wal_level is replica", Remedy: "ALTER SYSTEM SET wal_level = logical; then restart"}, {ID: "ssl", Status: "pass"}}}},
			want: []string{"waiting_for_sql", "ardent signal sql-applied a", "✗ wal_level", "ALTER SYSTEM SET wal_level"}, not: []string{"ssl "}},
		{name: "snapshot progress bar", st: workflows.Status{Name: "a", Stage: workflows.StageSnapshot,
			SnapshotProgress: &activities.SnapshotProgress{Tables: 4, TablesDone: 1, Rows: 500, EstimatedRows: 1000, Bytes: 2048, ETASeconds: 90}},
			want: []string{"[##########..........] ~50%", "1/4 tables", "2.0 KiB", "ETA 1m30s"}},
		{name: "streaming before first sample", st: workflows.Status{Name: "a", Stage: workflows.StageStreaming, ReplicationProgress: &activities.ReplicationProgress{}},
			want: []string{"starting (no position reported yet)"}, not: []string{"confirmed LSN"}},
		{name: "streaming", st: workflows.Status{Name: "a", Stage: workflows.StageStreaming, ReplicationProgress: &activities.ReplicationProgress{
			ConfirmedLSN: "0/16B3748", ReceivedLSN: "0/16B3800", LagBytes: 3 << 20, LagSeconds: 0.4, RowsApplied: 10, TxApplied: 2, RowsPerSecond: 5, SampledAt: now}},
			want: []string{"0/16B3748", "3.0 MiB, 0.4 s", "10 rows in 2 transactions"}},
		{name: "failed", st: workflows.Status{Name: "a", Stage: workflows.StageFailed, Error: "slot lost", Remedy: "ardent drop a"},
			want: []string{"error", "slot lost", "what to do", "ardent drop a"}},
		{name: "retrying, waiting", st: workflows.Status{Name: "a", Stage: workflows.StageRetrying, Attempt: 3, MaxAttempts: 10,
			LastError: "apply 3 changes: connection reset", NextTryAt: &now},
			want: []string{"stage", "retrying", "attempt", "3 of 10 failed", "last error", "connection reset",
				"next try", now.Local().Format(time.TimeOnly), "`ardent resume a` tries now"}},
		{name: "retrying, attempt running", st: workflows.Status{Name: "a", Stage: workflows.StageRetrying, Attempt: 3, MaxAttempts: 10, LastError: "boom"},
			want: []string{"attempt", "4 running, after 3 of 10 failed", "boom"}, not: []string{"next try"}},
		{name: "attention", st: workflows.Status{Name: "a", Stage: workflows.StageAttention,
			Error:  `schema mismatch: the destination refused a change to "app"."orders" (column "note")`,
			Remedy: "make the destination table match the source (e.g. ALTER TABLE ...), then `ardent resume a`"},
			want: []string{"attention", "needs the operator", `"app"."orders"`, `column "note"`, "what to do", "`ardent resume a`"}},
		{name: "streaming while the stream reconnects", st: workflows.Status{Name: "a", Stage: workflows.StageStreaming,
			ReplicationProgress: &activities.ReplicationProgress{ConfirmedLSN: "0/1", SampledAt: now, LastApplyAt: now, StreamError: "connection refused"}},
			want: []string{"last apply", "reconnecting", "connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			renderStatus(&b, tt.st, target{id: "replication-a", running: true})
			for _, w := range tt.want {
				require.Contains(t, b.String(), w)
			}
			for _, n := range tt.not {
				require.False(t, strings.Contains(b.String(), n), "unexpected %q in:\n%s", n, b.String())
			}
		})
	}
}

func TestStatusExitsOneWhenStopped(t *testing.T) {
	for _, stage := range []workflows.Stage{workflows.StageFailed, workflows.StageAttention} {
		err := stoppedExit(workflows.Status{Stage: stage})
		var ee *exitError
		require.ErrorAs(t, err, &ee, stage)
		require.Equal(t, 1, ee.code)
		require.Nil(t, ee.err, "the status is the message: nothing more is printed")
	}
	for _, stage := range []workflows.Stage{workflows.StagePreflight, workflows.StageWaitingForSQL, workflows.StageSnapshot,
		workflows.StageStreaming, workflows.StageRetrying, workflows.StagePaused, workflows.StageDropped} {
		require.NoError(t, stoppedExit(workflows.Status{Stage: stage}), stage)
	}
}
