package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/naming"
)

func newResyncCmd(c *cli) *cobra.Command {
	var tables []string
	cmd := &cobra.Command{
		Use:   "resync NAME [--table SCHEMA.TABLE]...",
		Short: "Copy tables of a connector again, one at a time, while the others keep streaming",
		Long: `Copy tables of a connector again: each is emptied in the destination and
copied by a backfill while the other tables keep streaming, then its changes
stream from the backfill's consistent point on. Tables are resynced one at a
time; until its backfill hands over, a table's destination copy is
incomplete. This is how a quarantined table comes back (fix its cause first:
` + "`ardent tables NAME`" + ` shows it), and how a table found to differ
(` + "`ardent verify`" + `) is repaired.

Without --table every table of the connector is resynced (there is no
confirmation prompt).

Exit status: 0 sent, 1 refused (not a table of the connector, removed or
dropped, no such connector), 2 usage error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := naming.ValidateName(name); err != nil {
				return usageErr("%w", err)
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
			send, n, err := planResync(name, rep, qs)
			if err != nil {
				return err
			}
			if err := sendSignal(ctx, tc, t.id, contract.SignalResync, contract.TablesSignal{Tables: send}); err != nil {
				return signalError(contract.SignalResync.Name, t.id, name, err)
			}
			fmt.Fprintf(c.out, "sent %s to %s: %s, one at a time, each emptied in the destination and copied again "+
				"while the others keep streaming (its destination copy is incomplete until its backfill hands over); "+
				"follow with `ardent tables %s`\n", contract.SignalResync.Name, t.id, resyncWhat(send, n), name)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&tables, "table", nil, "resync only SCHEMA.TABLE (repeatable; default every table of the connector)")
	return cmd
}

// resyncWhat names what a resync copies: the tables sent, or all n.
func resyncWhat(send []string, n int) string {
	switch {
	case len(send) > 0:
		return strings.Join(send, ", ")
	case n == 1:
		return "its only table"
	}
	return fmt.Sprintf("all %d tables", n)
}
