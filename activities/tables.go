package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/admission"
	"github.com/ardent-cdc/ardent/internal/backfill"
	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/internal/sink"
)

// Tables runs the live table set's activities: discovery of tables created,
// dropped or renamed on the source (and the operator's additions and
// removals), per-table backfills, and the table list.
type Tables struct {
	Catalog           *catalog.Store
	Keyring           *secrets.Keyring
	Sinks             map[string]SinkFactory
	Parallelism       int
	HeartbeatInterval time.Duration
	// Report sends a backfill's progress to the workflow every
	// ProgressInterval (nil: none; default contract.ProgressInterval).
	Report           Reporter
	ProgressInterval time.Duration
	// Scheduler is the Snapshotter's: a backfill waits for a permit too.
	Scheduler *admission.Scheduler
	Metrics   *Metrics
	Log       *slog.Logger
}

// Causes recorded with the table states this file sets.
const (
	causeNoIdentity   = "no usable replica identity: wal2json would send its UPDATEs and DELETEs without the row they change"
	causeLostIdentity = "it lost its replica identity while streaming (primary key or identity index dropped): wal2json skips its UPDATEs and DELETEs with only a warning in the source's log"
)

// DiscoverTables applies the operator's additions and removals to the
// selection, then compares the source's tables in the selection with the
// table states: new tables (and tables whose identity came back) are to
// be backfilled, tables gone from the source are recorded as dropped,
// tables without a usable identity are quarantined with the statement that
// fixes them. It changes no rows.
func (a *Tables) DiscoverTables(ctx context.Context, in contract.DiscoverTablesInput) (*contract.DiscoverTablesResult, error) {
	at := site{activity: contract.ActivityDiscoverTables, connector: in.Name, metrics: a.Metrics}
	res, err := a.discover(ctx, in, &at)
	return res, boundary(err, at)
}

