package postgres

import (
	"context"
	"fmt"

	"github.com/ardent-cdc/ardent/internal/schema"
)

type tableKey struct{ schema, name string }

// tableInfo is what applying changes needs to know about a destination
// table, read from the destination's own catalog so the stream works after
// a restart without the source's discovery result.
type tableInfo struct {
	ident   string
	types   map[string]string // column name → destination type, for casts
	key     []string          // primary key columns; empty: match on the whole old row
	textCmp map[string]bool   // columns without an equality operator, compared as text
}

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
	ident := schema.Table{Schema: sch, Name: name}.Ident()
	ti = &tableInfo{ident: ident, types: map[string]string{}, textCmp: map[string]bool{}}
	rows, err := s.pool.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod),
		NOT EXISTS (SELECT 1 FROM pg_operator o WHERE o.oprname = '=' AND o.oprleft = a.atttypid AND o.oprright = a.atttypid)
		FROM pg_attribute a
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, ident)
	if err != nil {
		return nil, fmt.Errorf("read columns of destination table %s: %w", ident, err)
	}
	for rows.Next() {
		var col, typ string
		var noEq bool
		if err := rows.Scan(&col, &typ, &noEq); err != nil {
			return nil, fmt.Errorf("read columns of destination table %s: %w", ident, err)
		}
		ti.types[col] = typ
		ti.textCmp[col] = noEq
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read columns of destination table %s: %w", ident, err)
	}
	if len(ti.types) == 0 {
		return nil, fmt.Errorf("destination table %s has no columns", ident)
	}
	rows, err = s.pool.Query(ctx, `SELECT a.attname FROM pg_index i
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
		WHERE i.indrelid = $1::regclass AND i.indisprimary
		ORDER BY array_position(i.indkey::int2[], a.attnum)`, ident)
	if err != nil {
		return nil, fmt.Errorf("read primary key of destination table %s: %w", ident, err)
	}
	for rows.Next() {
		var col string
		if err := rows.Scan(&col); err != nil {
			return nil, fmt.Errorf("read primary key of destination table %s: %w", ident, err)
		}
		ti.key = append(ti.key, col)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read primary key of destination table %s: %w", ident, err)
	}
	s.mu.Lock()
	s.tables[k] = ti
	s.mu.Unlock()
	return ti, nil
}

func (ti *tableInfo) typeOf(col string) (string, error) {
	t, ok := ti.types[col]
	if !ok {
		return "", fmt.Errorf("column %q does not exist in destination table %s", col, ti.ident)
	}
	return t, nil
}
