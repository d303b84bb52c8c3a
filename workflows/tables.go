package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
)

// The live table set runs beside the Replicate activity, like
// verification (verify.go), and only while the stream runs:
//
//   - Every DiscoverInterval, and at once after a tables-add or
//     tables-remove signal, the DiscoverTables activity compares the source
//     with the table states: new tables are queued for a backfill, dropped
//     ones recorded, tables without a usable replica identity quarantined.
//   - The resync signal queues the named tables (all when none is named).
//   - One Backfill activity at a time runs the queue's first table; its
//     heartbeat is its progress (the Web UI's pending activity, `ardent
//     status`). A backfill that fails is reported (attention, naming the
//     table and the resync that retries it).
//   - Pause, drop, cancellation and a failure that parks the connector
//     cancel the running backfill; it goes back to the head of the queue.
//   - The workflow continues as new only when no backfill runs; the queue
//     and the summary are carried.
//
// Quarantined tables (discovery's, or a backfill that failed) put the
// connector in stage attention while the others stream. All of it runs
// behind GetVersion(changeTables); the signals and the update are
// driven by their own history events.
const changeTables = "tables"

// tablesState is the replication workflow's side of the live table set.
type tablesState struct {
	enabled               bool
	resync, add, remove   signalChan[contract.TablesSignal]
	pendingAdd, pendingRm []string
	discoverNow           bool
	running               string
	cancel                workflow.CancelFunc
	stopped               bool
	// failed are backfills that failed, with their error (attention), in
	// the order they failed (a slice: workflow code never ranges over maps).
	failed []failedBackfill
	// wake is poked when the stream starts or stops.
	wake workflow.Channel
}

// busy reports whether a backfill runs: the workflow does not continue as
// new then.
func (t *tablesState) busy() bool { return t.running != "" }

// setupTables registers the signals and the updates (tables,
// schema-history).
func (r *replication) setupTables(ctx workflow.Context) error {
	r.ts.resync = signalChannel(ctx, contract.SignalResync)
	r.ts.add = signalChannel(ctx, contract.SignalTablesAdd)
	r.ts.remove = signalChannel(ctx, contract.SignalTablesRemove)
	err := setUpdate(ctx, contract.UpdateTables,
		func(ctx workflow.Context, _ contract.TablesRequest) (*contract.TablesReport, error) {
			return r.listTables(ctx)
		},
		func(contract.TablesRequest) error {
			if r.ctl.dropRequested || r.st.Stage == contract.StageDropped {
				return temporal.NewNonRetryableApplicationError("connector "+r.in.Name+" is being dropped", contract.ErrTypeNotStreaming, nil)
			}
			return nil
		}, "list the connector's tables with their states")
	if err != nil {
		return fmt.Errorf("register tables update: %w", err)
	}
	// Right after the tables update: registering yields, to the handlers
	// of updates waiting for it only (no loop runs yet), so no command of
	// the run moves.
	err = setUpdate(ctx, contract.UpdateSchemaHistory, r.schemaHistory, r.validateSchemaHistory,
		"list the connector's schema changes (newest first) and what the destination did about each")
	if err != nil {
		return fmt.Errorf("register schema-history update: %w", err)
	}
	return nil
}

// startTables (version 1) starts the loop. It is separate from
// setupTables because registering an update handler yields to the
// workflow's other coroutines: done after the verify loop started, that
// yield would let the loop's timer go before the first activity, which
// histories recorded earlier do not have.
func (r *replication) startTables(ctx workflow.Context) error {
	if workflow.GetVersion(ctx, changeTables, workflow.DefaultVersion, 1) < 1 {
		return nil
	}
	r.ts.enabled = true
	r.ts.wake = workflow.NewBufferedChannel(ctx, 1)
	r.ts.pendingAdd, r.ts.pendingRm = r.in.TablesAdd, r.in.TablesRemove
	r.ts.discoverNow = len(r.ts.pendingAdd)+len(r.ts.pendingRm) > 0
	if r.in.DiscoverInterval == 0 {
		r.in.DiscoverInterval = contract.DefaultDiscoverInterval
	}
	if r.in.Tables == nil {
		r.in.Tables = &contract.TablesSummary{}
	}
	workflow.Go(ctx, r.tablesLoop)
	return nil
}

