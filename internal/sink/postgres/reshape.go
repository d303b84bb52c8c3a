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
	for name, c := range ti.cols {
		if !slices.ContainsFunc(src.Columns, func(x schema.Column) bool { return x.Name == name }) && c.notNull && !slices.Contains(ti.key, name) {
			stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL", ti.ident, q(name)))
		}
	}
	if !slices.Equal(ti.key, src.KeyColumns) && len(src.KeyColumns) > 0 {
		var pk string
		err := tx.QueryRow(ctx, `SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`, ti.ident).Scan(&pk)
		if err == nil {
			stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", ti.ident, q(pk)))
		}
		keys := make([]string, len(src.KeyColumns))
		for i, k := range src.KeyColumns {
			keys[i] = q(k)
		}
		stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s ADD PRIMARY KEY (%s)", ti.ident, strings.Join(keys, ", ")))
	}
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

// recordSourceShape records the table's shape as discovery read it, with
// its key unknown (wal2json's include-pk names the primary key, which a
// table whose identity is an index or FULL may not have): the stream's
// first change fills it in.
func recordSourceShape(ctx context.Context, tx pgx.Tx, connector string, src schema.Table) error {
	sh := shape.Shape{}
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
