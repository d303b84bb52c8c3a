package schema

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ColumnFacts is what following an added or retyped column needs beyond
// the stream: the type the destination stores (BaseType, or Type) and what
// the rows that existed before the column was added hold.
type ColumnFacts struct {
	Column
	// Missing is the value pre-existing rows read for a column added with
	// a constant default (pg_attribute.attmissingval), nil when none.
	Missing *string
	// Rewritten: the column has a default, identity or generation
	// expression but no missing value, so adding it rewrote the table (or
	// the default came later): pre-existing rows' values are unknown here.
	Rewritten bool
}

const factsQuery = `SELECT a.attnum, (a.attmissingval::text::text[])[1],
	a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> ''
FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum = ANY($2::int2[]) AND NOT a.attisdropped`

// ReadColumnFacts reads the columns at attnums of table as the catalog has
// them now; a column no longer there is left out.
func ReadColumnFacts(ctx context.Context, conn *pgx.Conn, table QualifiedName, attnums []int) ([]ColumnFacts, error) {
	t := Table{Schema: table.Schema, Name: table.Name}
	var oid uint32
	if err := conn.QueryRow(ctx, "SELECT $1::regclass::oid", t.Ident()).Scan(&oid); err != nil {
		return nil, fmt.Errorf("look up %s: %w", t.FullName(), err)
	}
	tables := []Table{t}
	if err := readColumns(ctx, conn, []uint32{oid}, tables, map[uint32]int{oid: 0}); err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, factsQuery, t.Ident(), attnums)
	if err != nil {
		return nil, fmt.Errorf("read column defaults of %s: %w", t.FullName(), err)
	}
	type fact struct {
		missing *string
		hasDef  bool
	}
	facts := map[int]fact{}
	for rows.Next() {
		var pos int
		var f fact
		if err := rows.Scan(&pos, &f.missing, &f.hasDef); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read column defaults of %s: %w", t.FullName(), err)
		}
		facts[pos] = f
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read column defaults of %s: %w", t.FullName(), err)
	}
	var out []ColumnFacts
	for _, c := range tables[0].Columns {
		f, ok := facts[c.Pos]
		if !ok {
			continue
		}
		out = append(out, ColumnFacts{Column: c, Missing: f.missing, Rewritten: f.hasDef && f.missing == nil})
	}
	return out, nil
}
