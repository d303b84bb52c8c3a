package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/sink"
)

func schemaReport() *contract.SchemaHistoryReport {
	at := time.Date(2026, 1, 2, 9, 30, 0, 0, time.UTC)
	return &contract.SchemaHistoryReport{Connector: "shop", Changes: []contract.SchemaChangeInfo{
		{Table: "public.orders", LSN: "0/3000100", Change: "column note added (text)",
			Statement: `ALTER TABLE "public"."orders" ADD COLUMN "note" text`, Outcome: "applied", At: at},
		{Table: "public.logs", LSN: "0/3000000", Change: "column level retyped integer -> text", Outcome: "quarantined",
			Detail: "a change of type the policy does not follow by itself", At: at.Add(-time.Minute)},
		{Table: "public.orders", LSN: "0/2000000", Change: "column amount widened numeric(10,2) -> numeric(12,2)",
			Statement: `ALTER TABLE "public"."orders" ALTER COLUMN "amount" TYPE numeric(12,2), ALTER COLUMN "amount" SET DEFAULT 0` + "\n" +
				`  -- and a second line`, Outcome: "applied", At: at.Add(-time.Hour)},
		{Table: "public.café", LSN: "0/1000000", Change: "column x dropped", Outcome: "kept", Detail: "the policy keeps dropped columns",
			At: at.Add(-2 * time.Hour)},
	}}
}

func TestSchemaUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"schema"}, "want `ardent schema history NAME` or `ardent schema approve NAME --table SCHEMA.TABLE` (got 0 arguments)"},
		{[]string{"schema", "histroy", "shop"}, "want `ardent schema history NAME`"},
		{[]string{"schema", "history"}, "want `ardent schema history NAME` (got 0 arguments)"},
		{[]string{"schema", "history", "shop", "public.t"}, "(got 2 arguments)"},
		{[]string{"schema", "history", "Bad Name"}, "connector name"},
		{[]string{"schema", "history", "shop", "--format", "yaml"}, "--format must be text or json"},
		{[]string{"schema", "history", "shop", "--limit", "0"}, "--limit must be 1 to 1000 (got 0)"},
		{[]string{"schema", "history", "shop", "--limit", "-3"}, "--limit must be 1 to 1000 (got -3)"},
		{[]string{"schema", "history", "shop", "--limit", "1001"}, "--limit must be 1 to 1000 (got 1001)"},
		{[]string{"schema", "history", "shop", "--limit", "many"}, "invalid argument"},
		{[]string{"schema", "history", "shop", "--table", "a.b.c"}, "--table: table name \"a.b.c\""},
		{[]string{"schema", "history", "shop", "--table", "public."}, "empty name part"},
		{[]string{"schema", "approve", "shop"}, "--table is required"},
		{[]string{"schema", "approve"}, "want `ardent schema approve NAME` (got 0 arguments)"},
		{[]string{"schema", "approve", "shop", "public.t"}, "want `ardent schema approve NAME` (got 2 arguments)"},
		{[]string{"schema", "approve", "Shop!", "--table", "public.t"}, "connector name"},
		{[]string{"schema", "approve", "shop", "--table", "x.y.z"}, "--table: table name \"x.y.z\""},
		{[]string{"schema", "approve", "shop", "--table", "public.t", "--format", "json"}, "unknown flag"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, stderr, code := runSourceCLI(t, "", tt.args...)
			require.Equal(t, 2, code, stderr)
			require.Contains(t, stderr, tt.want)
		})
	}
}

