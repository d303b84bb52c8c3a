package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/naming"
)

// defaultSchemaHistory is how many changes `ardent schema history` shows
// unless --limit says otherwise.
const defaultSchemaHistory = 100

func newSchemaCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Show the schema changes a connector followed; approve one it quarantined",
		Long: `The destination follows the source's DDL (columns added, dropped, renamed,
widened) in the same transaction as the first change with the new shape, and
records every schema change in its schema history. A change it will not
follow by itself quarantines its table while the others keep streaming;
` + "`ardent schema approve NAME --table T`" + ` changes the destination table to the
source's shape and copies it again.`,
		// Only its subcommands run: a bare or misspelt one lands here.
		RunE: func(_ *cobra.Command, args []string) error {
			return usageErr("want `ardent schema history NAME` or `ardent schema approve NAME --table SCHEMA.TABLE` (got %d arguments)", len(args))
		},
	}
	cmd.AddCommand(newSchemaHistoryCmd(c), newSchemaApproveCmd(c))
	return cmd
}

// schemaHistoryFlags are `schema history`'s flags.
type schemaHistoryFlags struct {
	table  string
	limit  int
	format string
}

// request validates the flags (usage errors, exit 2) and returns the
// update's request; the table is spelt so the destination parses it back.
func (f schemaHistoryFlags) request() (contract.SchemaHistoryRequest, error) {
	if f.format != "text" && f.format != "json" {
		return contract.SchemaHistoryRequest{}, usageErr("--format must be text or json")
	}
	if f.limit < 1 || f.limit > contract.MaxSchemaHistory {
		return contract.SchemaHistoryRequest{}, usageErr("--limit must be 1 to %d (got %d)", contract.MaxSchemaHistory, f.limit)
	}
	req := contract.SchemaHistoryRequest{Limit: f.limit}
	if f.table != "" {
		qs, err := parseTables([]string{f.table}, "--table")
		if err != nil {
			return contract.SchemaHistoryRequest{}, err
		}
		req.Table = qualifiedArg(qs[0])
	}
	return req, nil
}

func newSchemaHistoryCmd(c *cli) *cobra.Command {
	f := schemaHistoryFlags{}
	cmd := &cobra.Command{
		Use:   "history NAME [--table SCHEMA.TABLE] [--limit N] [--format json]",
		Short: "List the schema changes a connector's destination followed, newest first",
		Long: `List the schema changes of a connector's source tables, newest first: when
each was applied, the LSN of the source transaction it came with, the table,
the outcome, what changed on the source and the statement run in the
destination (a long one on indented lines under it):

  applied       the statement ran in the destination
  resync        the statement ran and the table is copied again
  kept          nothing to run (the reason is shown)
  quarantined   the table stopped: ` + "`ardent schema approve NAME --table T`" + `
                changes it to the source's shape and copies it again

Exit status: 0, or 1 when the connector cannot be asked (no such connector,
dropped, not running, no answer); 2 on a usage error.`,
		Args: exactlyName("schema history"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := naming.ValidateName(name); err != nil {
				return usageErr("%w", err)
			}
			req, err := f.request()
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
			rep, err := requestSchemaHistory(ctx, tc, t.id, req)
			if err != nil {
				return schemaHistoryError(name, err)
			}
			if f.format == "json" {
				return writeJSON(c.out, rep)
			}
			renderSchemaHistory(c.out, rep, req.Table)
			return nil
		},
	}
	cmd.Flags().StringVar(&f.table, "table", "", "only the changes of SCHEMA.TABLE")
	cmd.Flags().IntVar(&f.limit, "limit", defaultSchemaHistory, fmt.Sprintf("at most N changes, the newest (1 to %d)", contract.MaxSchemaHistory))
	cmd.Flags().StringVar(&f.format, "format", "text", "text or json")
	return cmd
}

func newSchemaApproveCmd(c *cli) *cobra.Command {
	var tables []string
	cmd := &cobra.Command{
		Use:   "approve NAME --table SCHEMA.TABLE...",
		Short: "Approve a table's schema change: change its destination table to the source's shape and copy it again",
		Long: `Approve the schema change of a table the destination did not follow by itself
(outcome quarantined in ` + "`ardent schema history NAME`" + `): its destination
table is changed to the source's shape and copied again by a backfill while
the other tables keep streaming, like ` + "`ardent resync NAME --table T`" + `. Until
its backfill hands over, the table's destination copy is incomplete.

Exit status: 0 sent, 1 refused (not a table of the connector, removed or
dropped, no such connector), 2 usage error (--table is required).`,
		Args: exactlyName("schema approve"),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := naming.ValidateName(name); err != nil {
				return usageErr("%w", err)
			}
			if len(tables) == 0 {
				return usageErr("--table is required: name the table whose schema change to approve (`ardent schema history %s` lists them)", name)
			}
			qs, err := parseTables(tables, "--table")
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
			send, _, err := planResync(name, rep, qs)
			if err != nil {
				return err
			}
			if err := sendSignal(ctx, tc, t.id, contract.SignalResync, contract.TablesSignal{Tables: send}); err != nil {
				return signalError(contract.SignalResync.Name, t.id, name, err)
			}
			for _, s := range send {
				fmt.Fprintf(c.out, "approved: %s of connector %s: its destination table is changed to the source's shape and copied again "+
					"while the other tables stream; follow it with `ardent tables %s`\n", s, name, name)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&tables, "table", nil, "the table whose schema change to approve, SCHEMA.TABLE (required; repeatable)")
	return cmd
}

// exactlyName: NAME alone, else a usage error naming the command.
func exactlyName(command string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageErr("want `ardent %s NAME` (got %d arguments)", command, len(args))
		}
		return nil
	}
}

// requestSchemaHistory sends the schema-history update and waits for its
// report.
func requestSchemaHistory(ctx context.Context, tc client.Client, id string, req contract.SchemaHistoryRequest) (*contract.SchemaHistoryReport, error) {
	ctx, cancel := context.WithTimeout(ctx, tablesTimeout)
	defer cancel()
	rep, err := updateWorkflow(ctx, tc, id, contract.UpdateSchemaHistory, req)
	if err == nil && rep == nil {
		err = fmt.Errorf("the schema-history update of %s answered without a report", id)
	}
	return rep, err
}

// schemaHistoryError words a failed schema-history update; every case
// exits 1.
func schemaHistoryError(name string, err error) error {
	var svcTimeout *client.WorkflowUpdateServiceTimeoutOrCanceledError
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &svcTimeout) {
		return &exitError{code: 1, err: fmt.Errorf("no answer from connector %s within %s: is a worker running? (`ardent status %s`)",
			name, tablesTimeout, name)}
	}
	if strings.Contains(err.Error(), "unknown update") {
		return &exitError{code: 1, err: fmt.Errorf("connector %s's workflow does not know the schema-history update (its worker predates "+
			"schema tracking): upgrade ardent-worker, then try again (%w)", name, err)}
	}
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return &exitError{code: 1, err: fmt.Errorf("read the schema history of connector %s: %w", name, err)}
	}
	msg := fmt.Sprintf("read the schema history of connector %s: %s", name, app.Message())
	var d contract.FailureDetails
	if app.HasDetails() && app.Details(&d) == nil && d.Remedy != "" {
		msg += "\n  → " + d.Remedy
	}
	return &exitError{code: 1, err: errors.New(msg)}
}
