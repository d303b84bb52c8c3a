package schema

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// tablesQuery reads every selected table with its identity facts in one
// statement. The usable indexes are collected once and hash-joined back
// (LATERAL lookups into the materialised CTE cost tables × indexes), so the
// cost grows linearly with the number of tables, never with round trips. Root partitioned tables (relkind 'p') are not returned:
// they hold no rows and wal2json names the leaf in every change.
const tablesQuery = `
WITH sel AS (SELECT * FROM unnest($2::text[], $3::text[]) AS s(nsp, rel)),
exc AS (SELECT * FROM unnest($4::text[], $5::text[]) AS e(nsp, rel)),
t AS (
  SELECT c.oid, n.nspname, c.relname, c.relkind, c.relispartition, c.relreplident,
         c.reltuples, c.relpages, pg_get_userbyid(c.relowner) AS owner,
         rn.nspname AS root_nsp, r.relname AS root_rel
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_class r ON c.relispartition AND r.oid = pg_partition_root(c.oid)
  LEFT JOIN pg_namespace rn ON rn.oid = r.relnamespace
  WHERE c.relkind = 'r' AND c.relpersistence <> 't'
    AND n.nspname NOT IN ('pg_catalog', 'information_schema', '_ardent')
    AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
),
chosen AS (
  SELECT t.* FROM t
  WHERE (t.nspname = ANY($1::text[]) OR t.root_nsp = ANY($1::text[])
         OR EXISTS (SELECT 1 FROM sel WHERE (sel.nsp = t.nspname AND sel.rel = t.relname)
                                         OR (sel.nsp = t.root_nsp AND sel.rel = t.root_rel)))
    AND NOT EXISTS (SELECT 1 FROM exc WHERE (exc.nsp = t.nspname AND exc.rel = t.relname)
                                         OR (exc.nsp = t.root_nsp AND exc.rel = t.root_rel))
),
idx AS (
  -- Only indexes the server itself would accept as replica identity
  -- (relcache.c: valid, unique, immediate, no predicate, no expressions)
  -- whose key columns are all NOT NULL. The key columns are the first
  -- indnkeyatts entries of indkey; the rest are INCLUDE columns, which may
  -- be NULL and are neither checked (tablecmds.c, relcache.c) nor part of
  -- the key.
  SELECT i.indrelid, i.indisprimary, i.indisreplident, ic.relname AS name, i.indnkeyatts,
         ARRAY(SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
               WHERE k.ord <= i.indnkeyatts ORDER BY k.ord)::text[] AS cols
  FROM chosen
  JOIN pg_index i ON i.indrelid = chosen.oid
  JOIN pg_class ic ON ic.oid = i.indexrelid
  WHERE i.indisunique AND i.indisvalid AND i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL
    AND NOT EXISTS (SELECT 1 FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                    WHERE k.ord <= i.indnkeyatts AND NOT a.attnotnull)
),
pk AS (SELECT indrelid, name, cols FROM idx WHERE indisprimary),
ri AS (SELECT indrelid, name, cols FROM idx WHERE indisreplident),
cand AS (SELECT DISTINCT ON (indrelid) indrelid, name, cols FROM idx
         ORDER BY indrelid, indisprimary DESC, indnkeyatts, name)
SELECT c.oid, c.nspname, c.relname, c.relkind::text, c.relispartition,
       COALESCE(c.root_nsp || '.' || c.root_rel, ''), c.relreplident::text, c.owner,
       pk.name, pk.cols, ri.name, ri.cols, cand.name, cand.cols,
       GREATEST(c.reltuples, 0)::bigint, c.relpages::bigint * current_setting('block_size')::bigint
FROM chosen c
LEFT JOIN pk ON pk.indrelid = c.oid
LEFT JOIN ri ON ri.indrelid = c.oid
LEFT JOIN cand ON cand.indrelid = c.oid
ORDER BY c.nspname, c.relname`