func (a *Tables) discover(ctx context.Context, in contract.DiscoverTablesInput, at *site) (*contract.DiscoverTablesResult, error) {
	env, err := loadConnector(ctx, a.Catalog, a.Keyring, in.Name, &at.passwords)
	if err != nil {
		return nil, err
	}
	log := activityLog(ctx, a.log()).With("connector", in.Name)
	sel := env.conn.Selection
	if len(in.Add)+len(in.Remove) > 0 {
		if sel, err = changeSelection(sel, in.Add, in.Remove); err != nil {
			return nil, err
		}
		if err := a.Catalog.SetSelection(ctx, in.Name, sel); err != nil {
			return nil, err
		}
		log.Info("selection changed", "added", in.Add, "removed", in.Remove)
	}
	conn, err := connectSource(ctx, env.src)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	found, err := schema.DiscoverAll(ctx, conn, schema.Selection{Schemas: sel.Schemas, Tables: sel.Tables, Exclude: sel.ExcludeTables})
	if err != nil {
		return nil, fmt.Errorf("discover tables of %s: %w", env.src.Display(), err)
	}
	if ps := partitionSchemas(sel, found); !slices.Equal(ps, sel.PartitionSchemas) {
		// A leaf partition in a schema the stream does not receive (a table
		// of another schema attached): a new stream session (SetSelection)
		// receives it, and its backfill hands over only to that session.
		sel.PartitionSchemas = ps
		if err := a.Catalog.SetSelection(ctx, in.Name, sel); err != nil {
			return nil, err
		}
		log.Info("partition schemas changed: new stream session", "schemas", ps)
	}
	dst, err := openTargetSink(ctx, a.Sinks, env.dst, sel.TargetSchema, log)
	if err != nil {
		return nil, err
	}
	defer dst.Close(context.WithoutCancel(ctx))
	reg, ok := dst.(sink.Registry)
	if !ok {
		return nil, fmt.Errorf("%w: this destination keeps no per-table states", errInvalidInput)
	}
	states, err := reg.TableStates(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	plan := planTables(in.Name, env.conn.Schema, found, states, in.Remove)
	if len(plan.set) > 0 {
		if err := reg.SetTableStates(ctx, in.Name, plan.set, false); err != nil {
			return nil, err
		}
	}
	if len(plan.gone) > 0 {
		if err := a.Catalog.RemoveSchemaTables(ctx, in.Name, plan.gone); err != nil {
			return nil, err
		}
	}
	emitChangedShapes(ctx, conn, dst, in.Name, found, states, log)
	plan.res.SchemaChanges = latestSchemaChanges(ctx, dst, in.Name)
	if len(plan.res.Backfill)+len(plan.res.Dropped)+len(plan.res.Quarantined) > 0 {
		log.Info("tables discovered", "backfill", plan.res.Backfill, "dropped", plan.res.Dropped, "quarantined", len(plan.res.Quarantined))
	}
	return &plan.res, nil
}

// changeSelection adds and removes tables ("schema.table") by name.
func changeSelection(sel catalog.Selection, add, remove []string) (catalog.Selection, error) {
	norm := func(names []string) ([]string, error) {
		out := make([]string, 0, len(names))
		for _, n := range names {
			q, err := schema.ParseQualified(n)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", errInvalidInput, err)
			}
			out = append(out, q.String())
		}
		return out, nil
	}
	add, err := norm(add)
	if err != nil {
		return sel, err
	}
	remove, err = norm(remove)
	if err != nil {
		return sel, err
	}
	sel.Tables, sel.ExcludeTables = slices.Clone(sel.Tables), slices.Clone(sel.ExcludeTables)
	if len(sel.Schemas) == 0 && len(sel.Tables) == 0 {
		// Nothing selected meant the default schema: say so before naming
		// tables, which would otherwise replace it.
		sel.Schemas = []string{schema.DefaultSchema}
	}
	for _, n := range add {
		sel.ExcludeTables = slices.DeleteFunc(sel.ExcludeTables, func(x string) bool { return x == n })
		q, _ := schema.ParseQualified(n)
		if !slices.Contains(sel.Tables, n) && !slices.Contains(sel.Schemas, q.Schema) {
			sel.Tables = append(sel.Tables, n)
		}
	}
	for _, n := range remove {
		sel.Tables = slices.DeleteFunc(sel.Tables, func(x string) bool { return x == n })
		if !slices.Contains(sel.ExcludeTables, n) {
			sel.ExcludeTables = append(sel.ExcludeTables, n)
		}
	}
	return sel, nil
}

// partitionSchemas are the schemas of the tables found outside the
// schemas the selection names: those of leaf partitions of selected
// partitioned tables, sorted.
func partitionSchemas(sel catalog.Selection, found []schema.Table) []string {
	named := selectedSchemas(sel)
	var out []string
	for _, t := range found {
		if !slices.Contains(named, t.Schema) && !slices.Contains(out, t.Schema) {
			out = append(out, t.Schema)
		}
	}
	slices.Sort(out)
	return out
}

// tablePlan is what discovery decided: states to record, tables to take
// out of the catalog's schema, and the result for the workflow.
type tablePlan struct {
	set  []sink.TableState
	gone []string
	res  contract.DiscoverTablesResult
}

