package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/contract"
)

func verifyReport() *contract.VerifyReport {
	return &contract.VerifyReport{Connector: "orders", LSN: "0/3000000", Tables: []contract.VerifyTable{
		{Table: "public.a", Equal: true, SourceRows: 10, DestinationRows: 10, Key: "id", Chunks: 1},
		{Table: "public.b", SourceRows: 10000, DestinationRows: 9999, Key: "id", Chunks: 12, DifferentChunks: 3,
			Ranges: []contract.VerifyRange{
				{From: "1000", To: "2000", SourceRows: 1000, DestinationRows: 999},
				{To: "1000", SourceRows: 1000, DestinationRows: 1000},
				{From: "9000", SourceRows: 10, DestinationRows: 10},
			},
			Examples: []contract.VerifyDifference{{Key: "1234", Kind: "missing"}, {Key: "9001", Kind: "changed"}}},
		{Table: "public.pair", SourceRows: 4, DestinationRows: 5, Key: "a", Chunks: 1, DifferentChunks: 1,
			Ranges:   []contract.VerifyRange{{SourceRows: 4, DestinationRows: 5}},
			Examples: []contract.VerifyDifference{{Key: "(1, 2)", Kind: "extra"}}},
		{Table: "public.gone", Destination: "public.gone", Missing: true, SourceRows: 3},
		{Table: "public.nokey", SourceRows: 3, DestinationRows: 3, Note: "rows differ (no key to name them)"},
	}}
}

func TestRenderVerify(t *testing.T) {
	var b bytes.Buffer
	renderVerify(&b, verifyReport())
	out := b.String()
	for _, want := range []string{
		"TABLE", "SOURCE ROWS", "DESTINATION ROWS", "RESULT",
		"public.a", "equal",
		"public.b", "10000", "9999", "DIFFERENT",
		"public.b (3 of 12 key ranges differ):",
		"id in [1000, 2000): 1000 rows in source, 999 in destination",
		"id < 1000: 1000 rows in source, 1000 in destination",
		"id >= 9000: 10 rows in source, 10 in destination",
		"id=1234 missing", "id=9001 changed",
		"all rows: 4 rows in source, 5 in destination", "key (1, 2) extra",
		"public.gone: the destination table public.gone does not exist",
		"public.nokey: rows differ (no key to name them) (3 rows in source, 3 in destination)",
		"4 of 5 tables differ at LSN 0/3000000",
	} {
		require.Contains(t, out, want)
	}
	lines := strings.Split(out, "\n")
	require.Regexp(t, `^public\.b\s+10000\s+9999\s+DIFFERENT$`, lines[2], "one aligned line per table")

	b.Reset()
	renderVerify(&b, &contract.VerifyReport{LSN: "0/16B3748", Equal: true, Tables: []contract.VerifyTable{{Table: "public.a", Equal: true, SourceRows: 3, DestinationRows: 3}}})
	require.Contains(t, b.String(), "equal at LSN 0/16B3748\n")
	require.NotContains(t, b.String(), "DIFFERENT")
}