// tablesLoop discovers, takes the signals and runs the backfills, one at a
// time, while the stream runs.
func (r *replication) tablesLoop(ctx workflow.Context) {
	var timer workflow.Future
	var backfill workflow.Future
	for ctx.Err() == nil {
		if timer == nil && r.in.DiscoverInterval > 0 {
			timer = workflow.NewTimer(ctx, r.in.DiscoverInterval)
		}
		if backfill == nil && r.vs.streaming && len(r.in.Backfills) > 0 && !r.ctl.paused && !r.ctl.dropRequested {
			backfill = r.startBackfill(ctx)
		}
		sel := workflow.NewSelector(ctx)
		if timer != nil {
			sel.AddFuture(timer, func(workflow.Future) { timer = nil; r.ts.discoverNow = true })
		}
		if backfill != nil {
			sel.AddFuture(backfill, func(f workflow.Future) { backfill = nil; r.finishBackfill(ctx, f) })
		}
		sel.AddReceive(r.ts.resync.ReceiveChannel, func(workflow.ReceiveChannel, bool) {
			if s, ok := r.ts.resync.takeAsync(); ok {
				r.queueResync(ctx, s.Tables)
			}
		})
		sel.AddReceive(r.ts.add.ReceiveChannel, func(workflow.ReceiveChannel, bool) {
			if s, ok := r.ts.add.takeAsync(); ok && len(s.Tables) > 0 {
				r.ts.pendingAdd = append(r.ts.pendingAdd, s.Tables...)
				r.ts.discoverNow = true
			}
		})
		sel.AddReceive(r.ts.remove.ReceiveChannel, func(workflow.ReceiveChannel, bool) {
			if s, ok := r.ts.remove.takeAsync(); ok && len(s.Tables) > 0 {
				r.ts.pendingRm = append(r.ts.pendingRm, s.Tables...)
				r.ts.discoverNow = true
			}
		})
		// The stream starting (or stopping) changes what may run.
		sel.AddReceive(r.ts.wake, func(c workflow.ReceiveChannel, _ bool) { c.ReceiveAsync(nil) })
		sel.Select(ctx)
		if r.ts.discoverNow && r.vs.streaming && !r.ctl.paused && !r.ctl.dropRequested {
			r.ts.discoverNow = false
			r.discover(ctx)
		}
	}
}

// wakeTables tells the loop the stream started or stopped.
func (r *replication) wakeTables() {
	if r.ts.wake != nil {
		r.ts.wake.SendAsync(true)
	}
}

// discover runs DiscoverTables with the pending additions and removals.
func (r *replication) discover(ctx workflow.Context) {
	in := contract.DiscoverTablesInput{Name: r.in.Name, Add: r.ts.pendingAdd, Remove: r.ts.pendingRm}
	var res contract.DiscoverTablesResult
	err := workflow.ExecuteActivity(withDiscoverOptions(ctx), contract.ActivityDiscoverTables, in).Get(ctx, &res)
	if err != nil {
		workflow.GetLogger(ctx).Warn("table discovery failed", "error", err)
		return // the additions and removals wait for the next one
	}
	r.ts.pendingAdd, r.ts.pendingRm = nil, nil
	for _, t := range in.Remove {
		r.in.Backfills = slices.DeleteFunc(r.in.Backfills, func(x string) bool { return x == t })
		r.ts.forget(t)
	}
	for _, t := range res.Backfill {
		r.enqueue(t)
	}
	for _, t := range res.Dropped {
		r.in.Backfills = slices.DeleteFunc(r.in.Backfills, func(x string) bool { return x == t })
		r.ts.forget(t)
	}
	r.in.Tables.Attention = res.Attention
	r.refreshTablesStage(ctx)
	if len(res.SchemaChanges) > 0 {
		r.schemaChanges = res.SchemaChanges
		r.publish(ctx) // the Web UI's details (not a command: replay is unaffected)
	}
}