// planTables compares (pure, so it is tested on its own): known is the
// catalog's schema (the tables copied, with their oids), found what the
// source has in the selection now, states the recorded states, removed the
// tables the operator just removed.
func planTables(connector string, known, found []schema.Table, states []sink.TableState, removed []string) tablePlan {
	var p tablePlan
	state := map[string]sink.TableState{}
	for _, s := range states {
		state[s.FullName()] = s
	}
	here := map[string]schema.Table{}
	byOID := map[uint32]schema.Table{}
	for _, t := range found {
		here[t.FullName()] = t
		byOID[t.OID] = t
	}
	knownOID := map[string]uint32{}
	for _, t := range known {
		knownOID[t.FullName()] = t.OID
	}
	quarantine := func(t schema.Table, cause, remedy string) {
		s := sink.TableState{Schema: t.Schema, Name: t.Name, State: sink.TableQuarantined, Cause: cause, Remedy: remedy}
		p.set = append(p.set, s)
		p.res.Quarantined = append(p.res.Quarantined, tableInfo(s))
	}
	for _, t := range found {
		s, has := state[t.FullName()]
		switch {
		case t.Identity == schema.IdentityNone && (!has || s.State == sink.TableStreaming || s.State == sink.TableDropped):
			fix := identityFix(t)
			if has && s.State == sink.TableStreaming {
				quarantine(t, causeLostIdentity, fix+", then `ardent resync "+connector+" --table "+t.FullName()+"` (its changes since were not all applied)")
			} else {
				quarantine(t, causeNoIdentity, fix+"; it is copied once it has one")
			}
		case t.Identity == schema.IdentityNone:
			// Still without one: stays as it is.
		case has && (s.State == sink.TableStreaming || s.State == sink.TableQuarantined) && knownOID[t.FullName()] != 0 && knownOID[t.FullName()] != t.OID:
			// Another table took the name (renamed away, then created
			// again): the destination table holds the old one's rows.
			p.res.Backfill = append(p.res.Backfill, t.FullName())
		case !has, s.State == sink.TableDropped, s.State == sink.TableRemoved && !slices.Contains(removed, t.FullName()),
			s.State == sink.TableQuarantined && (s.Cause == causeNoIdentity || s.Remedy == sink.RemedyAutoResync):
			p.res.Backfill = append(p.res.Backfill, t.FullName())
		}
	}
	for _, s := range states {
		name := s.FullName()
		if _, ok := here[name]; ok || s.State == sink.TableDropped || s.State == sink.TableRemoved {
			continue
		}
		n := sink.TableState{Schema: s.Schema, Name: s.Name, State: sink.TableDropped, Cause: "dropped on the source",
			Remedy: "nothing to do: its destination table keeps the rows it had"}
		switch {
		case slices.Contains(removed, name):
			n.State, n.Cause, n.Remedy = sink.TableRemoved, "removed from the connector (ardent tables remove)",
				"`ardent tables add "+connector+" "+name+"` copies it again"
		default:
			if t, ok := byOID[knownOID[name]]; ok && knownOID[name] != 0 {
				n.Cause = "renamed to " + t.FullName() + " on the source"
				n.Remedy = "nothing to do: " + t.FullName() + " is copied and streams as a table of its own; this destination table keeps the rows it had"
			}
			p.res.Dropped = append(p.res.Dropped, name)
		}
		p.set = append(p.set, n)
		p.gone = append(p.gone, name)
	}
	for _, s := range states {
		if s.State == sink.TableQuarantined {
			if _, requeued := here[s.FullName()]; requeued && slices.Contains(p.res.Backfill, s.FullName()) {
				continue
			}
			p.res.Attention = append(p.res.Attention, tableInfo(s))
		}
	}
	p.res.Attention = append(p.res.Attention, p.res.Quarantined...)
	return p
}

// identityFix is the statement (or choice) that gives t a usable identity.
func identityFix(t schema.Table) string {
	if s := schema.IdentityStatement(t, false); s != "" {
		return "run " + s + " on the source"
	}
	return "give " + t.FullName() + " a primary key, or run " + schema.IdentityStatement(t, true) + " on the source, or remove it (ardent tables remove)"
}

func tableInfo(s sink.TableState) contract.TableInfo {
	info := contract.TableInfo{Table: s.FullName(), State: s.State, Cause: s.Cause, Remedy: s.Remedy, Rows: -1, Since: s.UpdatedAt}
	if s.Since != 0 {
		info.AppliedLSN = s.Since.String()
	}
	return info
}