// columnsQuery reads the columns of all selected tables at once. Domains are
// followed down to their base type (a domain may sit on a domain); enums,
// and domains over enums, are stored as text.
const columnsQuery = `
WITH RECURSIVE cols AS (
  SELECT a.attrelid, a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull, a.attgenerated
  FROM pg_attribute a
  WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
),
dom(top, cur, mod) AS (
  SELECT t.oid, t.typbasetype, t.typtypmod FROM pg_type t
  WHERE t.typtype = 'd' AND t.oid IN (
    SELECT atttypid FROM cols
    UNION SELECT at.typelem FROM cols JOIN pg_type at ON at.oid = cols.atttypid AND at.typcategory = 'A')
  UNION ALL
  SELECT d.top, t.typbasetype, CASE WHEN d.mod <> -1 THEN d.mod ELSE t.typtypmod END
  FROM dom d JOIN pg_type t ON t.oid = d.cur AND t.typtype = 'd'
),
base AS (
  SELECT d.top, CASE WHEN bt.typtype = 'e' THEN 'text' ELSE format_type(d.cur, NULLIF(d.mod, -1)) END AS basetype
  FROM dom d JOIN pg_type bt ON bt.oid = d.cur WHERE bt.typtype <> 'd'
)
SELECT c.attrelid, c.attnum, c.attname, format_type(c.atttypid, c.atttypmod), c.atttypid, c.attnotnull,
       c.attgenerated <> '',
       COALESCE(b.basetype, eb.basetype || '[]',
         CASE WHEN t.typtype IN ('e', 'c') THEN 'text' WHEN et.typtype IN ('e', 'c') THEN 'text[]' END, '')
FROM cols c
JOIN pg_type t ON t.oid = c.atttypid
LEFT JOIN pg_type et ON t.typcategory = 'A' AND et.oid = t.typelem
LEFT JOIN base b ON b.top = c.atttypid
LEFT JOIN base eb ON eb.top = et.oid
ORDER BY c.attrelid, c.attnum`

// Querier is a connection or a transaction: verify reads the catalog in
// its snapshot's transaction, as of the verify point.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Discover reads the selected tables, their columns and replica identity in
// two catalog queries, whatever the number of tables. It refuses a selection
// holding a table Ardent cannot replicate at all (NoColumns) with a
// *NoColumnsError naming each such table and its remedy, so that no
// connector is created with a table every snapshot attempt would fail on.
func Discover(ctx context.Context, conn Querier, sel Selection) ([]Table, error) {
	tables, err := DiscoverAll(ctx, conn, sel)
	if err != nil {
		return nil, err
	}
	var empty []Table
	for _, t := range tables {
		if t.NoColumns() {
			empty = append(empty, t)
		}
	}
	if len(empty) > 0 {
		return nil, &NoColumnsError{Tables: empty}
	}
	return tables, nil
}

// NoColumnsError is Discover's refusal of tables without columns. Retrying
// cannot help: the operator must add a column or exclude the table.
type NoColumnsError struct {
	Tables []Table
}

func (e *NoColumnsError) Error() string {
	if len(e.Tables) == 1 {
		return fmt.Sprintf("table %s has no columns, so Ardent can neither copy nor key it: %s",
			e.Tables[0].Ident(), NoColumnsRemedy(e.Tables[0]))
	}
	const shown = 5
	var names, flags []string
	for _, t := range e.Tables[:min(len(e.Tables), shown)] {
		names = append(names, t.Ident())
		flags = append(flags, "--exclude-table "+t.FlagName())
	}
	more := ""
	if len(e.Tables) > shown {
		more = fmt.Sprintf(" and %d more", len(e.Tables)-shown)
	}
	return fmt.Sprintf("%d tables have no columns, so Ardent can neither copy nor key them: %s%s; add a column with a primary key to each, or exclude them (%s%s)",
		len(e.Tables), strings.Join(names, ", "), more, strings.Join(flags, " "), more)
}

// NoColumnsRemedy is what an operator can do about a table without columns.
func NoColumnsRemedy(t Table) string {
	return "add a column with a primary key, or exclude the table with --exclude-table " + t.FlagName()
}

// DiscoverAll is Discover without the refusal: it also returns tables that
// cannot be replicated (NoColumns), so preflight can report each one with
// its remedy. Nothing that copies or streams may use its result.
func DiscoverAll(ctx context.Context, conn Querier, sel Selection) ([]Table, error) {
	selNsp, selRel, err := parseAll(sel.Tables)
	if err != nil {
		return nil, err
	}
	excNsp, excRel, err := parseAll(sel.Exclude)
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, tablesQuery, sel.schemas(), selNsp, selRel, excNsp, excRel)
	if err != nil {
		return nil, fmt.Errorf("discover tables: %w", err)
	}
	var tables []Table
	byOID := map[uint32]int{}
	for rows.Next() {
		var (
			t                        Table
			replident                string
			pkName, riName, candName *string
			pkCols, riCols, candCols []string
		)
		if err := rows.Scan(&t.OID, &t.Schema, &t.Name, &t.Kind, &t.Partition, &t.Parent, &replident, &t.Owner,
			&pkName, &pkCols, &riName, &riCols, &candName, &candCols, &t.EstimatedRows, &t.SizeBytes); err != nil {
			rows.Close()
			return nil, fmt.Errorf("discover tables: %w", err)
		}
		classify(&t, replident, pkName, pkCols, riName, riCols, candName, candCols)
		if pkName != nil {
			t.PK = pkCols
		}
		byOID[t.OID] = len(tables)
		tables = append(tables, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("discover tables: %w", err)
	}
	if len(tables) == 0 {
		return tables, nil
	}
	oids := make([]uint32, len(tables))
	for i, t := range tables {
		oids[i] = t.OID
	}
	if err := readColumns(ctx, conn, oids, tables, byOID); err != nil {
		return nil, err
	}
	return tables, nil
}

