package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/naming"
)

// newSignalCmd is `ardent signal sql-applied NAME`.
func newSignalCmd(c *cli) *cobra.Command {
	var note string
	sig := contract.SignalSQLApplied
	cmd := &cobra.Command{
		Use:   "signal " + sig.Name + " NAME",
		Short: "Tell a waiting onboarding that the generated SQL was applied, so preflight re-runs now",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != sig.Name {
				return usageErr("unknown signal %q: the signal is %s (pause, resume and drop are commands of their own)", args[0], sig.Name)
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
			id := contract.OnboardingID(name)
			if err := sendSignal(cmd.Context(), tc, id, sig, contract.SQLAppliedSignal{Note: note}); err != nil {
				return &exitError{code: 1, err: fmt.Errorf("signal %s to %s (is the onboarding running? `ardent status %s`): %w", sig.Name, id, name, err)}
			}
			fmt.Fprintf(c.out, "sent %s to %s: preflight runs again now\n", sig.Name, id)
			return nil
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "a note recorded with the signal")
	return cmd
}

// newControlCmd is pause, resume or drop: sent to whichever workflow speaks
// for the connector now.
func newControlCmd(c *cli, sig contract.Signal[contract.ControlSignal], short string) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   sig.Name + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			// A bad name is a usage error even when Temporal is unreachable.
			if err := naming.ValidateName(args[0]); err != nil {
				return usageErr("%w", err)
			}
			tc, _, err := c.temporal(ctx)
			if err != nil {
				return err
			}
			defer tc.Close()
			t, err := findConnector(ctx, tc, args[0])
			if err != nil {
				return err
			}
			if !t.running {
				return &exitError{code: 1, err: fmt.Errorf("connector %s has no running workflow (%s has ended): nothing to %s", args[0], t.id, sig.Name)}
			}
			if err := sendSignal(ctx, tc, t.id, sig, contract.ControlSignal{Reason: reason}); err != nil {
				return fmt.Errorf("signal %s to %s: %w", sig.Name, t.id, err)
			}
			fmt.Fprintf(c.out, "sent %s to %s\n", sig.Name, t.id)
			return nil
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded with the signal")
	return cmd
}
