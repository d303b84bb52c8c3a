package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ardent-cdc/ardent/internal/naming"
	"github.com/ardent-cdc/ardent/workflows"
)

// newSignalCmd is `ardent signal sql-applied NAME`.
func newSignalCmd(c *cli) *cobra.Command {
	var note string
	cmd := &cobra.Command{
		Use:   "signal sql-applied NAME",
		Short: "Tell a waiting onboarding that the generated SQL was applied, so preflight re-runs now",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != workflows.SignalSQLApplied {
				return usageErr("unknown signal %q: the signal is %s (pause, resume and drop are commands of their own)", args[0], workflows.SignalSQLApplied)
			}
			name := args[1]
			if err := naming.ValidateName(name); err != nil {
				return usageErr("%w", err)
			}
			tc, _, err := c.temporal(cmd.Context())
			if err != nil {
				return err
			}
			defer tc.Close()
			id := workflows.OnboardingID(name)
			if err := tc.SignalWorkflow(cmd.Context(), id, "", workflows.SignalSQLApplied, workflows.SQLAppliedSignal{Note: note}); err != nil {
				return &exitError{code: 1, err: fmt.Errorf("signal %s to %s (is the onboarding running? `ardent status %s`): %w", workflows.SignalSQLApplied, id, name, err)}
			}
			fmt.Fprintf(c.out, "sent %s to %s: preflight runs again now\n", workflows.SignalSQLApplied, id)
			return nil
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "a note recorded with the signal")
	return cmd
}

// newControlCmd is pause, resume or drop: sent to whichever workflow speaks
// for the connector now.
func newControlCmd(c *cli, signal string) *cobra.Command {
	var reason string
	short := map[string]string{
		"pause":  "Pause a connector: stop streaming (the slot keeps WAL) until resume",
		"resume": "Resume a paused connector, retry one in stage failed or attention, or retry a retrying one now",
		"drop":   "Drop a connector: stop it, remove its slot and bookkeeping schema from the source",
	}[signal]
	cmd := &cobra.Command{
		Use:   signal + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// A bad name is a usage error even when Temporal is unreachable.
			if err := naming.ValidateName(args[0]); err != nil {
				return usageErr("%w", err)
			}
			tc, _, err := c.temporal(cmd.Context())
			if err != nil {
				return err
			}
			defer tc.Close()
			t, err := findConnector(cmd.Context(), tc, args[0])
			if err != nil {
				return err
			}
			if !t.running {
				return &exitError{code: 1, err: fmt.Errorf("connector %s has no running workflow (%s has ended): nothing to %s", args[0], t.id, signal)}
			}
			if err := tc.SignalWorkflow(cmd.Context(), t.id, "", signal, workflows.ControlSignal{Reason: reason}); err != nil {
				return fmt.Errorf("signal %s to %s: %w", signal, t.id, err)
			}
			fmt.Fprintf(c.out, "sent %s to %s\n", signal, t.id)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded with the signal")
	return cmd
}
