package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"

	"github.com/ardent-cdc/ardent/contract"
)

func TestRenderStatus(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		st   contract.Status
		want []string
		not  []string
	}{
		{name: "waiting with report", st: contract.Status{Name: "a", Stage: contract.StageWaitingForSQL, Attempts: 2, NextCheckAt: &now,
			Report: &contract.PreflightReport{Checks: []contract.Check{{ID: "wal_level", Status: "fail", Message: "wal_level is replica", Remedy: "ALTER SYSTEM SET wal_level = logical; then restart"}, {ID: "ssl", Status: "pass"}}}},
			want: []string{"waiting_for_sql", "ardent signal sql-applied a", "✗  wal_level", "ALTER SYSTEM SET wal_level", "NOT PASSED (1 passed, 1 failed"},
			not:  []string{"ssl "}},
		{name: "handed off", st: contract.Status{Name: "a", Workflow: contract.WorkflowOnboarding, Stage: contract.StageHandedOff, HandedOffTo: "replication-a",
			Report: &contract.PreflightReport{Passed: true}},
			want: []string{"handed_off (onboarding done", "handed off to  replication-a"}, not: []string{"PASSED"}},
		{name: "cancelled", st: contract.Status{Name: "a", Stage: contract.StageCancelled, Error: "the replication workflow was cancelled",
			Remedy: "`ardent drop a` removes the slot"},
			want: []string{"cancelled (the workflow was cancelled and has ended", "what to do", "`ardent drop a`"}},
		{name: "snapshot progress bar", st: contract.Status{Name: "a", Stage: contract.StageSnapshot,
			SnapshotProgress: &contract.SnapshotProgress{Tables: 4, TablesDone: 1, Rows: 500, EstimatedRows: 1000, Bytes: 2048, ETASeconds: 90}},
			want: []string{"[##########..........] ~50%", "1/4 tables", "2.0 KiB", "ETA 1m30s"}},
		{name: "queued for the source host (heartbeat)", st: contract.Status{Name: "a", Stage: contract.StageQueued,
			SnapshotProgress: &contract.SnapshotProgress{Tables: 4, Queued: &contract.QueueWait{Reason: contract.QueueReasonSourceHost,
				Host: "db1:5432", Running: 2, Limit: 2, Since: now}}},
			want: []string{"queued (the initial snapshot waits for the snapshot scheduler)", "waiting for the source host db1:5432 (2 of 2 running), since " +
				now.Local().Format(time.TimeOnly)}, not: []string{"copying"}},
		{name: "queued for a worker slot (workflow)", st: contract.Status{Name: "a", Stage: contract.StageQueued,
			Queued: &contract.QueueWait{Reason: contract.QueueReasonWorker, Running: 2, Limit: 2, Since: now}},
			want: []string{"waiting for a snapshot slot of its worker (2 of 2 running)"}},
		{name: "streaming before first sample", st: contract.Status{Name: "a", Stage: contract.StageStreaming, ReplicationProgress: &contract.ReplicationProgress{}},
			want: []string{"starting (no position reported yet)"}, not: []string{"confirmed LSN"}},
		{name: "streaming", st: contract.Status{Name: "a", Stage: contract.StageStreaming, ReplicationProgress: &contract.ReplicationProgress{
			ConfirmedLSN: "0/16B3748", ReceivedLSN: "0/16B3800", LagBytes: 3 << 20, LagSeconds: 0.4, RowsApplied: 10, TxApplied: 2, RowsPerSecond: 5, SampledAt: now}},
			want: []string{"0/16B3748", "3.0 MiB, 0.4 s", "10 rows in 2 transactions"}},
		{name: "failed", st: contract.Status{Name: "a", Stage: contract.StageFailed, Error: "slot lost", Remedy: "ardent drop a"},
			want: []string{"error", "slot lost", "what to do", "ardent drop a"}},
		{name: "retrying, waiting", st: contract.Status{Name: "a", Stage: contract.StageRetrying, Attempt: 3, MaxAttempts: 10,
			LastError: "apply 3 changes: connection reset", NextTryAt: &now},
			want: []string{"stage", "retrying", "attempt", "3 of 10 failed", "last error", "connection reset",
				"next try", now.Local().Format(time.TimeOnly), "`ardent resume a` tries now"}},
		{name: "retrying, attempt running", st: contract.Status{Name: "a", Stage: contract.StageRetrying, Attempt: 3, MaxAttempts: 10, LastError: "boom"},
			want: []string{"attempt", "4 running, after 3 of 10 failed", "boom"}, not: []string{"next try"}},
		{name: "attention", st: contract.Status{Name: "a", Stage: contract.StageAttention,
			Error:  `schema mismatch: the destination refused a change to "app"."orders" (column "note")`,
			Remedy: "make the destination table match the source (e.g. ALTER TABLE ...), then `ardent resume a`"},
			want: []string{"attention", "needs the operator", `"app"."orders"`, `column "note"`, "what to do", "`ardent resume a`"}},
		{name: "streaming while the stream reconnects", st: contract.Status{Name: "a", Stage: contract.StageStreaming,
			ReplicationProgress: &contract.ReplicationProgress{ConfirmedLSN: "0/1", SampledAt: now, LastApplyAt: now, StreamError: "connection refused"}},
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
	for _, stage := range []contract.Stage{contract.StageFailed, contract.StageAttention, contract.StageCancelled} {
		err := stoppedExit(contract.Status{Stage: stage})
		var ee *exitError
		require.ErrorAs(t, err, &ee, stage)
		require.Equal(t, 1, ee.code)
		require.Nil(t, ee.err, "the status is the message: nothing more is printed")
	}
	for _, stage := range []contract.Stage{contract.StagePreflight, contract.StageWaitingForSQL, contract.StageSnapshot,
		contract.StageStreaming, contract.StageRetrying, contract.StagePaused, contract.StageDropped, contract.StageHandedOff} {
		require.NoError(t, stoppedExit(contract.Status{Stage: stage}), stage)
	}
}

// TestRenderPreflight: one renderer for `ardent preflight` (every check)
// and an onboarding's status (the checks that need the operator).
func TestRenderPreflight(t *testing.T) {
	rep := &contract.PreflightReport{Checks: []contract.Check{
		{ID: contract.CheckConnect, Status: contract.CheckPass, Message: "connected"},
		{ID: contract.CheckWalLevel, Status: contract.CheckFail, Message: "wal_level is replica", Remedy: "ALTER SYSTEM SET wal_level = logical"},
		{ID: contract.CheckWal2JSON, Status: contract.CheckUnverified, Message: "probe timed out"},
		{ID: contract.CheckSSL, Status: contract.CheckWarn, Message: "no TLS", Remedy: "enable ssl"},
	}, Tables: []contract.TableReport{
		{Schema: "public", Name: "ok", Identity: contract.IdentityPrimaryKey},
		{Schema: "public", Name: "logs", Identity: contract.IdentityNone, Remedy: "add a key or --exclude-table public.logs"},
	}}
	var all, blocking bytes.Buffer
	renderPreflight(&all, "Preflight of db:5432/app", rep, false, "Apply the remedies.")
	renderPreflight(&blocking, "Last preflight", rep, true, "")
	for _, out := range []string{all.String(), blocking.String()} {
		for _, w := range []string{"✗  wal_level", "→ ALTER SYSTEM SET wal_level = logical", "?  wal2json", `"public"."logs"`,
			"--exclude-table public.logs", "NOT PASSED (1 passed, 1 failed, 1 unverified, 1 warnings)."} {
			require.Contains(t, out, w)
		}
	}
	require.Contains(t, all.String(), "Preflight of db:5432/app\n")
	require.Contains(t, all.String(), "✓  connect")
	require.Contains(t, all.String(), "!  ssl")
	require.Contains(t, all.String(), "Tables to fix (1 of 2)")
	require.Contains(t, all.String(), "warnings). Apply the remedies.\n")
	require.NotContains(t, blocking.String(), "connect", "a passed check is no news in a status")
	require.NotContains(t, blocking.String(), "ssl", "nor a warning")
	rep.MoreTables, rep.Passed = 70, false
	blocking.Reset()
	renderPreflight(&blocking, "Last preflight", rep, true, "")
	require.Contains(t, blocking.String(), "Tables to fix (71)")
	require.Contains(t, blocking.String(), "… and 70 more (`ardent preflight` lists them all)")
	rep.Passed = true
	all.Reset()
	renderPreflight(&all, "Preflight of db:5432/app", rep, false, "never shown")
	require.Contains(t, all.String(), "PASSED (1 passed")
	require.NotContains(t, all.String(), "never shown")
}

func TestLeftBehind(t *testing.T) {
	for s, want := range map[enums.WorkflowExecutionStatus]bool{
		// A terminated workflow is --force's: nothing of it ran a drop.
		enums.WORKFLOW_EXECUTION_STATUS_CANCELED: true, enums.WORKFLOW_EXECUTION_STATUS_TERMINATED: false,
		enums.WORKFLOW_EXECUTION_STATUS_FAILED: true, enums.WORKFLOW_EXECUTION_STATUS_TIMED_OUT: true,
		enums.WORKFLOW_EXECUTION_STATUS_COMPLETED: false, enums.WORKFLOW_EXECUTION_STATUS_RUNNING: false,
	} {
		require.Equal(t, want, leftBehind(target{closeStatus: s}), s.String())
	}
}

// TestRenderStatusTables: the live table set in a status, compact: counts,
// the running backfill with its progress, the queue, each quarantined table
// with cause and remedy.
func TestRenderStatusTables(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	attention := []contract.TableInfo{
		{Table: "public.logs", State: contract.TableQuarantined, Cause: "no replica identity any more", Remedy: "ALTER TABLE public.logs REPLICA IDENTITY FULL; then `ardent resync a --table public.logs`"},
	}
	tests := []struct {
		name string
		st   contract.Status
		want []string
		not  []string
	}{
		{"backfilling with queue", contract.Status{Name: "a", Stage: contract.StageStreaming,
			Tables: &contract.TablesSummary{Counts: map[string]int{contract.TableStreaming: 10, contract.TableBackfilling: 1, contract.TableQueued: 5},
				Backfilling: "public.big", Queued: []string{"public.q1", "public.q2", "public.q3", "public.q4", "public.q5"},
				LastBackfill: &contract.BackfillResult{Table: "public.small", Rows: 1000, Seconds: 12, HandedOverLSN: "0/4000000"}},
			BackfillProgress: &contract.BackfillProgress{Table: "public.big", Phase: "copy", Rows: 250, EstimatedRows: 1000}},
			[]string{"tables         10 streaming, 1 backfilling, 5 queued", "backfilling    public.big: copying: 250 of ~1000 rows (25%)",
				"queued         public.q1, public.q2, public.q3 and 2 more", "last backfill  public.small: 1000 rows in 12 s, streaming from 0/4000000"},
			[]string{"quarantined"}},
		{"the last backfill found its table gone", contract.Status{Name: "a", Stage: contract.StageStreaming,
			Tables: &contract.TablesSummary{LastBackfill: &contract.BackfillResult{Table: "public.tmp", Gone: true}}},
			[]string{"last backfill  public.tmp: gone from the source before its copy (dropped or renamed): nothing to copy"}, []string{"0 rows"}},
		{"backfill without a heartbeat yet", contract.Status{Name: "a", Stage: contract.StageStreaming,
			Tables: &contract.TablesSummary{Counts: map[string]int{contract.TableBackfilling: 1}, Backfilling: "public.big"}},
			[]string{"public.big (no progress reported yet)"}, nil},
		{"quarantined while streaming", contract.Status{Name: "a", Stage: contract.StageAttention,
			ReplicationProgress: &contract.ReplicationProgress{ConfirmedLSN: "0/1", SampledAt: now},
			Tables:              &contract.TablesSummary{Counts: map[string]int{contract.TableStreaming: 3, contract.TableQuarantined: 1}, Attention: attention}},
			[]string{"attention (1 table quarantined; the other tables keep streaming, see below)", "3 streaming, 1 quarantined",
				"quarantined    public.logs: no replica identity any more", "               → ALTER TABLE public.logs REPLICA IDENTITY FULL;"},
			[]string{"stopped"}},
		{"attention with the stream stopped", contract.Status{Name: "a", Stage: contract.StageAttention, Error: "schema mismatch",
			Tables: &contract.TablesSummary{Attention: attention}},
			[]string{"attention (stopped: needs the operator", "quarantined  public.logs"}, []string{"keep streaming"}},
		{"many quarantined", contract.Status{Name: "a", Stage: contract.StageAttention,
			Tables: &contract.TablesSummary{Attention: []contract.TableInfo{
				{Table: "public.t1", State: contract.TableQuarantined}, {Table: "public.t2", State: contract.TableQuarantined},
				{Table: "public.t3", State: contract.TableQuarantined}, {Table: "public.t4", State: contract.TableQuarantined}}}},
			[]string{"public.t3", "… and 1 more: `ardent tables a`"}, []string{"public.t4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			renderStatus(&b, tt.st, target{id: "replication-a", running: true})
			for _, w := range tt.want {
				require.Contains(t, b.String(), w)
			}
			for _, n := range tt.not {
				require.NotContains(t, b.String(), n)
			}
		})
	}
}
