package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

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
				if sig == contract.SignalDrop && leftBehind(t) {
					return dropEnded(ctx, c, tc, args[0], t, reason)
				}
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

// leftBehind: the workflow that spoke for the connector ended without
// dropping it (cancelled, terminated, failed, timed out), so what it
// created in the source may still be there. A completed one either handed
// off (the replication workflow is found first) or dropped.
func leftBehind(t target) bool {
	switch t.closeStatus {
	case enums.WORKFLOW_EXECUTION_STATUS_CANCELED, enums.WORKFLOW_EXECUTION_STATUS_TERMINATED,
		enums.WORKFLOW_EXECUTION_STATUS_FAILED, enums.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return true
	}
	return false
}

// dropWait bounds how long `ardent drop` waits for a drop it started.
const dropWait = 5 * time.Minute

// dropEnded drops a connector whose workflows ended without dropping it: it
// starts the replication workflow with drop_requested, which runs the
// DropConnector activity (idempotent: it removes the slot and the
// bookkeeping schema if they are there, and marks the catalog record
// dropped) and ends in stage dropped, and waits for it.
func dropEnded(ctx context.Context, c *cli, tc client.Client, name string, t target, reason string) error {
	id := contract.ReplicationID(name)
	var source string
	if st, err := queryWorkflow(ctx, tc, t.id, contract.QueryStatus); err == nil {
		source = st.SourceDisplay
	}
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                c.cfg.TaskQueue,
		WorkflowIDReusePolicy:                    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy:                 enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(sourceKey.ValueSet(source)),
		Memo:                                     map[string]any{"source": source, "reason": reason},
	}, contract.WorkflowReplication, contract.ReplicationInput{Name: name, SourceDisplay: source, DropRequested: true})
	if err != nil {
		return fmt.Errorf("start %s to drop connector %s: %w", id, name, err)
	}
	fmt.Fprintf(c.out, "%s ended (%s) without dropping the connector: started %s to drop it\n", t.id, t.status, id)
	wctx, cancel := context.WithTimeout(ctx, dropWait)
	defer cancel()
	err = run.Get(wctx, nil)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &exitError{code: 1, err: fmt.Errorf("the drop did not finish within %s (is a worker running?); it goes on: `ardent status %s`", dropWait, name)}
	case err != nil:
		return &exitError{code: 1, err: fmt.Errorf("drop connector %s: %s; `ardent status %s` has the remedy", name, closeMessage(err), name)}
	}
	fmt.Fprintf(c.out, "dropped %s: the source holds no slot or bookkeeping schema of it any more\n", name)
	return nil
}
