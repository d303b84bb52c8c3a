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
	"github.com/ardent-cdc/ardent/internal/schema"
)

func tablesReport() *contract.TablesReport {
	since := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	return &contract.TablesReport{Connector: "shop", Tables: []contract.TableInfo{
		{Table: "public.orders", State: contract.TableStreaming, Rows: 1200, AppliedLSN: "0/3000000"},
		{Table: "public.Customers", State: contract.TableStreaming, Rows: 40, AppliedLSN: "0/3000000"},
		{Table: "public.big", State: contract.TableBackfilling, Rows: -1,
			Backfill: &contract.BackfillProgress{Table: "public.big", Phase: "copy", Rows: 4500, EstimatedRows: 10000, Bytes: 3 << 20}},
		{Table: "public.next", State: contract.TableQueued, Rows: 0},
		{Table: "public.logs", State: contract.TableQuarantined, Rows: 10, AppliedLSN: "0/2000000", Since: since,
			Cause:  "the destination refused a change: column \"note\" does not exist",
			Remedy: "add the column in the destination, then `ardent resync shop --table public.logs`"},
		{Table: "public.old", State: contract.TableRemoved, Rows: 7},
		{Table: "public.gone", State: contract.TableDropped, Rows: 3, AppliedLSN: "0/1000000", Since: since,
			Cause: "dropped on the source", Remedy: "drop the destination table public.gone when it is no longer needed"},
	}}
}

func qs(t *testing.T, names ...string) []schema.QualifiedName {
	t.Helper()
	out, err := parseTables(names, "")
	require.NoError(t, err)
	return out
}

func TestTablesUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"tables"}, "want `ardent tables NAME`"},
		{[]string{"tables", "shop", "orders"}, "`ardent tables add NAME TABLE...`"},
		{[]string{"tables", "Bad Name"}, "connector name"},
		{[]string{"tables", "shop", "--format", "yaml"}, "--format must be text or json"},
		{[]string{"tables", "add", "shop"}, "want `ardent tables add NAME SCHEMA.TABLE...`"},
		{[]string{"tables", "remove"}, "want `ardent tables remove NAME SCHEMA.TABLE...`"},
		{[]string{"tables", "add", "Shop!", "public.a"}, "connector name"},
		{[]string{"tables", "add", "shop", "a.b.c"}, "want schema.table"},
		{[]string{"tables", "remove", "shop", "public.a", "public."}, "empty name part"},
		{[]string{"tables", "add", "shop", `"unterminated.t`}, "unterminated quote"},
		{[]string{"tables", "add", "shop", "public.a", "--format", "json"}, "unknown flag"},
		// add checks the table on the source with the stored credentials.
		{[]string{"tables", "add", "shop", "public.a"}, "set ARDENT_CATALOG_URL"},
		{[]string{"resync"}, "accepts 1 arg"},
		{[]string{"resync", "shop", "public.a"}, "accepts 1 arg"},
		{[]string{"resync", "-shop"}, "unknown shorthand flag"},
		{[]string{"resync", "shop", "--table", "x.y.z"}, "--table: table name \"x.y.z\""},
		{[]string{"resync", "Shop"}, "connector name"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, stderr, code := runSourceCLI(t, "", tt.args...)
			require.Equal(t, 2, code, stderr)
			require.Contains(t, stderr, tt.want)
		})
	}
}

func TestParseTables(t *testing.T) {
	got := qs(t, "public.a", "b", "public.a", `"my.schema"."t""q"`)
	require.Equal(t, []schema.QualifiedName{{Schema: "public", Name: "a"}, {Schema: "public", Name: "b"}, {Schema: "my.schema", Name: `t"q`}},
		got, "repeats dropped, the default schema filled in, quotes read")
	// What is sent reads back as the same table.
	for _, q := range got {
		back, err := schema.ParseQualified(qualifiedArg(q))
		require.NoError(t, err)
		require.Equal(t, q, back)
	}
	require.Equal(t, "public.a", qualifiedArg(got[0]), "an ordinary name is the report's schema.table")
	require.Equal(t, `"my.schema"."t""q"`, qualifiedArg(got[2]))
}