// Backfill copies one table into the destination while the stream goes on
// and hands it over to the stream (internal/backfill), then records it in
// the connector's schema. Its heartbeat is the copy's progress; a retry
// starts over (the temporary slot of the failed attempt went with its
// connection).
func (a *Tables) Backfill(ctx context.Context, in contract.BackfillInput) (*contract.BackfillResult, error) {
	at := site{activity: contract.ActivityBackfill, connector: in.Name, metrics: a.Metrics}
	res, err := a.backfill(ctx, in, &at)
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		return nil, boundary(context.Canceled, at)
	}
	return res, boundary(err, at)
}

func (a *Tables) backfill(ctx context.Context, in contract.BackfillInput, at *site) (*contract.BackfillResult, error) {
	q, err := schema.ParseQualified(in.Table)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidInput, err)
	}
	env, err := loadConnector(ctx, a.Catalog, a.Keyring, in.Name, &at.passwords)
	if err != nil {
		return nil, err
	}
	log := activityLog(ctx, a.log()).With("connector", in.Name, "table", q.String())
	conn, err := connectSource(ctx, env.src)
	if err != nil {
		return nil, err
	}
	found, err := schema.Discover(ctx, conn, schema.Selection{Tables: []string{q.String()}})
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return nil, fmt.Errorf("discover %s on %s: %w", q, env.src.Display(), err)
	}
	if len(found) != 1 {
		// Dropped or renamed while it waited in the queue: not a failure
		// the operator could fix (a resync of the old name is refused).
		// Discovery records a table that had a state as dropped and
		// backfills a new name.
		log.Info("backfill: the table is no longer on the source (dropped or renamed since it was found): nothing to copy")
		return &contract.BackfillResult{Table: q.String(), Gone: true}, nil
	}
	t := found[0]
	if t.Identity == schema.IdentityNone {
		return nil, fmt.Errorf("%w: table %s has no usable replica identity: %s", errInvalidInput, q, identityFix(t))
	}
	copying := contract.BackfillProgress{Table: q.String(), Phase: backfill.PhaseCopy, EstimatedRows: t.EstimatedRows}
	hb := startHeartbeat(ctx, a.HeartbeatInterval, copying)
	defer hb.close()
	stopReports := a.Report.startReports(ctx, a.ProgressInterval, func() contract.ProgressReport {
		p := hb.get()
		return contract.ProgressReport{Backfill: &p, At: time.Now()}
	}, log)
	defer stopReports()
	// A backfill is a snapshot of one table: it waits its turn with them.
	release, err := admit(ctx, a.Scheduler, env.src, a.Metrics, a.Report, func(w *contract.QueueWait) contract.ProgressReport {
		p := contract.BackfillProgress{Table: q.String(), Phase: PhaseQueued, EstimatedRows: t.EstimatedRows, Queued: w}
		hb.set(p)
		return contract.ProgressReport{Backfill: &p, At: time.Now()}
	}, log)
	if err != nil {
		return nil, err
	}
	defer release()
	hb.set(copying)
	a.Report.reportNow(ctx, contract.ProgressReport{Backfill: &copying}, log) // as the snapshot's: a dead attempt's queue ends here
	dst, err := openTargetSink(ctx, a.Sinks, env.dst, env.conn.Selection.TargetSchema, log)
	if err != nil {
		return nil, err
	}
	defer dst.Close(context.WithoutCancel(ctx))
	followShapes(dst, env.src, env.conn.Selection, log)
	bd, ok := dst.(backfill.Destination)
	if !ok {
		return nil, fmt.Errorf("%w: this destination cannot backfill a table", errInvalidInput)
	}
	// Fewer sessions than the initial snapshot's: the stream of every
	// other table shares the machine (backfill.DefaultParallelism).
	par := backfill.DefaultParallelism()
	if a.Parallelism > 0 {
		par = min(par, a.Parallelism)
	}
	if limit := env.conn.Selection.SnapshotParallelism; limit > 0 && par > limit {
		par = limit
	}
	r, err := backfill.Run(ctx, backfill.Options{
		Source: env.src.Config, Connector: in.Name, Table: t, Sink: bd, Parallelism: par,
		MaxBytesPerSecond: env.conn.Selection.SnapshotMaxBytesPerSecond, Log: log,
		Progress: func(p backfill.Progress) {
			bp := contract.BackfillProgress{Table: q.String(), Phase: p.Phase, Rows: p.Rows, Bytes: p.Bytes,
				EstimatedRows: max(p.EstimatedRows, t.EstimatedRows)}
			if p.Consistent != 0 {
				bp.ConsistentLSN = p.Consistent.String()
			}
			if p.Applied != 0 {
				bp.AppliedLSN, bp.StreamLSN = p.Applied.String(), p.Stream.String()
			}
			hb.set(bp)
		},
	})
	if err != nil {
		return nil, err
	}
	if err := a.Catalog.PutSchemaTable(ctx, in.Name, t); err != nil {
		return nil, err
	}
	return &contract.BackfillResult{Table: q.String(), Rows: r.Rows, ConsistentLSN: r.Consistent.String(),
		HandedOverLSN: r.HandedOver.String(), Seconds: r.Duration.Seconds()}, nil
}

