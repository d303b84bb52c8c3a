package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/naming"
)

// newDropCmd is `ardent drop NAME [--force] [--yes]`.
func newDropCmd(c *cli) *cobra.Command {
	var (
		reason     string
		force, yes bool
	)
	cmd := &cobra.Command{
		Use:   "drop NAME",
		Short: "Drop a connector: stop it, remove its slot and bookkeeping schema from the source, and report what was removed",
		Long: `Drop a connector: its workflow stops streaming and removes the connector's
replication slot and bookkeeping schema from the source, and marks its catalog
record dropped. The destination's tables and rows stay. drop waits until that
is done and reports each object as removed or already absent.

On a terminal it asks for the connector's name first; --yes skips the question
(and is required when stdin is not a terminal: exit 2 without it).

A connector whose workflow was cancelled or failed is dropped by a replication
workflow started for that. One whose workflow was terminated (temporal workflow
terminate, the Web UI) or is lost needs --force: the CLI itself then removes the
slot (terminating the session that holds it), the bookkeeping schema and the
catalog record, with the catalog (ARDENT_CATALOG_URL) and the master key.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			name := args[0]
			// Usage errors even when Temporal is unreachable.
			if err := naming.ValidateName(name); err != nil {
				return usageErr("%w", err)
			}
			if !yes && !interactive(cmd.InOrStdin(), c.out) {
				return usageErr("drop %s: not on a terminal, so nobody can confirm: add --yes to drop without being asked", name)
			}
			tc, dc, err := c.temporal(ctx)
			if err != nil {
				return err
			}
			defer tc.Close()
			d := &dropper{c: c, tc: tc, dc: dc, name: name, reason: reason, ask: !yes, in: cmd.InOrStdin()}
			if force {
				return d.force(ctx)
			}
			return d.viaWorkflow(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&reason, "reason", "", "why, recorded with the signal")
	f.BoolVar(&force, "force", false, "drop a connector whose workflow was terminated or lost, without a workflow")
	f.BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

type dropper struct {
	c      *cli
	tc     client.Client
	dc     converter.DataConverter
	name   string
	reason string
	ask    bool
	in     io.Reader
}

// viaWorkflow drops the connector through its workflow: the running one
// gets the drop signal; an ended one that did not drop it (cancelled,
// failed) is followed by a replication workflow started to drop it. A
// terminated or lost one is --force's.
func (d *dropper) viaWorkflow(ctx context.Context) error {
	name := d.name
	t, err := findConnector(ctx, d.tc, name)
	var ee *exitError
	if errors.As(err, &ee) && ee.code == 1 {
		if left, _ := d.c.leftoverOf(ctx, name); left == leftoverLive {
			return &exitError{code: 1, err: fmt.Errorf("connector %s has no workflow any more (its history is gone), but the catalog still holds it live, "+
				"with its slot on the source: run `ardent drop %s --force`, which removes them without a workflow", name, name)}
		}
	}
	if err != nil {
		return err
	}
	switch {
	case t.running:
		if err := d.confirm(t.source); err != nil {
			return err
		}
		if err := sendSignal(ctx, d.tc, t.id, contract.SignalDrop, contract.ControlSignal{Reason: d.reason}); err != nil {
			return fmt.Errorf("signal drop to %s: %w", t.id, err)
		}
		fmt.Fprintf(d.c.out, "sent drop to %s; waiting for it to finish\n", t.id)
		return d.wait(ctx, d.tc.GetWorkflow(ctx, t.id, ""))
	case terminated(t):
		switch left, _ := d.c.leftoverOf(ctx, name); left {
		case leftoverDropped:
			return &exitError{code: 1, err: fmt.Errorf("connector %s was dropped already (its workflow %s was terminated, then dropped with --force): nothing to drop", name, t.id)}
		case leftoverNever:
			return &exitError{code: 1, err: fmt.Errorf("%s was terminated before it created the connector: nothing to drop", t.id)}
		}
		return &exitError{code: 1, err: fmt.Errorf("the workflow of connector %s (%s) was terminated, so nothing dropped the connector: its slot is still on the source. "+
			"Run `ardent drop %s --force`: it removes the slot, the bookkeeping schema and the catalog record without a workflow", name, t.id, name)}
	case leftBehind(t):
		if err := d.confirm(t.source); err != nil {
			return err
		}
		return d.dropEnded(ctx, t)
	}
	return &exitError{code: 1, err: fmt.Errorf("connector %s has no running workflow (%s has ended): nothing to drop", name, t.id)}
}

// confirm asks the operator to type the connector's name, unless --yes.
func (d *dropper) confirm(source string) error {
	if !d.ask {
		return nil
	}
	where := "the source"
	if source != "" {
		where += " " + source
	}
	fmt.Fprintf(d.c.out, "Dropping connector %s removes its replication slot and bookkeeping schema from %s; the destination's tables stay.\n"+
		"Type the connector's name to confirm: ", d.name, where)
	line, _ := bufio.NewReader(d.in).ReadString('\n')
	if strings.TrimSpace(line) != d.name {
		return &exitError{code: 1, err: fmt.Errorf("not confirmed: connector %s was not dropped", d.name)}
	}
	return nil
}

// wait waits for the workflow run that drops the connector to end, then
// reports what its DropConnector activity removed.
func (d *dropper) wait(ctx context.Context, run client.WorkflowRun) error {
	wctx, cancel := context.WithTimeout(ctx, dropWait)
	defer cancel()
	err := run.Get(wctx, nil)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &exitError{code: 1, err: fmt.Errorf("the drop did not finish within %s (is a worker running?); it goes on: `ardent status %s`", dropWait, d.name)}
	case err != nil:
		return &exitError{code: 1, err: fmt.Errorf("drop connector %s: %s; `ardent status %s` has the remedy", d.name, closeMessage(err), d.name)}
	}
	res, err := dropResult(ctx, d.tc, d.dc, run.GetID())
	if err != nil {
		return fmt.Errorf("dropped %s, but what was removed cannot be read: %w", d.name, err)
	}
	reportDrop(d.c.out, d.name, res)
	return nil
}

// dropResult is the result of the DropConnector activity in the latest run
// of workflow id; nil when it ran none (nothing had been created).
func dropResult(ctx context.Context, tc client.Client, dc converter.DataConverter, id string) (*contract.DropConnectorResult, error) {
	it := tc.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	drops := map[int64]bool{}
	var res *contract.DropConnectorResult
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("read history of %s: %w", id, err)
		}
		if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == contract.ActivityDropConnector {
			drops[ev.GetEventId()] = true
		}
		if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil && drops[a.GetScheduledEventId()] {
			var r contract.DropConnectorResult
			if err := dc.FromPayloads(a.GetResult(), &r); err != nil {
				return nil, fmt.Errorf("decode the drop's result: %w", err)
			}
			res = &r
		}
	}
	return res, nil
}

// reportDrop says what a drop removed; r nil: nothing had been created.
func reportDrop(w io.Writer, name string, r *contract.DropConnectorResult) {
	if r == nil {
		fmt.Fprintf(w, "dropped %s: it had created nothing in the source yet\n", name)
		return
	}
	record := "none (the connector was never stored)"
	if r.CatalogDropped {
		record = "marked dropped (its source is free for a new connector)"
	}
	reportRemoved(w, name, naming.SlotName(name), r.SlotDropped, r.BookkeepingDropped, record)
}

func reportRemoved(w io.Writer, name, slot string, slotRemoved, bookkeepingRemoved bool, record string) {
	fmt.Fprintf(w, "replication slot %s: %s\n", slot, removedWord(slotRemoved))
	fmt.Fprintf(w, "bookkeeping schema %s: %s\n", naming.BookkeepingSchema, removedWord(bookkeepingRemoved))
	fmt.Fprintf(w, "catalog record: %s\n", record)
	fmt.Fprintf(w, "dropped %s: the source holds no slot or bookkeeping schema of it any more\n", name)
}

func removedWord(removed bool) string {
	if removed {
		return "removed"
	}
	return "already absent"
}
