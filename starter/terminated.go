package main

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/enums/v1"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/catalog"
)

// A workflow ended by `temporal workflow terminate` (the Web UI's button)
// ran none of its cleanup: whatever the connector created in the source is
// still there, and only `ardent drop NAME --force` removes it. Temporal
// cannot tell whether that already happened; the catalog can.

// leftover is what the catalog says of a connector whose workflow ended
// without dropping it.
type leftover int

const (
	// leftoverUnknown: no catalog is configured, or it did not answer.
	leftoverUnknown leftover = iota
	// leftoverLive: the catalog still holds it live: its slot and
	// bookkeeping schema are on the source.
	leftoverLive
	// leftoverDropped: dropped since (`ardent drop --force`).
	leftoverDropped
	// leftoverNever: the catalog has no record of it: it was terminated
	// before the connector was created, nothing is on the source.
	leftoverNever
)

// leftoverOf asks the catalog about connector name; err says why the
// answer is leftoverUnknown.
func (c *cli) leftoverOf(ctx context.Context, name string) (leftover, error) {
	if c.cfg.CatalogURL == "" {
		return leftoverUnknown, errors.New("no catalog configured (ARDENT_CATALOG_URL)")
	}
	cat, err := c.catalog(ctx)
	if err != nil {
		return leftoverUnknown, err
	}
	conn, err := cat.Get(ctx, name)
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		return leftoverNever, nil
	case err != nil:
		return leftoverUnknown, err
	case conn.DroppedAt != nil:
		return leftoverDropped, nil
	}
	return leftoverLive, nil
}

func terminated(t target) bool { return t.closeStatus == enums.WORKFLOW_EXECUTION_STATUS_TERMINATED }

// terminatedLine is what status and list say of a terminated connector
// whose objects are still on the source.
func terminatedLine(name string) string {
	return fmt.Sprintf("terminated: slot still on the source, run `ardent drop %s --force`", name)
}

// terminatedStatus is the status of a connector whose workflow t was
// terminated: the workflow's own last word would be wrong (it says
// streaming, or whatever it did when it was stopped).
func (c *cli) terminatedStatus(ctx context.Context, name string, t target) contract.Status {
	st := contract.Status{Name: name, Workflow: t.typ, SourceDisplay: t.source, Stage: contract.StageTerminated}
	left, err := c.leftoverOf(ctx, name)
	switch left {
	case leftoverDropped:
		st.Stage = contract.StageDropped
	case leftoverNever:
		st.Error = "terminated before the connector was created: nothing of it is on the source"
		st.Remedy = fmt.Sprintf("onboard it again: `ardent onboard --name %s ...`", name)
	default:
		st.Error = terminatedLine(name)
		st.Remedy = fmt.Sprintf("%s was terminated (temporal workflow terminate), so nothing dropped the connector: "+
			"its replication slot holds WAL on the source until `ardent drop %s --force` removes it, its bookkeeping schema and its catalog record", t.id, name)
		if err != nil {
			st.Remedy += " (the catalog could not say whether that was done already: " + err.Error() + ")"
		}
	}
	return st
}

// markTerminated changes list's rows of terminated connectors: one dropped
// since, or never created, is left out (unless all); the others show stage
// terminated and get a note. The notes are returned in name order.
func (c *cli) markTerminated(ctx context.Context, rows map[string]listRow, names []string, all bool) (kept []string, notes []string) {
	for _, n := range names {
		r := rows[n]
		if r.status != statusWord(enums.WORKFLOW_EXECUTION_STATUS_TERMINATED) {
			kept = append(kept, n)
			continue
		}
		left, _ := c.leftoverOf(ctx, n)
		if (left == leftoverDropped || left == leftoverNever) && !all {
			continue
		}
		if left == leftoverLive || left == leftoverUnknown {
			r.stage = string(contract.StageTerminated)
			rows[n] = r
			notes = append(notes, n+": "+terminatedLine(n))
		}
		kept = append(kept, n)
	}
	return kept, notes
}