func TestPlanAdd(t *testing.T) {
	rep := tablesReport()
	for _, tt := range []struct {
		name   string
		tables []string
		want   []string // empty: accepted
	}{
		{"new table", []string{"public.fresh"}, nil},
		{"removed comes back", []string{"public.old"}, nil},
		{"dropped and created again", []string{"public.gone"}, nil},
		{"streaming", []string{"public.orders"}, []string{"public.orders is already streaming in connector shop: nothing to add",
			"`ardent resync shop --table public.orders` copies it again", "nothing was sent"}},
		{"backfilling and queued, both named", []string{"public.big", "public.fresh", "public.next"},
			[]string{"public.big is already backfilling", "public.next is already queued", "nothing was sent"}},
		{"quarantined", []string{"public.logs"}, []string{"quarantined: fix the cause", "`ardent resync shop --table public.logs`"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := planAdd("shop", rep, qs(t, tt.tables...))
			if len(tt.want) == 0 {
				require.NoError(t, err)
				return
			}
			var ee *exitError
			require.ErrorAs(t, err, &ee)
			require.Equal(t, 1, ee.code)
			for _, w := range tt.want {
				require.Contains(t, ee.Error(), w)
			}
		})
	}
}

func TestPlanRemove(t *testing.T) {
	rep := tablesReport()
	send, already, err := planRemove("shop", rep, qs(t, "public.orders", "public.old", "public.logs"))
	require.NoError(t, err)
	require.Equal(t, []string{"public.orders", "public.logs"}, send, "a quarantined table may be removed")
	require.Equal(t, []string{"public.old"}, already)

	send, already, err = planRemove("shop", rep, qs(t, "public.old"))
	require.NoError(t, err, "removing a removed table is nothing to do")
	require.Empty(t, send)
	require.Equal(t, []string{"public.old"}, already)

	for _, tt := range []struct {
		name   string
		rep    *contract.TablesReport
		tables []string
		want   []string
	}{
		{"not the connector's", rep, []string{"public.orders", "public.nope"},
			[]string{"connector shop has no table public.nope (it has public.orders, public.Customers, public.big, public.next, public.logs and 2 more; `ardent tables shop` lists them)", "nothing was sent"}},
		{"case", rep, []string{"public.customers"}, []string{"names are case-sensitive: did you mean public.Customers?"}},
		{"every live table", rep, []string{"public.orders", "public.Customers", "public.big", "public.next"},
			[]string{"public.orders, public.Customers, public.big, public.next are the last tables connector shop streams (or backfills): drop the connector instead (`ardent drop shop`)"}},
		{"the last table", &contract.TablesReport{Tables: []contract.TableInfo{
			{Table: "public.a", State: contract.TableStreaming}, {Table: "public.b", State: contract.TableQuarantined}}},
			[]string{"public.a"}, []string{"public.a is the last table connector shop streams", "`ardent drop shop`"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			send, _, err := planRemove("shop", tt.rep, qs(t, tt.tables...))
			require.Empty(t, send)
			var ee *exitError
			require.ErrorAs(t, err, &ee)
			require.Equal(t, 1, ee.code)
			for _, w := range tt.want {
				require.Contains(t, ee.Error(), w)
			}
		})
	}
}

func TestPlanResync(t *testing.T) {
	rep := tablesReport()
	send, n, err := planResync("shop", rep, nil)
	require.NoError(t, err)
	require.Nil(t, send, "an empty list is every table")
	require.Equal(t, 5, n, "removed and dropped tables are not copied")
	require.Equal(t, "all 5 tables", resyncWhat(send, n))

	send, n, err = planResync("shop", rep, qs(t, "public.logs", "public.orders"))
	require.NoError(t, err)
	require.Equal(t, []string{"public.logs", "public.orders"}, send)
	require.Equal(t, "public.logs, public.orders", resyncWhat(send, n))

	for _, tt := range []struct {
		name   string
		rep    *contract.TablesReport
		tables []string
		want   []string
	}{
		{"unknown", rep, []string{"public.logs", "shop.nope"}, []string{"connector shop has no table shop.nope (it has public.orders,", "nothing was sent"}},
		{"removed", rep, []string{"public.old"}, []string{"public.old was removed from connector shop: `ardent tables add shop public.old` brings it back"}},
		{"dropped", rep, []string{"public.gone"}, []string{"public.gone was dropped on the source: there is nothing to copy"}},
		{"no tables at all", &contract.TablesReport{Tables: []contract.TableInfo{{Table: "public.a", State: contract.TableRemoved}}},
			nil, []string{"connector shop has no table to resync"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := planResync("shop", tt.rep, qs(t, tt.tables...))
			var ee *exitError
			require.ErrorAs(t, err, &ee)
			require.Equal(t, 1, ee.code)
			for _, w := range tt.want {
				require.Contains(t, ee.Error(), w)
			}
		})
	}
}