func (r *replication) enqueue(table string) {
	if table != r.ts.running && !slices.Contains(r.in.Backfills, table) {
		r.in.Backfills = append(r.in.Backfills, table)
	}
	r.ts.forget(table)
}

// failedBackfill is a backfill that failed and its error.
type failedBackfill struct{ table, err string }

func (t *tablesState) forget(table string) {
	t.failed = slices.DeleteFunc(t.failed, func(f failedBackfill) bool { return f.table == table })
}

func (t *tablesState) failure(table string) (string, bool) {
	for _, f := range t.failed {
		if f.table == table {
			return f.err, true
		}
	}
	return "", false
}

// queueResync queues the named tables, or every table of the connector.
func (r *replication) queueResync(ctx workflow.Context, tables []string) {
	if len(tables) == 0 {
		rep, err := r.listTables(ctx)
		if err != nil {
			workflow.GetLogger(ctx).Warn("resync of every table: listing the tables failed", "error", err)
			return
		}
		for _, t := range rep.Tables {
			if t.State != contract.TableRemoved && t.State != contract.TableDropped {
				tables = append(tables, t.Table)
			}
		}
	}
	for _, t := range tables {
		r.enqueue(t)
	}
	r.refreshTablesStage(ctx)
}

// startBackfill runs the queue's first table.
func (r *replication) startBackfill(ctx workflow.Context) workflow.Future {
	table := r.in.Backfills[0]
	r.in.Backfills = r.in.Backfills[1:]
	bctx, cancel := workflow.WithCancel(ctx)
	r.ts.running, r.ts.cancel, r.ts.stopped = table, cancel, false
	r.in.Tables.Backfilling = table
	return workflow.ExecuteActivity(withBackfillOptions(bctx), contract.ActivityBackfill,
		contract.BackfillInput{Name: r.in.Name, Table: table})
}

func (r *replication) finishBackfill(ctx workflow.Context, f workflow.Future) {
	table := r.ts.running
	r.ts.running, r.ts.cancel, r.in.Tables.Backfilling = "", nil, ""
	var res contract.BackfillResult
	err := f.Get(ctx, &res)
	var canceled *temporal.CanceledError
	switch {
	case err == nil:
		r.in.Tables.LastBackfill = &res
		r.ts.forget(table)
		r.in.Tables.Attention = slices.DeleteFunc(r.in.Tables.Attention, func(t contract.TableInfo) bool { return t.Table == table })
	case errors.As(err, &canceled) && r.ts.stopped:
		r.in.Backfills = append([]string{table}, r.in.Backfills...) // again once the stream runs
	default:
		workflow.GetLogger(ctx).Warn("backfill failed", "table", table, "error", err)
		r.ts.forget(table)
		r.ts.failed = append(r.ts.failed, failedBackfill{table: table, err: errorMessage(err)})
	}
	r.refreshTablesStage(ctx)
}

// stopTables cancels the running backfill: the stream it hands over to is
// stopping.
func (r *replication) stopTables() {
	if r.ts.cancel != nil {
		r.ts.stopped = true
		r.ts.cancel()
	}
}

// tablesAttention lists what the operator must act on: quarantined tables
// and failed backfills.
func (r *replication) tablesAttention() []contract.TableInfo {
	var out []contract.TableInfo
	if r.in.Tables != nil {
		out = append(out, r.in.Tables.Attention...)
	}
	for _, f := range r.ts.failed {
		out = append(out, contract.TableInfo{Table: f.table, State: contract.TableBackfilling, Rows: -1,
			Cause:  "its backfill failed: " + f.err + " (its changes are not applied until a backfill succeeds)",
			Remedy: "fix the cause, then `ardent resync " + r.in.Name + " --table " + f.table + "`"})
	}
	return out
}

