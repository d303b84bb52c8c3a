package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/naming"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/source"
)

// leftBehind: the workflow that spoke for the connector ended without
// dropping it (cancelled, failed, timed out), so what it created in the
// source may still be there. A completed one either handed off (the
// replication workflow is found first) or dropped. A terminated one is
// --force's (terminated).
func leftBehind(t target) bool {
	switch t.closeStatus {
	case enums.WORKFLOW_EXECUTION_STATUS_CANCELED, enums.WORKFLOW_EXECUTION_STATUS_FAILED,
		enums.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
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
func (d *dropper) dropEnded(ctx context.Context, t target) error {
	id := contract.ReplicationID(d.name)
	run, err := d.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                d.c.cfg.TaskQueue,
		WorkflowIDReusePolicy:                    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy:                 enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(sourceKey.ValueSet(t.source)),
		Memo:                                     map[string]any{"source": t.source, "reason": d.reason},
	}, contract.WorkflowReplication, contract.ReplicationInput{Name: d.name, SourceDisplay: t.source, DropRequested: true})
	if err != nil {
		return fmt.Errorf("start %s to drop connector %s: %w", id, d.name, err)
	}
	fmt.Fprintf(d.c.out, "%s ended (%s) without dropping the connector: started %s to drop it\n", t.id, t.status, id)
	return d.wait(ctx, run)
}

// force drops a connector without a workflow: for one whose workflow was
// terminated or is lost, nothing else can. It opens the connector's source
// credentials from the catalog with the master key, removes the slot (its
// holder terminated), the bookkeeping schema, and marks the catalog record
// dropped, reporting each. A running workflow is refused: it drops its
// connector itself, and would fail on a slot taken from under it.
func (d *dropper) force(ctx context.Context) error {
	name := d.name
	t, err := findConnector(ctx, d.tc, name)
	var ee *exitError
	switch {
	case err == nil && t.running:
		return &exitError{code: 1, err: fmt.Errorf("connector %s has a running workflow (%s): `ardent drop %s` drops it through that workflow; "+
			"--force is for a connector whose workflow was terminated or lost", name, t.id, name)}
	case err != nil && !(errors.As(err, &ee) && ee.code == 1):
		return err
	}
	if d.c.cfg.CatalogURL == "" {
		return usageErr("drop --force reads the connector's source from the catalog: set ARDENT_CATALOG_URL (and the master key)")
	}
	kr, err := d.c.keyring()
	if err != nil {
		return usageErr("%w", err)
	}
	cat, err := d.c.catalog(ctx)
	if err != nil {
		return err
	}
	conn, err := cat.Get(ctx, name)
	if errors.Is(err, catalog.ErrNotFound) {
		return &exitError{code: 1, err: fmt.Errorf("the catalog has no connector %s: it never created anything in a source that Ardent knows of", name)}
	}
	if err != nil {
		return err
	}
	if err := d.confirm(conn.SourceDisplay); err != nil {
		return err
	}
	raw, err := cat.SourceURL(ctx, name, kr)
	if err != nil {
		return err
	}
	src, err := pgurl.ParseSource(raw)
	if err != nil {
		return fmt.Errorf("the catalog's source URL of %s: %w", name, err)
	}
	slot := conn.SlotName
	if slot == "" {
		slot = naming.SlotName(name)
	}
	removed, err := removeFromSource(ctx, src, slot)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("drop connector %s on %s: %s", name, src.Display(), pgurl.Scrub(err.Error(), src.Password()))}
	}
	record := "marked dropped (its source is free for a new connector)"
	if conn.DroppedAt != nil {
		record = "already marked dropped (" + conn.DroppedAt.Local().Format(time.DateTime) + ")"
	} else if err := cat.MarkDropped(ctx, name); err != nil {
		return err
	}
	fmt.Fprintf(d.c.out, "on %s:\n", src.Display())
	reportRemoved(d.c.out, name, slot, removed.Slot, removed.Bookkeeping, record)
	return nil
}

// removeFromSource connects to the source and removes the connector's
// objects (source.RemoveConnector, as the drop activity does).
func removeFromSource(ctx context.Context, src *pgurl.Conn, slot string) (source.Removed, error) {
	cfg := src.Config.Copy()
	cfg.RuntimeParams["application_name"] = "ardent"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return source.Removed{}, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return source.RemoveConnector(ctx, conn, slot)
}
