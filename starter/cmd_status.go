package main

import (
	"github.com/spf13/cobra"

	"github.com/ardent-cdc/ardent/internal/naming"
)

func newStatusCmd(c *cli) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "Show where a connector stands: stage, preflight report, snapshot progress, replication position and lag, retries and failures",
		Long: `Show where a connector stands: stage, preflight report, snapshot progress,
replication position and lag; while retrying the attempt, the last error and the
next try; when stopped (stage failed or attention) the error and what to do.

Exit status: 0, or 1 when the stage is failed, attention, cancelled or
terminated (its workflow was terminated and its slot is still on the source:
` + "`ardent drop NAME --force`" + `; the status is printed either way), or when
the connector cannot be found. Without the master key it shows the stage and
the source only.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return usageErr("--format must be text or json")
			}
			if err := naming.ValidateName(args[0]); err != nil {
				return usageErr("%w", err)
			}
			tc, dc, err := c.temporalRead(cmd.Context()) // without the master key too
			if err != nil {
				return err
			}
			defer tc.Close()
			st, t, err := c.connectorStatus(cmd.Context(), tc, dc, args[0])
			if err != nil {
				return err
			}
			if format == "json" {
				if err := writeJSON(c.out, st); err != nil {
					return err
				}
			} else {
				renderStatus(c.out, st, t)
			}
			return stoppedExit(st)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	return cmd
}