func TestTablesError(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want []string
	}{
		{"old worker", temporal.NewApplicationError("unknown update tables. KnownUpdates=[verify]", "errorString"),
			[]string{"does not know the tables update", "upgrade ardent-worker", "nothing was sent"}},
		{"no worker", fmt.Errorf("wait: %w", context.DeadlineExceeded), []string{"no answer from connector shop within 1m0s: is a worker running?"}},
		{"service timeout", &client.WorkflowUpdateServiceTimeoutOrCanceledError{}, []string{"no answer"}},
		{"rejected", temporal.NewNonRetryableApplicationError("the destination is unreachable", contract.ErrTypeTransient, nil,
			contract.FailureDetails{Remedy: "check the destination"}), []string{"list the tables of connector shop: the destination is unreachable", "→ check the destination"}},
		{"other", errors.New("connection refused"), []string{"list the tables of connector shop: connection refused"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ee *exitError
			require.ErrorAs(t, tablesError("shop", tt.err), &ee)
			require.Equal(t, 1, ee.code)
			for _, w := range tt.want {
				require.Contains(t, ee.Error(), w)
			}
		})
	}
}

func TestRenderTables(t *testing.T) {
	rep := tablesReport()
	var b bytes.Buffer
	renderTables(&b, rep)
	out := b.String()
	lines := strings.Split(out, "\n")
	require.Regexp(t, `^TABLE\s+STATE\s+ROWS\s+APPLIED LSN$`, lines[0])
	require.Regexp(t, `^public\.orders\s+streaming\s+1200\s+0/3000000$`, lines[1])
	// Every table line has its columns at the same offsets.
	col := strings.Index(lines[0], "STATE")
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "public.") {
			require.True(t, l[col-1] == ' ' && l[col] != ' ', "misaligned: %q", l)
		}
	}
	for _, want := range []string{
		"public.big        backfilling 45%",
		"    copying: 4500 of ~10000 rows (45%), 3.0 MiB\n",
		"public.next       queued           0     -\n",
		`    cause: the destination refused a change: column "note" does not exist (since ` + when(rep.Tables[4].Since) + ")\n",
		"    → add the column in the destination, then `ardent resync shop --table public.logs`\n",
		"public.old        removed          7     -\n",
		"    cause: dropped on the source",
		"7 tables: 2 streaming, 1 backfilling, 1 queued, 1 quarantined, 1 removed, 1 dropped\n",
	} {
		require.Contains(t, out, want)
	}
	require.Contains(t, out, "public.big        backfilling 45%  ?")
	require.Error(t, tablesExit(rep), "a quarantined table exits 1")
	var ee *exitError
	require.ErrorAs(t, tablesExit(rep), &ee)
	require.Equal(t, 1, ee.code)
	require.Nil(t, ee.err, "the list is the message")

	rep.Tables = rep.Tables[:4]
	require.NoError(t, tablesExit(rep))
	b.Reset()
	renderTables(&b, &contract.TablesReport{Connector: "shop"})
	require.Equal(t, "connector shop has no tables\n", b.String())
}

func TestBackfillLine(t *testing.T) {
	require.Equal(t, "copying: 12 rows", backfillLine(&contract.BackfillProgress{Phase: "copy", Rows: 12}))
	require.Equal(t, "catching up with the stream: 100 of ~100 rows (100%), 1.0 KiB, applied 0/2 of the stream's 0/5",
		backfillLine(&contract.BackfillProgress{Phase: "catch_up", Rows: 100, EstimatedRows: 100, Bytes: 1024, AppliedLSN: "0/2", StreamLSN: "0/5"}))
	require.Equal(t, "copying: 150 of ~100 rows (100%)", backfillLine(&contract.BackfillProgress{Rows: 150, EstimatedRows: 100}),
		"an estimate below the rows copied caps at 100%")
	since := time.Now().Add(-90 * time.Second)
	require.Equal(t, "queued: waiting for the source host db1:5432 (2 of 2 running), since "+since.Local().Format(time.TimeOnly)+" (1m30s ago)",
		backfillLine(&contract.BackfillProgress{Phase: "queued", Queued: &contract.QueueWait{Reason: contract.QueueReasonSourceHost,
			Host: "db1:5432", Running: 2, Limit: 2, Since: since}}), "a queued backfill says what it waits for")
}
