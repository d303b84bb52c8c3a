package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/shape"
)

type tableKey struct{ schema, name string }

// tableInfo is what applying changes needs to know about a destination
// table, read from the destination's own catalog so the stream works after
// a restart without the source's discovery result.
type tableInfo struct {
	schema, name string // the destination table
	srcSchema    string // the source's schema (name is the same)
	ident        string
	cols         map[string]*colInfo
	key          []string // primary key columns; empty: match on the whole old row
	// The source table's shape as last recorded (shape.go), loaded with
	// the first change that carries one.
	shape       shape.Shape
	shapeLoaded bool
	byPos       []int // shape.Columns index by attnum, -1 for none
}

// colInfo is one destination column.
type colInfo struct {
	// cast is the type values are cast to: the column's type without its
	// typmod (format_type(oid, -1): "bpchar", "numeric", "\"bit\""). An
	// explicit cast to a typmod truncates or rounds without error (design
	// note 4.11), so no value is ever cast to the column's full type.
	cast string
	// full is the column's type with its typmod, e.g. "numeric(8,2)". When
	// it differs from cast, assigning a value could still round it (numeric
	// scale, fractional seconds) or cut trailing spaces (varchar, char), so
	// assignments are guarded: see assign.
	full string
	// textCmp: the type has no equality operator (json, point, ...), so an
	// old row is matched on its text.
	textCmp bool
	notNull bool
}

func (c *colInfo) guarded() bool { return c.full != c.cast }

func (s *Sink) forget() {
	s.mu.Lock()
	s.tables = map[tableKey]*tableInfo{}
	s.mu.Unlock()
}

func (s *Sink) table(ctx context.Context, sch, name string) (*tableInfo, error) {
	k := tableKey{sch, name}
	s.mu.Lock()
	ti := s.tables[k]
	s.mu.Unlock()
	if ti != nil {
		return ti, nil
	}
	// The stream names the source table; the destination's may live in
	// another schema (--target-schema).
	dsch := s.target.Schema(sch)
	ident := schema.Table{Schema: dsch, Name: name}.Ident()
	ti = &tableInfo{schema: dsch, srcSchema: sch, name: name, ident: ident}
	if err := ti.load(ctx, s.pool); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.tables[k] = ti
	s.mu.Unlock()
	return ti, nil
}

// querier is a pool or an open transaction: a table changed by DDL in the
// stream's transaction is read again through that transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// load reads the destination table's columns and primary key.
func (ti *tableInfo) load(ctx context.Context, q querier) error {
	ident, dsch, name := ti.ident, ti.schema, ti.name
	ti.cols, ti.key = map[string]*colInfo{}, nil
	rows, err := q.Query(ctx, `SELECT a.attname, format_type(a.atttypid, -1), format_type(a.atttypid, a.atttypmod),
		NOT EXISTS (SELECT 1 FROM pg_operator o WHERE o.oprname = '=' AND o.oprleft = a.atttypid AND o.oprright = a.atttypid),
		a.attnotnull
		FROM pg_attribute a
		WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, ident)
	if err != nil {
		return fmt.Errorf("read columns of destination table %s: %w", ident, err)
	}
	for rows.Next() {
		var col string
		var c colInfo
		if err := rows.Scan(&col, &c.cast, &c.full, &c.textCmp, &c.notNull); err != nil {
			return fmt.Errorf("read columns of destination table %s: %w", ident, err)
		}
		ti.cols[col] = &c
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read columns of destination table %s: %w", ident, err)
	}
	if len(ti.cols) == 0 {
		return missingTable(dsch, name)
	}
	rows, err = q.Query(ctx, `SELECT a.attname FROM pg_index i
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
		WHERE i.indrelid = $1::regclass AND i.indisprimary AND array_position(i.indkey::int2[], a.attnum) <= i.indnkeyatts
		ORDER BY array_position(i.indkey::int2[], a.attnum)`, ident)
	if err != nil {
		return fmt.Errorf("read primary key of destination table %s: %w", ident, err)
	}
	for rows.Next() {
		var col string
		if err := rows.Scan(&col); err != nil {
			return fmt.Errorf("read primary key of destination table %s: %w", ident, err)
		}
		ti.key = append(ti.key, col)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read primary key of destination table %s: %w", ident, err)
	}
	return nil
}

// missingTable is the error for a destination table that does not exist
// (or has no columns). It is the server's undefined_table, so it is
// classified like one: a schema mismatch, not a retry.
func missingTable(sch, name string) error {
	return &pgconn.PgError{Severity: "ERROR", Code: "42P01", SchemaName: sch, TableName: name,
		Message: fmt.Sprintf("destination table %s does not exist or has no columns", schema.Table{Schema: sch, Name: name}.Ident())}
}

func (ti *tableInfo) col(name string) (*colInfo, error) {
	c, ok := ti.cols[name]
	if !ok {
		// The server's undefined_column: the source has a column the
		// destination lacks.
		return nil, &pgconn.PgError{Severity: "ERROR", Code: "42703", SchemaName: ti.schema, TableName: ti.name, ColumnName: name,
			Message: fmt.Sprintf("column %q does not exist in destination table %s", name, ti.ident)}
	}
	return c, nil
}

// castOf is the type a value of the column is cast to when it is compared
// (keys, old rows): never the typmod, so a comparison cannot truncate.
func (ti *tableInfo) castOf(name string) (string, error) {
	c, err := ti.col(name)
	if err != nil {
		return "", err
	}
	return c.cast, nil
}

// assign is the expression that stores the text expression expr into the
// column. Where the column has a typmod, the value must fit it exactly:
// when casting to the full type would change its value, the statement fails
// with _ardent.value_does_not_fit's error instead of storing a truncated or
// rounded value.
func (ti *tableInfo) assign(name, expr string) (string, error) {
	c, err := ti.col(name)
	if err != nil {
		return "", err
	}
	v := "(" + expr + ")::" + c.cast
	if !c.guarded() {
		return v, nil
	}
	// Equal as values, not as text: numeric(8,2) stores 1.5 as 1.50, which
	// loses nothing, while 1.234 would become 1.23.
	cmp := "(" + expr + ")::" + c.full + " = " + v
	if c.textCmp {
		cmp = "((" + expr + ")::" + c.full + ")::text = (" + v + ")::text"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "CASE WHEN %s IS NULL OR %s THEN %s ELSE _ardent.value_does_not_fit(%s, %s, %s, %s)::%s END",
		expr, cmp, v,
		schema.QuoteLiteral(ti.schema), schema.QuoteLiteral(ti.name), schema.QuoteLiteral(name), schema.QuoteLiteral(c.full), c.cast)
	return b.String(), nil
}

// hasGuarded reports whether any of cols needs assign's guard (COPY cannot
// apply it).
func (ti *tableInfo) hasGuarded(cols []string) bool {
	for _, n := range cols {
		if c, ok := ti.cols[n]; ok && c.guarded() {
			return true
		}
	}
	return false
}
