package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/shape"
	"github.com/ardent-cdc/ardent/internal/sink"
)

// reshape makes a destination table that Truncate has just emptied match
// the source table's shape (its columns' types, NOT NULL and the key), so
// a new copy never goes into a table of the old shape: this is what
// `ardent resync` and `ardent schema approve` rely on after a change the
// stream does not follow by itself. Columns the source no longer has are
// kept, nullable (the operator may have added them). Every statement goes
// to the schema history; the source's shape is recorded for the stream.
// It runs in tx, after the TRUNCATE, so it never changes a table with rows.
func (s *Sink) reshape(ctx context.Context, tx pgx.Tx, connector string, src schema.Table) error {
	dst := s.target.Table(src)
	ti := &tableInfo{schema: dst.Schema, srcSchema: src.Schema, name: dst.Name, ident: dst.Ident()}
	if err := ti.load(ctx, tx); err != nil {
		return err
	}
	var pk string
	if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'), '')`, ti.ident).Scan(&pk); err != nil {
		return fmt.Errorf("read the primary key of %s: %w", ti.ident, err)
	}
	stmts := reshapeStatements(ti, src, pk)
	conn := sink.BaseConnector(connector)
	for _, st := range stmts {
		if _, err := tx.Exec(ctx, st); err != nil {
			return fmt.Errorf("change destination table %s to the source's shape: %s: %w", ti.ident, st, err)
		}
		if _, err := tx.Exec(ctx, insertHistory, conn, src.Schema, src.Name, "0/0", "copied again: the destination table made to match the source",
			st, sink.OutcomeApplied, ""); err != nil {
			return fmt.Errorf("record the schema history of %s: %w", src.FullName(), err)
		}
	}
	return recordSourceShape(ctx, tx, conn, src)
}

// recordSourceShape records the table's shape as discovery read it,
// primary key included (the catalog poll's shape messages compare it).
func recordSourceShape(ctx context.Context, tx pgx.Tx, connector string, src schema.Table) error {
	// The primary key when discovery says it (a schema stored by an older
	// version has no PK field: its primary key identity's columns are the
	// key); otherwise unknown, and the first shape message records it.
	sh := shape.Shape{PK: src.PK}
	if sh.PK == nil && src.Identity == schema.IdentityPrimaryKey {
		sh.PK = src.KeyColumns
	}
	for _, c := range src.Columns {
		if c.Pos <= 0 {
			return nil // a schema stored before attnums were kept: the stream bootstraps
		}
		sh.Columns = append(sh.Columns, shape.Column{Pos: c.Pos, Name: c.Name, Type: c.Type, TypeOID: c.TypeOID, NotNull: c.NotNull})
	}
	raw, err := json.Marshal(sh)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, upsertShape, connector, src.Schema, src.Name, raw, "0/0"); err != nil {
		return fmt.Errorf("record the shape of %s: %w", src.FullName(), err)
	}
	return nil
}

// reshapeStatements are the statements that make the destination table ti
// (whose primary key constraint is pk, "" none) take src's shape, when it
// holds no rows.
func reshapeStatements(ti *tableInfo, src schema.Table, pk string) []string {
	q := schema.QuoteIdent
	var stmts []string
	for _, c := range src.Columns {
		want := destType(c)
		have, ok := ti.cols[c.Name]
		switch {
		case !ok:
			add := fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", ti.ident, q(c.Name), want)
			if c.NotNull {
				add += " NOT NULL"
			}
			stmts = append(stmts, add)
			continue
		case have.full != want:
			stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s USING NULL", ti.ident, q(c.Name), want))
		}
		switch {
		case c.NotNull && !have.notNull:
			stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s SET NOT NULL", ti.ident, q(c.Name)))
		case !c.NotNull && have.notNull && !slices.Contains(src.KeyColumns, c.Name):
			stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL", ti.ident, q(c.Name)))
		}
	}
	names := make([]string, 0, len(ti.cols))
	for name := range ti.cols {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		c := ti.cols[name]
		if !slices.ContainsFunc(src.Columns, func(x schema.Column) bool { return x.Name == name }) && c.notNull && !slices.Contains(ti.key, name) {
			stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL", ti.ident, q(name)))
		}
	}
	if !slices.Equal(ti.key, src.KeyColumns) && len(src.KeyColumns) > 0 {
		if pk != "" {
			stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", ti.ident, q(pk)))
		}
		keys := make([]string, len(src.KeyColumns))
		for i, k := range src.KeyColumns {
			keys[i] = q(k)
		}
		stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s ADD PRIMARY KEY (%s)", ti.ident, strings.Join(keys, ", ")))
	}
	return stmts
}

var _ sink.ShapeComparer = (*Sink)(nil)

// ShapeDifferences (see sink.ShapeComparer).
func (s *Sink) ShapeDifferences(ctx context.Context, tables []schema.Table) (map[string][]string, error) {
	out := map[string][]string{}
	for _, src := range tables {
		dst := s.target.Table(src)
		ti := &tableInfo{schema: dst.Schema, srcSchema: src.Schema, name: dst.Name, ident: dst.Ident()}
		var exists bool
		if err := s.pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", ti.ident).Scan(&exists); err != nil {
			return nil, fmt.Errorf("look up destination table %s: %w", ti.ident, err)
		}
		if !exists {
			continue
		}
		if err := ti.load(ctx, s.pool); err != nil {
			return nil, err
		}
		var pk string
		if err := s.pool.QueryRow(ctx, `SELECT coalesce((SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'), '')`, ti.ident).Scan(&pk); err != nil {
			return nil, fmt.Errorf("read the primary key of %s: %w", ti.ident, err)
		}
		if stmts := reshapeStatements(ti, src, pk); len(stmts) > 0 {
			out[dst.FullName()] = stmts
		}
	}
	return out, nil
}
