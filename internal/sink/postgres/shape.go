package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/shape"
	"github.com/ardent-cdc/ardent/internal/sink"
)

var _ sink.ShapeFollower = (*Sink)(nil)

// shapeDDL keeps each source table's shape as of the connector's
// checkpoint (written in the same transaction as the DDL that follows it),
// and the history of every schema change the destination followed.
const shapeDDL = `CREATE TABLE IF NOT EXISTS _ardent.source_shape (
	connector text NOT NULL,
	schema_name text NOT NULL,
	table_name text NOT NULL,
	shape jsonb NOT NULL,
	lsn pg_lsn NOT NULL DEFAULT '0/0',
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (connector, schema_name, table_name)
);
CREATE TABLE IF NOT EXISTS _ardent.schema_history (
	id bigserial PRIMARY KEY,
	connector text NOT NULL,
	schema_name text NOT NULL,
	table_name text NOT NULL,
	lsn pg_lsn NOT NULL,
	change text NOT NULL,
	statement text NOT NULL DEFAULT '',
	outcome text NOT NULL,
	detail text NOT NULL DEFAULT '',
	at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS schema_history_connector ON _ardent.schema_history (connector, id)`

// SetSourceCatalog (see sink.ShapeFollower).
func (s *Sink) SetSourceCatalog(c sink.SourceCatalog) {
	s.mu.Lock()
	s.catalog = c
	s.mu.Unlock()
}

// SetSchemaPolicy (see sink.ShapeFollower).
func (s *Sink) SetSchemaPolicy(def shape.Policy, tables map[string]shape.Policy) {
	s.mu.Lock()
	s.policy, s.tablePolicy = def, tables
	s.mu.Unlock()
}

func (s *Sink) policyFor(table string) (shape.Policy, sink.SourceCatalog) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.tablePolicy[table]
	if !ok {
		p = s.policy
	}
	return p, s.catalog
}

// hasShape: the change carries its table's shape (the stream asked wal2json
// for it; a bench without it, or a test's hand-made change, does not).
func hasShape(c *sink.Change) bool {
	return c.Op == sink.OpShape || c.PK != nil || (len(c.Columns) > 0 && c.Columns[0].Pos > 0)
}

// matches is the fast path: the change shows the recorded shape. It costs a
// few comparisons of interned strings per column.
func (ti *tableInfo) matches(c *sink.Change) bool {
	if !ti.shapeLoaded || len(ti.shape.Columns) == 0 {
		return false
	}
	if c.PK != nil && !slices.Equal(c.PK, ti.shape.PK) {
		return false
	}
	if (c.Op == sink.OpInsert || c.Op == sink.OpShape) && len(c.Columns) != len(ti.shape.Columns) {
		return false
	}
	for i := range c.Columns {
		v := &c.Columns[i]
		if v.Pos <= 0 || v.Pos >= len(ti.byPos) || ti.byPos[v.Pos] < 0 {
			return false
		}
		k := &ti.shape.Columns[ti.byPos[v.Pos]]
		if k.Name != v.Name || k.Type != v.Type || k.NotNull != v.NotNull || (v.TypeOID != 0 && k.TypeOID != v.TypeOID) {
			return false
		}
	}
	return true
}

func (ti *tableInfo) setShape(sh shape.Shape) {
	ti.shape, ti.shapeLoaded = sh, true
	n := 0
	for _, c := range sh.Columns {
		n = max(n, c.Pos+1)
	}
	ti.byPos = make([]int, n)
	for i := range ti.byPos {
		ti.byPos[i] = -1
	}
	for i, c := range sh.Columns {
		if c.Pos > 0 {
			ti.byPos[c.Pos] = i
		}
	}
}

func seenColumns(c *sink.Change) []shape.Column {
	out := make([]shape.Column, 0, len(c.Columns))
	for _, v := range c.Columns {
		if v.Pos > 0 {
			out = append(out, shape.Column{Pos: v.Pos, Name: v.Name, Type: v.Type, TypeOID: v.TypeOID, NotNull: v.NotNull})
		}
	}
	return out
}

// errSkipChange: the change is not applied (its table was quarantined by
// it, or it is a shape message, which carries no row).
var errSkipChange = errors.New("change not applied")