func TestVerifyExitCodes(t *testing.T) {
	require.NoError(t, verifyExit(&contract.VerifyReport{Equal: true, Tables: []contract.VerifyTable{{Table: "a", Equal: true}}}))
	var ee *exitError
	require.ErrorAs(t, verifyExit(verifyReport()), &ee)
	require.Equal(t, 1, ee.code)
	require.Nil(t, ee.err, "the report is the message")

	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"paused (validator)", temporal.NewNonRetryableApplicationError("connector orders is paused: verify compares at a point the running stream reaches; `ardent resume orders` first",
			contract.ErrTypeNotStreaming, nil), []string{"connector orders is paused", "`ardent resume orders` first"}},
		{"unknown table", temporal.NewNonRetryableApplicationError("verify connector orders: the connector does not replicate public.nope (it replicates public.a)",
			contract.ErrTypeInvalidInput, nil), []string{"could not verify orders", "does not replicate public.nope"}},
		{"no free slot", temporal.NewNonRetryableApplicationError("the source has no free replication slot", contract.ErrTypeNoFreeSlot, nil,
			contract.FailureDetails{Remedy: "raise max_replication_slots"}), []string{"no free replication slot", "→ raise max_replication_slots"}},
		{"apply not reached", temporal.NewNonRetryableApplicationError("the connector's apply did not reach the verify point", contract.ErrTypeApplyNotReached, nil),
			[]string{"did not reach the verify point"}},
		{"cancelled", temporal.NewNonRetryableApplicationError("verification cancelled: the connector was paused", contract.ErrTypeVerifyCancelled, nil),
			[]string{"cancelled"}},
		{"timeout", fmt.Errorf("wait: %w", context.DeadlineExceeded), []string{"no report from connector orders within 1m0s", "`ardent status orders`"}},
		{"service timeout", &client.WorkflowUpdateServiceTimeoutOrCanceledError{}, []string{"no report"}},
		{"old worker", temporal.NewApplicationError("unknown update verify. KnownUpdates=[]", "errorString"), []string{"upgrade ardent-worker"}},
		{"other", errors.New("connection refused"), []string{"could not verify orders: connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ee *exitError
			require.ErrorAs(t, verifyError("orders", tt.err, time.Minute), &ee)
			require.Equal(t, 2, ee.code, "could not verify: 2, never 1 (1 says the tables differ)")
			for _, w := range tt.want {
				require.Contains(t, ee.Error(), w)
			}
		})
	}

	// A connector that does not exist: findConnector's exit 1 becomes 2.
	require.ErrorAs(t, cannotVerify(&exitError{code: 1, err: errors.New(`no connector named "x"`)}), &ee)
	require.Equal(t, 2, ee.code)
	require.EqualError(t, ee, `no connector named "x"`)
}

func TestVerifyUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"verify"}, "accepts 1 arg"},
		{[]string{"verify", "Bad Name"}, "connector name"},
		{[]string{"verify", "orders", "--format", "yaml"}, "--format must be text or json"},
		{[]string{"verify", "orders", "--table", ""}, "--table"},
		{[]string{"verify", "orders", "--timeout", "0s"}, "--timeout must be positive"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, stderr, code := runSourceCLI(t, "", tt.args...)
			require.Equal(t, 2, code, stderr)
			require.Contains(t, stderr, tt.want)
		})
	}
}

func TestRenderStatusVerification(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	next := at.Add(6 * time.Hour)
	tests := []struct {
		name string
		st   contract.Status
		want []string
		not  []string
	}{
		{"equal", contract.Status{Name: "a", Stage: contract.StageStreaming,
			Verify: &contract.VerifySummary{At: &at, LSN: "0/3000000", Equal: true, Tables: 4, NextAt: &next}},
			[]string{"verified", "equal at LSN 0/3000000 (" + when(at) + ")", "next verify", when(next)}, []string{"DIFFER"}},
		{"different", contract.Status{Name: "a", Stage: contract.StageAttention, Diverged: true,
			Error:  "destination differs from source in public.b, public.c at LSN 0/3000000",
			Remedy: "run `ardent verify a` to see the key ranges and example keys that differ",
			Verify: &contract.VerifySummary{At: &at, LSN: "0/3000000", Different: []string{"public.b", "public.c"}}},
			[]string{"the stream keeps running", "2 tables DIFFER at LSN 0/3000000: public.b, public.c", "`ardent verify a`"},
			[]string{"stopped"}},
		{"running and failed before", contract.Status{Name: "a", Stage: contract.StageStreaming,
			Verify:         &contract.VerifySummary{RunningSince: &at, Error: "the connector's apply did not reach the verify point", ErrorAt: &at, NextAt: &next},
			VerifyProgress: &contract.VerifyProgress{Tables: 10, TablesDone: 3, Table: "public.c"}},
			[]string{"not yet", "verifying", "since " + when(at) + ", 3/10 tables compared", "verify failed", "did not reach the verify point"}, []string{"next verify"}},
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
