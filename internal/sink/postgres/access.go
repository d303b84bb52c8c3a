package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/ardent-cdc/ardent/internal/schema"
)

// maxAccessColumns bounds the btree access index of a keyless table: a few
// leading fixed-width columns narrow a match to a handful of rows.
const maxAccessColumns = 3

// createAccessIndex gives a table without a key (REPLICA IDENTITY FULL and
// no primary key or unique NOT NULL index on the source) an access path, so
// a streamed UPDATE or DELETE, which matches the whole old row, does not
// scan the table. It indexes the leading fixed-width columns with a btree
// (fixed width: no row can exceed the btree's entry size limit), or else
// the first hashable column with a hash index (no size limit). A table with
// neither gets no index and is matched by a scan.
func (s *Sink) createAccessIndex(ctx context.Context, t schema.Table) error {
	rows, err := s.pool.Query(ctx, `SELECT c.oid::int8, a.attname, ty.typlen > 0,
		EXISTS (SELECT 1 FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod
		        WHERE am.amname = 'btree' AND oc.opcdefault AND oc.opcintype = a.atttypid),
		EXISTS (SELECT 1 FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod
		        WHERE am.amname = 'hash' AND oc.opcdefault AND oc.opcintype = a.atttypid)
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid JOIN pg_type ty ON ty.oid = a.atttypid
		WHERE c.oid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, t.Ident())
	if err != nil {
		return fmt.Errorf("choose an access index for destination table %s: %w", t.Ident(), err)
	}
	var oid int64
	var btree []string
	hash := ""
	for rows.Next() {
		var name string
		var fixed, bt, hs bool
		if err := rows.Scan(&oid, &name, &fixed, &bt, &hs); err != nil {
			rows.Close()
			return fmt.Errorf("choose an access index for destination table %s: %w", t.Ident(), err)
		}
		if fixed && bt && len(btree) < maxAccessColumns {
			btree = append(btree, schema.QuoteIdent(name))
		}
		if hs && hash == "" {
			hash = schema.QuoteIdent(name)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("choose an access index for destination table %s: %w", t.Ident(), err)
	}
	var using string
	switch {
	case len(btree) > 0:
		using = "(" + strings.Join(btree, ", ") + ")"
	case hash != "":
		using = "USING hash (" + hash + ")"
	default:
		s.log.Warn("keyless table has no indexable column: updates and deletes will scan it", "table", t.Ident())
		return nil
	}
	// The name carries the table's OID: unique in the schema, stable across
	// Prepare calls, never longer than an identifier may be.
	idx := schema.QuoteIdent(fmt.Sprintf("ardent_access_%d", oid))
	if _, err := s.pool.Exec(ctx, "CREATE INDEX IF NOT EXISTS "+idx+" ON "+t.Ident()+" "+using); err != nil {
		return fmt.Errorf("create access index on destination table %s: %w", t.Ident(), err)
	}
	return nil
}