// track follows the shape of the change's table. It returns errSkipChange
// when the change must not be applied.
func (w *writer) track(ctx context.Context, ti *tableInfo, c *sink.Change) error {
	if !hasShape(c) {
		if c.Op == sink.OpShape {
			return errSkipChange
		}
		return nil
	}
	if ti.matches(c) {
		if c.Op == sink.OpShape {
			return errSkipChange
		}
		return nil
	}
	if err := w.follow(ctx, ti, c); err != nil {
		return err
	}
	if c.Op == sink.OpShape {
		return errSkipChange
	}
	return nil
}

// follow is the slow path: the change shows a shape other than the one
// recorded. Everything queued runs first, then the destination DDL, the
// history and the new shape, all in the stream's open transaction, so the
// checkpoint that covers this change covers them too: a crash in between
// is impossible.
func (w *writer) follow(ctx context.Context, ti *tableInfo, c *sink.Change) error {
	if err := w.flush(ctx, true); err != nil {
		return err
	}
	conn := sink.BaseConnector(w.connector)
	// Read the table and its recorded shape again, through this
	// transaction: another sink (a backfill's) may have changed both since
	// they were cached.
	if err := ti.load(ctx, w.tx); err != nil {
		return err
	}
	if err := w.loadShape(ctx, conn, ti); err != nil {
		return err
	}
	if ti.matches(c) {
		return nil
	}
	seen := seenColumns(c)
	known := ti.shape
	if len(known.Columns) == 0 {
		known = bootstrapShape(ti, seen)
	}
	complete := c.Op == sink.OpInsert || c.Op == sink.OpShape
	deltas := shape.Diff(known, seen, c.PK, complete)
	next := shape.Apply(known, seen, c.PK, deltas)
	if len(deltas) == 0 {
		ti.setShape(next)
		return w.recordShape(ctx, conn, ti, next)
	}
	table := ti.srcSchema + "." + ti.name
	pol, cat := w.s.policyFor(table)
	resolved := map[int]shape.Resolved{}
	var ask []shape.Column
	for _, d := range deltas {
		if d.Kind == shape.Added || d.Kind == shape.TypeChanged {
			ask = append(ask, d.New)
		}
	}
	if len(ask) > 0 && cat != nil {
		r, err := cat.Resolve(ctx, ti.srcSchema, ti.name, ask)
		if err != nil {
			return fmt.Errorf("follow the shape of %s: %w", table, err)
		}
		resolved = r
	}
	resolve := func(col shape.Column) shape.Resolved {
		if r, ok := resolved[col.Pos]; ok {
			return r
		}
		// Not answered (no catalog, or the column is gone from it by now):
		// the type is taken as the stream names it (a type the destination
		// lacks then fails its statement, which quarantines the table), and
		// existing rows are unknown. A user type (oid known) is not guessed.
		r := shape.Resolved{Rewritten: true}
		if col.TypeOID == 0 || col.TypeOID < firstNormalOID {
			r.StoredType = col.Type
		}
		return r
	}
	steps := shape.Plan(deltas, destOf(ti), resolve, pol)
	if why := shape.Quarantined(steps); why != "" {
		for _, st := range steps {
			if err := w.audit(ctx, conn, ti, st.Delta.String(), "", sink.OutcomeQuarantined, why); err != nil {
				return err
			}
		}
		return w.quarantine(ctx, ti, why+" (at source LSN "+w.lsn.String()+")",
			fmt.Sprintf("`ardent schema approve %s --table %s` changes the destination table to the source's shape and copies it again, or `ardent tables remove %s %s` stops replicating it", conn, table, conn, table))
	}
	// A statement the destination refuses (a type it does not have, a
	// lock it cannot get) must not wedge the stream: everything the plan
	// ran is undone and the table is quarantined with the refusal.
	if _, err := w.tx.Exec(ctx, "SAVEPOINT ardent_follow"); err != nil {
		return err
	}
	resync := false
	for _, st := range steps {
		outcome, detail := sink.OutcomeApplied, st.Note
		if len(st.Statements) == 0 || st.Kept {
			outcome = sink.OutcomeKept
		}
		if st.Resync {
			outcome, resync = sink.OutcomeResync, true
		}
		for _, stmt := range st.Statements {
			if _, err := w.tx.Exec(ctx, stmt); err != nil {
				if _, rerr := w.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT ardent_follow"); rerr != nil {
					return applyError(ti, fmt.Errorf("follow %s: %s: %w", st.Delta.String(), stmt, err))
				}
				why := fmt.Sprintf("the destination refused %s (to follow: %s): %v", stmt, st.Delta.String(), err)
				if aerr := w.audit(ctx, conn, ti, st.Delta.String(), stmt, sink.OutcomeQuarantined, why); aerr != nil {
					return aerr
				}
				if lerr := ti.load(ctx, w.tx); lerr != nil {
					return lerr
				}
				return w.quarantine(ctx, ti, why+" (at source LSN "+w.lsn.String()+")",
					fmt.Sprintf("`ardent schema approve %s --table %s` changes the destination table to the source's shape and copies it again, or `ardent tables remove %s %s` stops replicating it", conn, table, conn, table))
			}
		}
		if err := w.audit(ctx, conn, ti, st.Delta.String(), strings.Join(st.Statements, ";\n"), outcome, detail); err != nil {
			return err
		}
		w.s.log.Info("followed a source schema change", "connector", conn, "table", table, "change", st.Delta.String(),
			"statements", len(st.Statements), "outcome", outcome, "lsn", w.lsn.String())
	}
	if _, err := w.tx.Exec(ctx, "RELEASE SAVEPOINT ardent_follow"); err != nil {
		return err
	}
	if err := ti.load(ctx, w.tx); err != nil {
		return err
	}
	ti.setShape(next)
	if err := w.recordShape(ctx, conn, ti, next); err != nil {
		return err
	}
	if resync {
		return w.quarantine(ctx, ti, "a column was added with values the stream does not carry for existing rows (at source LSN "+w.lsn.String()+")", sink.RemedyAutoResync)
	}
	return nil
}