func TestSchemaHistoryRequest(t *testing.T) {
	for _, tt := range []struct {
		name string
		f    schemaHistoryFlags
		want contract.SchemaHistoryRequest
	}{
		{"every table", schemaHistoryFlags{limit: 100, format: "text"}, contract.SchemaHistoryRequest{Limit: 100}},
		{"default schema", schemaHistoryFlags{table: "orders", limit: 1, format: "json"}, contract.SchemaHistoryRequest{Table: "public.orders", Limit: 1}},
		{"quoted, read back by the destination", schemaHistoryFlags{table: `"my.schema"."T"`, limit: contract.MaxSchemaHistory, format: "text"},
			contract.SchemaHistoryRequest{Table: `"my.schema".T`, Limit: contract.MaxSchemaHistory}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.f.request()
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestRenderSchemaHistory(t *testing.T) {
	rep := schemaReport()
	var b bytes.Buffer
	renderSchemaHistory(&b, rep, "")
	out := b.String()
	lines := strings.Split(out, "\n")
	require.Regexp(t, `^AT\s+LSN\s+TABLE\s+OUTCOME\s+CHANGE\s+STATEMENT$`, lines[0])
	// Every change's line has its columns at the header's offsets, in
	// characters (public.café is one byte longer than it looks).
	for _, h := range []string{"LSN", "TABLE", "OUTCOME", "CHANGE", "STATEMENT"} {
		col := strings.Index(lines[0], h)
		for _, l := range lines[1:] {
			if r := []rune(l); strings.HasPrefix(l, "2026-") {
				require.True(t, r[col-1] == ' ' && r[col] != ' ', "%s misaligned: %q", h, l)
			}
		}
	}
	require.Regexp(t, `^`+when(rep.Changes[0].At)+`\s+0/3000100\s+public\.orders\s+applied\s+column note added \(text\)\s+`+
		`ALTER TABLE "public"."orders" ADD COLUMN "note" text$`, lines[1], "a short statement stays in its column")
	for _, want := range []string{
		"public.logs    quarantined  column level retyped integer -> text",
		"    why: a change of type the policy does not follow by itself\n",
		"(below)\n" + `    ALTER TABLE "public"."orders" ALTER COLUMN "amount" TYPE numeric(12,2), ALTER COLUMN "amount" SET DEFAULT 0` + "\n" +
			"      -- and a second line\n",
		"public.café    kept         column x dropped  ",
		"    why: the policy keeps dropped columns\n",
		"\n4 changes: 2 applied, 1 kept, 1 quarantined\n",
		"`ardent schema approve shop --table public.logs` changes the destination table to the source's shape and copies it again",
	} {
		require.Contains(t, out, want)
	}
	require.Regexp(t, `(?m)^\S.*\s-$`, out, "a change without a statement shows -")

	b.Reset()
	renderSchemaHistory(&b, &contract.SchemaHistoryReport{Connector: "shop", Changes: rep.Changes[:1]}, "")
	require.NotContains(t, b.String(), "approve", "no quarantined change, nothing to approve")
	require.Contains(t, b.String(), "1 change: 1 applied\n")

	b.Reset()
	renderSchemaHistory(&b, &contract.SchemaHistoryReport{Connector: "shop", Changes: rep.Changes[1:2]}, "")
	require.Contains(t, b.String(), "quarantined  column level retyped integer -> text  -\n    why: a change of type",
		"the first change's reason is under it")

	b.Reset()
	renderSchemaHistory(&b, &contract.SchemaHistoryReport{Connector: "shop", Changes: []contract.SchemaChangeInfo{}}, "")
	require.Equal(t, "no schema changes recorded for connector shop\n", b.String())
	b.Reset()
	renderSchemaHistory(&b, &contract.SchemaHistoryReport{Connector: "shop"}, "public.orders")
	require.Equal(t, "no schema changes recorded for public.orders of connector shop\n", b.String())
}

func TestInlineStatement(t *testing.T) {
	for _, tt := range []struct {
		name, in, column string
		below            []string
	}{
		{"none", "", "-", nil},
		{"blank", "  \n", "-", nil},
		{"short", "ALTER TABLE a ADD COLUMN b int", "ALTER TABLE a ADD COLUMN b int", nil},
		{"exactly the width", strings.Repeat("x", maxInlineStatement), strings.Repeat("x", maxInlineStatement), nil},
		{"the width in characters, not bytes", strings.Repeat("é", maxInlineStatement), strings.Repeat("é", maxInlineStatement), nil},
		{"one rune too long", strings.Repeat("é", maxInlineStatement+1), "(below)", []string{strings.Repeat("é", maxInlineStatement+1)}},
		{"short but two lines", "ALTER TABLE a ADD b int;\n\nALTER TABLE a ADD c int;", "(below)",
			[]string{"ALTER TABLE a ADD b int;", "ALTER TABLE a ADD c int;"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			column, below := inlineStatement(tt.in)
			require.Equal(t, tt.column, column)
			require.Equal(t, tt.below, below)
		})
	}
}

// TestOutcomesAreTheDestinations: the CLI counts the outcomes the
// destination records, in its order; one it does not know is counted by
// name.
func TestOutcomesAreTheDestinations(t *testing.T) {
	require.Equal(t, []string{sink.OutcomeApplied, sink.OutcomeResync, sink.OutcomeKept, sink.OutcomeQuarantined}, outcomeOrder)
	require.Equal(t, "2 applied, 1 quarantined, 1 later, 3 other",
		outcomeLine(map[string]int{"other": 3, "quarantined": 1, "applied": 2, "later": 1}))
}

func TestSchemaHistoryJSON(t *testing.T) {
	b, err := json.Marshal(contract.SchemaHistoryReport{Connector: "shop", Changes: []contract.SchemaChangeInfo{
		{Table: "public.t", LSN: "0/1", Change: "c", Outcome: "kept", At: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}})
	require.NoError(t, err)
	require.JSONEq(t, `{"connector":"shop","changes":[{"table":"public.t","lsn":"0/1","change":"c","outcome":"kept","at":"2026-01-01T00:00:00Z"}]}`,
		string(b), "statement and detail stay out while empty")
}

func TestSchemaHistoryError(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want []string
	}{
		{"old worker", temporal.NewApplicationError("unknown update schema-history. KnownUpdates=[tables verify]", "errorString"),
			[]string{"connector shop's workflow does not know the schema-history update", "upgrade ardent-worker"}},
		{"no worker", fmt.Errorf("wait: %w", context.DeadlineExceeded), []string{"no answer from connector shop within 1m0s: is a worker running?"}},
		{"service timeout", &client.WorkflowUpdateServiceTimeoutOrCanceledError{}, []string{"no answer"}},
		{"failed", temporal.NewNonRetryableApplicationError("the destination refused the login", contract.ErrTypePermanent, nil,
			contract.FailureDetails{Remedy: "check the destination's credentials"}),
			[]string{"read the schema history of connector shop: the destination refused the login", "\n  → check the destination's credentials"}},
		{"rejected", temporal.NewNonRetryableApplicationError("schema history: limit 2000 is out of range (0 to 1000)", contract.ErrTypeInvalidInput, nil),
			[]string{"read the schema history of connector shop: schema history: limit 2000 is out of range"}},
		{"other", errors.New("connection refused"), []string{"read the schema history of connector shop: connection refused"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ee *exitError
			require.ErrorAs(t, schemaHistoryError("shop", tt.err), &ee)
			require.Equal(t, 1, ee.code)
			for _, w := range tt.want {
				require.Contains(t, ee.Error(), w)
			}
		})
	}
}