// ListTables lists the connector's tables with their states and the
// destination's row estimates. Before the initial snapshot finished, the
// connector's tables are in state snapshot.
func (a *Tables) ListTables(ctx context.Context, in contract.ListTablesInput) (*contract.TablesReport, error) {
	at := site{activity: contract.ActivityListTables, connector: in.Name, metrics: a.Metrics}
	res, err := a.list(ctx, in, &at)
	return res, boundary(err, at)
}

func (a *Tables) list(ctx context.Context, in contract.ListTablesInput, at *site) (*contract.TablesReport, error) {
	env, err := loadConnector(ctx, a.Catalog, a.Keyring, in.Name, &at.passwords)
	if err != nil {
		return nil, err
	}
	log := activityLog(ctx, a.log()).With("connector", in.Name)
	dst, err := openTargetSink(ctx, a.Sinks, env.dst, env.conn.Selection.TargetSchema, log)
	if err != nil {
		return nil, err
	}
	defer dst.Close(context.WithoutCancel(ctx))
	reg, ok := dst.(sink.Registry)
	if !ok {
		return nil, fmt.Errorf("%w: this destination keeps no per-table states", errInvalidInput)
	}
	states, err := reg.TableStates(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	durable, err := dst.DurableLSN(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	rep := &contract.TablesReport{Connector: in.Name, Tables: []contract.TableInfo{}}
	if len(states) == 0 {
		for _, t := range env.conn.Schema {
			rep.Tables = append(rep.Tables, contract.TableInfo{Table: t.FullName(), State: contract.TableSnapshot, Rows: -1})
		}
	}
	for _, s := range states {
		info := tableInfo(s)
		if s.State == sink.TableStreaming && durable != 0 {
			info.AppliedLSN = durable.String()
		}
		rep.Tables = append(rep.Tables, info)
	}
	if rc, ok := dst.(interface {
		RowEstimates(context.Context, []schema.Table) (map[string]int64, error)
	}); ok && len(rep.Tables) > 0 {
		tables := make([]schema.Table, 0, len(rep.Tables))
		for _, ti := range rep.Tables {
			if q, err := schema.ParseQualified(ti.Table); err == nil {
				tables = append(tables, schema.Table{Schema: q.Schema, Name: q.Name})
			}
		}
		rows, err := rc.RowEstimates(ctx, tables)
		if err != nil {
			return nil, err
		}
		for i := range rep.Tables {
			if n, ok := rows[rep.Tables[i].Table]; ok {
				rep.Tables[i].Rows = n
			}
		}
	}
	slices.SortFunc(rep.Tables, func(x, y contract.TableInfo) int { return strings.Compare(x.Table, y.Table) })
	return rep, nil
}

func (a *Tables) log() *slog.Logger {
	if a.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Log
}