// firstNormalOID: types below it are built in, named the same everywhere.
const firstNormalOID = 16384

// bootstrapShape stands in for a shape never recorded (a table copied
// before shapes were kept): a column the destination has under the same
// name is taken to be the same column; the others are new.
func bootstrapShape(ti *tableInfo, seen []shape.Column) shape.Shape {
	var sh shape.Shape
	for _, c := range seen {
		if _, ok := ti.cols[c.Name]; ok {
			sh.Columns = append(sh.Columns, c)
		}
	}
	if len(sh.Columns) == 0 && len(seen) > 0 {
		// Nothing in common: compare with nothing rather than call every
		// column new (a destination that is not this table's).
		return shape.Shape{}
	}
	return sh
}

func destOf(ti *tableInfo) shape.Dest {
	d := shape.Dest{Schema: ti.schema, Name: ti.name, Columns: map[string]shape.DestColumn{}}
	for n, c := range ti.cols {
		d.Columns[n] = shape.DestColumn{Type: c.full, NotNull: c.notNull, Key: slices.Contains(ti.key, n)}
	}
	return d
}

func (w *writer) loadShape(ctx context.Context, connector string, ti *tableInfo) error {
	var raw []byte
	err := w.tx.QueryRow(ctx, `SELECT shape FROM _ardent.source_shape WHERE connector = $1 AND schema_name = $2 AND table_name = $3`,
		connector, ti.srcSchema, ti.name).Scan(&raw)
	var sh shape.Shape
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return fmt.Errorf("read the recorded shape of %s.%s: %w", ti.srcSchema, ti.name, err)
	default:
		if err := json.Unmarshal(raw, &sh); err != nil {
			return fmt.Errorf("read the recorded shape of %s.%s: %w", ti.srcSchema, ti.name, err)
		}
	}
	ti.setShape(sh)
	return nil
}

const upsertShape = `INSERT INTO _ardent.source_shape (connector, schema_name, table_name, shape, lsn) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (connector, schema_name, table_name) DO UPDATE SET shape = excluded.shape, lsn = excluded.lsn, updated_at = now()`

func (w *writer) recordShape(ctx context.Context, connector string, ti *tableInfo, sh shape.Shape) error {
	raw, err := json.Marshal(sh)
	if err != nil {
		return err
	}
	if _, err := w.tx.Exec(ctx, upsertShape, connector, ti.srcSchema, ti.name, raw, w.lsn); err != nil {
		return fmt.Errorf("record the shape of %s.%s: %w", ti.srcSchema, ti.name, err)
	}
	return nil
}

