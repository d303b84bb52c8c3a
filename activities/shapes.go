package activities

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/replication"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/shape"
	"github.com/ardent-cdc/ardent/internal/sink"
)

// sourceCatalog answers the destination's questions about a source table's
// added or retyped columns (sink.SourceCatalog). They are rare (one per
// migration), so each opens its own short session.
type sourceCatalog struct {
	src *pgurl.Conn
}

func (c sourceCatalog) Resolve(ctx context.Context, sch, table string, cols []shape.Column) (map[int]shape.Resolved, error) {
	conn, err := connectSource(ctx, c.src)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	pos := make([]int, len(cols))
	for i, col := range cols {
		pos[i] = col.Pos
	}
	facts, err := schema.ReadColumnFacts(ctx, conn, schema.QualifiedName{Schema: sch, Name: table}, pos)
	if err != nil {
		return nil, fmt.Errorf("read the source's columns of %s.%s: %w", sch, table, err)
	}
	out := make(map[int]shape.Resolved, len(facts))
	for _, f := range facts {
		// The catalog is read now, not as of the change: a column that was
		// dropped or retyped again since is left unanswered (the sink then
		// treats its existing rows as unknown and copies the table again).
		if !slicesHasPos(cols, f) {
			continue
		}
		stored := f.Type
		if f.BaseType != "" {
			stored = f.BaseType
		}
		out[f.Pos] = shape.Resolved{StoredType: stored, Default: f.Missing, Rewritten: f.Rewritten}
	}
	return out, nil
}

// slicesHasPos: the catalog's column is the one the stream showed (same
// attnum, name and type).
func slicesHasPos(cols []shape.Column, f schema.ColumnFacts) bool {
	for _, c := range cols {
		if c.Pos == f.Pos && c.Name == f.Name && (c.TypeOID == 0 || c.TypeOID == f.TypeOID) {
			return true
		}
	}
	return false
}

// followShapes makes dst follow the source's DDL with the connector's
// policies, asking the source's catalog what the stream does not carry.
func followShapes(dst sink.Sink, src *pgurl.Conn, sel catalog.Selection, log *slog.Logger) {
	f, ok := dst.(sink.ShapeFollower)
	if !ok {
		log.Warn("this destination does not follow source schema changes: a changed table is quarantined")
		return
	}
	f.SetSourceCatalog(sourceCatalog{src: src})
	tables := map[string]shape.Policy{}
	for t, p := range sel.DropColumnsTables {
		tables[t] = shape.Policy{DropColumns: p}
	}
	f.SetSchemaPolicy(shape.Policy{DropColumns: sel.DropColumns}, tables)
}

// emitChangedShapes writes a shape message into the source's WAL for each
// streaming table whose catalog shape differs from the one the destination
// recorded: DDL that no data change follows (a quiet DROP COLUMN, a type
// change before the first write) then reaches the destination in stream
// order. A table the message cannot be written for now (a migration holds
// it) is tried again at the next discovery. Failures are logged, never
// fatal: discovery's other work does not wait on them.
func emitChangedShapes(ctx context.Context, conn *pgx.Conn, dst sink.Sink, connector string, found []schema.Table, states []sink.TableState, log *slog.Logger) {
	f, ok := dst.(sink.ShapeFollower)
	if !ok {
		return
	}
	recorded, err := f.RecordedShapes(ctx, connector)
	if err != nil {
		log.Warn("reading the recorded table shapes failed: quiet source DDL is looked for at the next discovery", "err", err)
		return
	}
	streaming := map[string]bool{}
	for _, s := range states {
		streaming[s.FullName()] = s.State == sink.TableStreaming
	}
	for _, t := range found {
		known, ok := recorded[t.FullName()]
		if !ok || !streaming[t.FullName()] || !shapeDiffers(known, t) {
			continue
		}
		emitted, err := replication.EmitShape(ctx, conn, connector, t)
		switch {
		case err != nil:
			log.Warn("writing a table's shape into the stream failed: tried again at the next discovery", "table", t.FullName(), "err", err)
		case emitted:
			log.Info("the source's catalog shows a table shape the destination has not followed yet: sent it down the stream", "table", t.FullName())
		}
	}
}

// shapeDiffers: the catalog's columns are not the recorded ones.
func shapeDiffers(known shape.Shape, t schema.Table) bool {
	if len(known.Columns) == 0 {
		return false
	}
	cols := make([]shape.Column, 0, len(t.Columns))
	for _, c := range t.Columns {
		if c.Pos <= 0 {
			return false
		}
		cols = append(cols, shape.Column{Pos: c.Pos, Name: c.Name, Type: c.Type, TypeOID: c.TypeOID, NotNull: c.NotNull})
	}
	pk := t.PK
	if pk == nil {
		pk = []string{}
	}
	return len(shape.Diff(known, cols, pk, true)) > 0
}