func readColumns(ctx context.Context, conn Querier, oids []uint32, tables []Table, byOID map[uint32]int) error {
	rows, err := conn.Query(ctx, columnsQuery, oids)
	if err != nil {
		return fmt.Errorf("discover columns: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var oid uint32
		var c Column
		if err := rows.Scan(&oid, &c.Pos, &c.Name, &c.Type, &c.TypeOID, &c.NotNull, &c.Generated, &c.BaseType); err != nil {
			return fmt.Errorf("discover columns: %w", err)
		}
		t := &tables[byOID[oid]]
		for _, k := range t.KeyColumns {
			if k == c.Name {
				c.Key = true
			}
		}
		t.Columns = append(t.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("discover columns: %w", err)
	}
	return nil
}

// classify applies design.md section 4.2. The index arguments are nil unless
// the index is usable as identity (the query filters the rest out).
func classify(t *Table, replident string, pkName *string, pkCols []string, riName *string, riCols []string, candName *string, candCols []string) {
	t.Identity = IdentityNone
	switch replident {
	case "d":
		if pkName != nil {
			t.Identity, t.IdentityIndex, t.KeyColumns = IdentityPrimaryKey, *pkName, pkCols
		}
	case "i":
		// A dropped or unusable USING INDEX index leaves relreplident 'i'
		// with nothing behind it: the server then logs no old key at all.
		if riName != nil {
			t.Identity, t.IdentityIndex, t.KeyColumns = IdentityIndex, *riName, riCols
		}
	case "f":
		// The WAL carries the whole old row, but the rows are still unique
		// by the primary key (or a unique NOT NULL index): the destination
		// keeps that key, so an UPDATE or DELETE finds its row by index.
		t.Identity = IdentityFull
		switch {
		case pkName != nil:
			t.KeyColumns = pkCols
		case candName != nil:
			t.KeyColumns = candCols
		}
	}
	if t.Identity == IdentityNone && candName != nil {
		t.CandidateIndex = *candName
	}
}

// Missing reports the selected schemas and "schema.table" names that do not
// exist (a table counts when it is an ordinary or partitioned table).
func Missing(ctx context.Context, conn *pgx.Conn, sel Selection) (schemas, tables []string, err error) {
	selNsp, selRel, err := parseAll(sel.Tables)
	if err != nil {
		return nil, nil, err
	}
	rows, err := conn.Query(ctx, `
SELECT s FROM unnest($1::text[]) s WHERE NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = s)`, sel.schemas())
	if err != nil {
		return nil, nil, fmt.Errorf("look up selected schemas: %w", err)
	}
	schemas, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, fmt.Errorf("look up selected schemas: %w", err)
	}
	rows, err = conn.Query(ctx, `
SELECT s.nsp || '.' || s.rel FROM unnest($1::text[], $2::text[]) s(nsp, rel)
WHERE NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = s.nsp AND c.relname = s.rel AND c.relkind IN ('r', 'p'))`, selNsp, selRel)
	if err != nil {
		return nil, nil, fmt.Errorf("look up selected tables: %w", err)
	}
	tables, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, fmt.Errorf("look up selected tables: %w", err)
	}
	return schemas, tables, nil
}

// Owners returns, per schema, the roles owning its tables, partitioned
// tables and sequences: the roles whose future objects need ALTER DEFAULT
// PRIVILEGES FOR ROLE. Every requested schema has an entry (maybe empty).
func Owners(ctx context.Context, conn *pgx.Conn, schemas []string) (map[string][]string, error) {
	rows, err := conn.Query(ctx, `
SELECT n.nspname, pg_get_userbyid(c.relowner)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'S')
GROUP BY 1, 2 ORDER BY 1, 2`, schemas)
	if err != nil {
		return nil, fmt.Errorf("look up table owners: %w", err)
	}
	defer rows.Close()
	out := make(map[string][]string, len(schemas))
	for _, s := range schemas {
		out[s] = []string{}
	}
	for rows.Next() {
		var nsp, owner string
		if err := rows.Scan(&nsp, &owner); err != nil {
			return nil, fmt.Errorf("look up table owners: %w", err)
		}
		out[nsp] = append(out[nsp], owner)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up table owners: %w", err)
	}
	return out, nil
}