// refreshTablesStage puts the connector in attention while tables need the
// operator (or back to streaming), when the stream runs.
func (r *replication) refreshTablesStage(ctx workflow.Context) {
	if r.in.Tables != nil {
		r.in.Tables.Queued = slices.Clone(r.in.Backfills)
	}
	if r.in.Error == "" && (r.st.Stage == contract.StageStreaming || r.st.Stage == contract.StageAttention) {
		r.setStreamStage(ctx)
	}
}

// tablesProblem is the status error and remedy of tables needing the
// operator, empty when none does.
func (r *replication) tablesProblem() (msg, remedy string) {
	att := r.tablesAttention()
	if len(att) == 0 {
		return "", ""
	}
	var parts, remedies []string
	for i, t := range att {
		if i == maxNamedTables {
			parts = append(parts, fmt.Sprintf("and %d more", len(att)-i))
			break
		}
		parts = append(parts, t.Table+" "+t.State+": "+t.Cause)
		if t.Remedy != "" && !slices.Contains(remedies, t.Remedy) {
			remedies = append(remedies, t.Remedy)
		}
	}
	return "tables need attention (the others keep streaming): " + strings.Join(parts, "; "),
		strings.Join(remedies, "; ") + "; `ardent tables " + r.in.Name + "` lists every table"
}

// listTables answers the tables update: the destination's table states,
// with the workflow's queue.
func (r *replication) listTables(ctx workflow.Context) (*contract.TablesReport, error) {
	var rep contract.TablesReport
	err := workflow.ExecuteActivity(withDiscoverOptions(ctx), contract.ActivityListTables,
		contract.ListTablesInput{Name: r.in.Name}).Get(ctx, &rep)
	if err != nil {
		return nil, verifyFailure(err)
	}
	for i := range rep.Tables {
		t := &rep.Tables[i]
		if slices.Contains(r.in.Backfills, t.Table) && t.State != contract.TableBackfilling {
			t.State = contract.TableQueued
		}
		if cause, ok := r.ts.failure(t.Table); ok {
			t.Cause, t.Remedy = "its backfill failed: "+cause, "`ardent resync "+r.in.Name+" --table "+t.Table+"`"
		}
	}
	for _, q := range r.in.Backfills {
		if !slices.ContainsFunc(rep.Tables, func(t contract.TableInfo) bool { return t.Table == q }) {
			rep.Tables = append(rep.Tables, contract.TableInfo{Table: q, State: contract.TableQueued, Rows: -1})
		}
	}
	return &rep, nil
}

// Discovery and the table list read catalogs: short, retried a few times.
func withDiscoverOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 30 * time.Second, MaximumAttempts: 3, NonRetryableErrorTypes: permanent},
	})
}

// A backfill copies one table: long, heartbeated, each retry starting over.
func withBackfillOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 7 * 24 * time.Hour,
		HeartbeatTimeout:    heartbeatTimeout,
		WaitForCancellation: true,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 2 * time.Minute, MaximumAttempts: 10, NonRetryableErrorTypes: permanent},
	})
}

// drainTablesSignals, before continue-as-new, carries the table signals
// not yet taken into the next run.
func (r *replication) drainTablesSignals(ctx workflow.Context) {
	for {
		s, ok := r.ts.resync.takeAsync()
		if !ok {
			break
		}
		if len(s.Tables) == 0 {
			r.queueResync(ctx, nil)
		}
		for _, t := range s.Tables {
			r.enqueue(t)
		}
	}
	for {
		s, ok := r.ts.add.takeAsync()
		if !ok {
			break
		}
		r.ts.pendingAdd = append(r.ts.pendingAdd, s.Tables...)
	}
	for {
		s, ok := r.ts.remove.takeAsync()
		if !ok {
			break
		}
		r.ts.pendingRm = append(r.ts.pendingRm, s.Tables...)
	}
	r.in.TablesAdd, r.in.TablesRemove = r.ts.pendingAdd, r.ts.pendingRm
}