const insertHistory = `INSERT INTO _ardent.schema_history (connector, schema_name, table_name, lsn, change, statement, outcome, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

func (w *writer) audit(ctx context.Context, connector string, ti *tableInfo, change, stmt, outcome, detail string) error {
	if _, err := w.tx.Exec(ctx, insertHistory, connector, ti.srcSchema, ti.name, w.lsn, change, stmt, outcome, detail); err != nil {
		return fmt.Errorf("record the schema history of %s.%s: %w", ti.srcSchema, ti.name, err)
	}
	return nil
}

// quarantine stops applying the table from this change on, in the stream's
// own transaction (which holds the checkpoint lock), so the others stream
// on without a new session. A writer whose connector keeps no table states
// (a backfill's catch-up) fails instead: its retry starts from the
// source's shape.
func (w *writer) quarantine(ctx context.Context, ti *tableInfo, cause, remedy string) error {
	a := w.a
	if !a.gated {
		return applyError(ti, fmt.Errorf("the source's %s.%s changed shape: %s", ti.srcSchema, ti.name, cause))
	}
	if _, err := w.tx.Exec(ctx, `INSERT INTO _ardent.table_state (connector, schema_name, table_name, state, since, cause, remedy)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (connector, schema_name, table_name) DO UPDATE SET state = excluded.state,
		since = excluded.since, cause = excluded.cause, remedy = excluded.remedy, updated_at = now()`,
		w.connector, ti.srcSchema, ti.name, sink.TableQuarantined, w.lsn, cause, remedy); err != nil {
		return fmt.Errorf("quarantine %s.%s: %w", ti.srcSchema, ti.name, err)
	}
	if _, err := w.tx.Exec(ctx, `UPDATE _ardent.applied_lsn SET tables_version = tables_version + 1 WHERE connector = $1`, w.connector); err != nil {
		return fmt.Errorf("quarantine %s.%s: %w", ti.srcSchema, ti.name, err)
	}
	a.gates[tableKey{ti.srcSchema, ti.name}] = gate{}
	a.gatesVersion++
	w.s.log.Warn("table quarantined: its source changed shape in a way the destination does not follow by itself",
		"connector", w.connector, "table", ti.srcSchema+"."+ti.name, "cause", cause)
	return errSkipChange
}

// SchemaHistory (see sink.ShapeFollower).
func (s *Sink) SchemaHistory(ctx context.Context, connector, table string, limit int) ([]sink.SchemaChange, error) {
	if err := s.ensureBookkeeping(ctx); err != nil {
		return nil, err
	}
	var sch, name string
	if table != "" {
		q, err := schema.ParseQualified(table)
		if err != nil {
			return nil, err
		}
		sch, name = q.Schema, q.Name
	}
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.pool.Query(ctx, `SELECT id, connector, schema_name, table_name, lsn, change, statement, outcome, detail, at
		FROM _ardent.schema_history WHERE connector = $1 AND ($2 = '' OR (schema_name = $2 AND table_name = $3))
		ORDER BY id DESC LIMIT $4`, connector, sch, name, limit)
	if err != nil {
		return nil, fmt.Errorf("read the schema history of connector %q: %w", connector, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sink.SchemaChange, error) {
		var c sink.SchemaChange
		err := r.Scan(&c.ID, &c.Connector, &c.Schema, &c.Table, &c.LSN, &c.Change, &c.Statement, &c.Outcome, &c.Detail, &c.At)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("read the schema history of connector %q: %w", connector, err)
	}
	return out, nil
}

// RecordedShapes (see sink.ShapeFollower).
func (s *Sink) RecordedShapes(ctx context.Context, connector string) (map[string]shape.Shape, error) {
	if err := s.ensureBookkeeping(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT schema_name, table_name, shape FROM _ardent.source_shape WHERE connector = $1`, connector)
	if err != nil {
		return nil, fmt.Errorf("read the recorded shapes of connector %q: %w", connector, err)
	}
	defer rows.Close()
	out := map[string]shape.Shape{}
	for rows.Next() {
		var sch, name string
		var raw []byte
		if err := rows.Scan(&sch, &name, &raw); err != nil {
			return nil, fmt.Errorf("read the recorded shapes of connector %q: %w", connector, err)
		}
		var sh shape.Shape
		if err := json.Unmarshal(raw, &sh); err != nil {
			return nil, fmt.Errorf("read the recorded shape of %s.%s: %w", sch, name, err)
		}
		out[sch+"."+name] = sh
	}
	return out, rows.Err()
}
