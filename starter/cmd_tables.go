package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/naming"
	"github.com/ardent-cdc/ardent/internal/schema"
)

// tablesTimeout bounds the wait for the tables update: the workflow reads
// the table states from the destination, which takes seconds.
const tablesTimeout = time.Minute

func newTablesCmd(c *cli) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "tables NAME [--format json]",
		Short: "List a connector's tables with their states; add or remove tables while the others keep streaming",
		Long: `List every table of a connector with its state, its destination row count
(an estimate) and the last LSN applied to it:

  snapshot      in the initial snapshot
  queued        waiting for its backfill (one table is backfilled at a time)
  backfilling   being copied while the other tables stream (with progress)
  streaming     its changes are applied
  quarantined   its changes are no longer applied (cause and remedy shown);
                fix the cause, then ` + "`ardent resync NAME --table T`" + `
  removed       taken out with ` + "`ardent tables remove`" + ` (destination table kept)
  dropped       dropped on the source (destination table kept)

` + "`ardent tables add NAME T...`" + ` and ` + "`ardent tables remove NAME T...`" + ` change the
connector's tables; ` + "`ardent resync NAME`" + ` copies tables again.

Exit status: 0, or 1 when a table is quarantined (the list is printed
either way) or the connector cannot be asked (no such connector, dropped,
not running, no answer); 2 on a usage error.`,
		Args: tablesArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if format != "text" && format != "json" {
				return usageErr("--format must be text or json")
			}
			if err := naming.ValidateName(name); err != nil {
				return usageErr("%w", err)
			}
			ctx := cmd.Context()
			tc, _, err := c.temporal(ctx)
			if err != nil {
				return err
			}
			defer tc.Close()
			t, err := replicationTarget(ctx, tc, name)
			if err != nil {
				return err
			}
			rep, err := requestTables(ctx, tc, t.id)
			if err != nil {
				return tablesError(name, err)
			}
			if format == "json" {
				if err := writeJSON(c.out, rep); err != nil {
					return err
				}
			} else {
				renderTables(c.out, rep)
			}
			return tablesExit(rep)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	cmd.AddCommand(newTablesAddCmd(c), newTablesRemoveCmd(c))
	return cmd
}

// tablesArgs: NAME alone; anything else is a usage error that names the
// three forms (a misspelt subcommand lands here too).
func tablesArgs(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageErr("want `ardent tables NAME`, `ardent tables add NAME TABLE...` or `ardent tables remove NAME TABLE...` (got %d arguments)", len(args))
	}
	return nil
}

// changeArgs: NAME and at least one table.
func changeArgs(verb string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) < 2 {
			return usageErr("want `ardent tables %s NAME SCHEMA.TABLE...` (got %d arguments)", verb, len(args))
		}
		return nil
	}
}

func newTablesAddCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "add NAME SCHEMA.TABLE...",
		Short: "Add tables to a streaming connector: each is backfilled while the others keep streaming",
		Long: `Add tables to a streaming connector. Each table is checked on the source
first, with the connector's stored credentials: it exists (names are
case-sensitive), it has a usable replica identity (a primary key, an index
selected with REPLICA IDENTITY USING INDEX, or FULL) and the connector's role
may read it. Then it is queued, created in the destination and copied by a
backfill while the other tables keep streaming; its changes stream from the
backfill's consistent point on. A partitioned table brings its partitions.

Exit status: 0 sent, 1 refused (not found, no replica identity, not
readable, already replicated, no such connector), 2 usage error.`,
		Args: changeArgs("add"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			tables, err := tableArgs(name, args[1:])
			if err != nil {
				return err
			}
			if c.cfg.CatalogURL == "" {
				return usageErr("tables add checks each table on the source with the connector's stored credentials: " +
					"set ARDENT_CATALOG_URL (the worker's catalog)")
			}
			ctx := cmd.Context()
			tc, _, err := c.temporal(ctx)
			if err != nil {
				return err
			}
			defer tc.Close()
			t, err := replicationTarget(ctx, tc, name)
			if err != nil {
				return err
			}
			rep, err := requestTables(ctx, tc, t.id)
			if err != nil {
				return tablesError(name, err)
			}
			if err := planAdd(name, rep, tables); err != nil {
				return err
			}
			if err := c.checkAddOnSource(ctx, name, tables); err != nil {
				return err
			}
			names := signalNames(tables)
			if err := sendSignal(ctx, tc, t.id, contract.SignalTablesAdd, contract.TablesSignal{Tables: names}); err != nil {
				return signalError(contract.SignalTablesAdd.Name, t.id, name, err)
			}
			fmt.Fprintf(c.out, "sent %s to %s: %s queued for backfill (created in the destination, then copied while the other tables keep streaming); "+
				"follow with `ardent tables %s`\n", contract.SignalTablesAdd.Name, t.id, strings.Join(names, ", "), name)
			return nil
		},
	}
}

func newTablesRemoveCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "remove NAME SCHEMA.TABLE...",
		Short: "Stop replicating tables of a connector (their destination tables are kept)",
		Long: `Stop replicating tables of a connector: their changes are no longer applied
and they show as removed. Their destination tables are kept as they are
(drop them there when no longer needed); ` + "`ardent tables add`" + ` brings a table
back with a new copy. The last table cannot be removed: drop the connector
instead (` + "`ardent drop NAME`" + `).

Exit status: 0 sent (or nothing to do), 1 refused (not a table of the
connector, the last table, no such connector), 2 usage error.`,
		Args: changeArgs("remove"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			tables, err := tableArgs(name, args[1:])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			tc, _, err := c.temporal(ctx)
			if err != nil {
				return err
			}
			defer tc.Close()
			t, err := replicationTarget(ctx, tc, name)
			if err != nil {
				return err
			}
			rep, err := requestTables(ctx, tc, t.id)
			if err != nil {
				return tablesError(name, err)
			}
			send, already, err := planRemove(name, rep, tables)
			if err != nil {
				return err
			}
			for _, a := range already {
				fmt.Fprintf(c.out, "%s is already removed from connector %s\n", a, name)
			}
			if len(send) == 0 {
				return nil
			}
			if err := sendSignal(ctx, tc, t.id, contract.SignalTablesRemove, contract.TablesSignal{Tables: send}); err != nil {
				return signalError(contract.SignalTablesRemove.Name, t.id, name, err)
			}
			fmt.Fprintf(c.out, "sent %s to %s: %s stop replicating (state removed); their destination tables are kept as they are "+
				"(`ardent tables add %s TABLE` copies one again); follow with `ardent tables %s`\n",
				contract.SignalTablesRemove.Name, t.id, strings.Join(send, ", "), name, name)
			return nil
		},
	}
}

// tableArgs validates NAME and the tables (usage errors, exit 2) and
// returns the tables parsed, without repeats, in the order given.
func tableArgs(name string, args []string) ([]schema.QualifiedName, error) {
	if err := naming.ValidateName(name); err != nil {
		return nil, usageErr("%w", err)
	}
	return parseTables(args, "")
}

// parseTables parses "schema.table" arguments (of flag, if given) and
// drops repeats, keeping the order given.
func parseTables(args []string, flag string) ([]schema.QualifiedName, error) {
	var out []schema.QualifiedName
	for _, a := range args {
		q, err := schema.ParseQualified(a)
		if err != nil {
			if flag != "" {
				return nil, usageErr("%s: %w", flag, err)
			}
			return nil, usageErr("%w", err)
		}
		if !slices.Contains(out, q) {
			out = append(out, q)
		}
	}
	return out, nil
}

// qualifiedArg spells q so that schema.ParseQualified reads it back: a part
// holding a dot or a quote is double-quoted. For every other name it is
// "schema.table", the table's name in the tables report.
func qualifiedArg(q schema.QualifiedName) string {
	part := func(s string) string {
		if strings.ContainsAny(s, `."`) {
			return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
		}
		return s
	}
	return part(q.Schema) + "." + part(q.Name)
}

func signalNames(tables []schema.QualifiedName) []string {
	out := make([]string, len(tables))
	for i, q := range tables {
		out[i] = qualifiedArg(q)
	}
	return out
}

// replicationTarget is connector name's running replication workflow: the
// only one that knows its tables. Anything else exits 1 with what to do.
func replicationTarget(ctx context.Context, tc client.Client, name string) (target, error) {
	t, err := findConnector(ctx, tc, name)
	if err != nil {
		return t, err
	}
	if t.running && t.typ != contract.WorkflowReplication {
		return t, &exitError{code: 1, err: fmt.Errorf("connector %s is still onboarding (`ardent status %s`): its tables are listed, added, "+
			"removed and resynced once it streams", name, name)}
	}
	if t.running {
		return t, nil
	}
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if st, err := queryWorkflow(qctx, tc, t.id, contract.QueryStatus); err == nil && st.Stage == contract.StageDropped {
		return t, &exitError{code: 1, err: fmt.Errorf("connector %s was dropped: it has no tables any more "+
			"(`ardent onboard --name %s ...` starts a new one)", name, name)}
	}
	return t, &exitError{code: 1, err: fmt.Errorf("connector %s has no running workflow (%s is %s): `ardent status %s` says why",
		name, t.id, t.status, name)}
}

// requestTables sends the tables update and waits for its report.
func requestTables(ctx context.Context, tc client.Client, id string) (*contract.TablesReport, error) {
	ctx, cancel := context.WithTimeout(ctx, tablesTimeout)
	defer cancel()
	rep, err := updateWorkflow(ctx, tc, id, contract.UpdateTables, contract.TablesRequest{})
	if err == nil && rep == nil {
		err = fmt.Errorf("the tables update of %s answered without a report", id)
	}
	return rep, err
}

// tablesError words a failed tables update; every case exits 1. Nothing
// is sent after it: add, remove and resync ask for the tables first, so a
// worker that predates the live table set never gets their signals.
func tablesError(name string, err error) error {
	var svcTimeout *client.WorkflowUpdateServiceTimeoutOrCanceledError
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &svcTimeout) {
		return &exitError{code: 1, err: fmt.Errorf("no answer from connector %s within %s: is a worker running? (`ardent status %s`)",
			name, tablesTimeout, name)}
	}
	if strings.Contains(err.Error(), "unknown update") {
		return &exitError{code: 1, err: fmt.Errorf("connector %s's workflow does not know the tables update (its worker predates the live table set): "+
			"upgrade ardent-worker, then try again; nothing was sent (%w)", name, err)}
	}
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return &exitError{code: 1, err: fmt.Errorf("list the tables of connector %s: %w", name, err)}
	}
	msg := fmt.Sprintf("list the tables of connector %s: %s", name, app.Message())
	var d contract.FailureDetails
	if app.HasDetails() && app.Details(&d) == nil && d.Remedy != "" {
		msg += "\n  → " + d.Remedy
	}
	return &exitError{code: 1, err: errors.New(msg)}
}

func signalError(sig, id, name string, err error) error {
	return &exitError{code: 1, err: fmt.Errorf("signal %s to %s (is it still running? `ardent status %s`): %w", sig, id, name, err)}
}

// tablesExit: 1 when a table is quarantined (the report says which).
func tablesExit(rep *contract.TablesReport) error {
	for _, t := range rep.Tables {
		if t.State == contract.TableQuarantined {
			return &exitError{code: 1}
		}
	}
	return nil
}
