package snapshot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/schema"
)

const (
	// DefaultChunkBytes bounds one CTID range; small enough that a large
	// table feeds every worker, large enough that per-COPY overhead vanishes.
	DefaultChunkBytes = 64 << 20
	// minChunkPages stops the split below ~8 MB, where it stops paying.
	minChunkPages = 1024
	// tidRangeMajor is the first PostgreSQL major with TID range scans;
	// before it every ctid range would be a full sequential scan.
	tidRangeMajor = 14
)

// ErrSchemaChanged marks a table or column that discovery reported but the
// source no longer has: retrying the same attempt cannot help, discovery
// must run again.
var ErrSchemaChanged = errors.New("source schema changed since discovery")

// tableJob is one table to copy and how.
type tableJob struct {
	idx    int // index into Options.Tables, for results in input order
	table  schema.Table
	binary bool
	pages  int64 // heap pages when planned
	chunks []chunk
}

// chunk is one COPY: a CTID page range of a table, or the whole table.
type chunk struct {
	job    *tableJob
	lo, hi int64 // pages [lo, hi); hi < 0 means no upper bound
	whole  bool
	pages  int64
}

// tableInfo is what the source catalog says about one table.
type tableInfo struct {
	exists   bool
	pages    int64
	portable map[string]bool // column name -> binary form portable
}

// skipPartitionParents drops partitioned tables whose leaves are also in the
// list, so each row is copied exactly once, through its leaf.
func skipPartitionParents(tables []schema.Table) []int {
	parents := map[string]bool{}
	for _, t := range tables {
		if t.Partition && t.Parent != "" {
			parents[t.Parent] = true
		}
	}
	var keep []int
	for i, t := range tables {
		if t.Kind == "p" && (parents[t.FullName()] || t.Partition) {
			continue
		}
		keep = append(keep, i)
	}
	return keep
}

// splitPages cuts a table of pages heap pages into ranges of about
// chunkPages; the last range is open-ended so rows on pages added since the
// size was read are never missed.
func splitPages(pages, chunkPages int64) [][2]int64 {
	if chunkPages <= 0 || pages <= chunkPages {
		return nil
	}
	var out [][2]int64
	for lo := int64(0); lo < pages; lo += chunkPages {
		hi := lo + chunkPages
		if hi >= pages {
			hi = -1
		}
		out = append(out, [2]int64{lo, hi})
		if hi < 0 {
			break
		}
	}
	return out
}

// chunkPagesFor picks a table's chunk size: the configured size, shrunk so
// one large table alone still gives every worker several chunks.
func chunkPagesFor(pages, configured int64, parallelism int) int64 {
	if parallelism < 1 {
		parallelism = 1
	}
	target := (pages + int64(4*parallelism) - 1) / int64(4*parallelism)
	if target < minChunkPages {
		target = minChunkPages
	}
	if target > configured {
		target = configured
	}
	if target < 1 {
		target = 1
	}
	return target
}

// buildJobs turns catalog facts into jobs and the queue of chunks, the
// largest tables' chunks first so the long tail is short.
func buildJobs(tables []schema.Table, infos []tableInfo, chunkPages int64, fixedChunk bool, parallelism int, split bool) ([]*tableJob, []chunk, error) {
	var jobs []*tableJob
	for _, i := range skipPartitionParents(tables) {
		t, info := tables[i], infos[i]
		if !info.exists {
			return nil, nil, fmt.Errorf("table %s: not found in source: %w", t.Ident(), ErrSchemaChanged)
		}
		if len(t.Columns) == 0 {
			return nil, nil, fmt.Errorf("table %s: no columns", t.Ident())
		}
		binary := true
		for _, c := range t.Columns {
			p, ok := info.portable[c.Name]
			if !ok {
				return nil, nil, fmt.Errorf("table %s: column %q not found in source: %w", t.Ident(), c.Name, ErrSchemaChanged)
			}
			binary = binary && p
		}
		j := &tableJob{idx: i, table: t, binary: binary, pages: info.pages}
		size := chunkPages
		if !fixedChunk {
			size = chunkPagesFor(info.pages, chunkPages, parallelism)
		}
		var ranges [][2]int64
		if split && t.Kind != "p" {
			ranges = splitPages(info.pages, size)
		}
		if len(ranges) == 0 {
			j.chunks = []chunk{{job: j, whole: true, pages: info.pages}}
		}
		for _, r := range ranges {
			p := r[1] - r[0]
			if r[1] < 0 {
				p = info.pages - r[0]
			}
			j.chunks = append(j.chunks, chunk{job: j, lo: r[0], hi: r[1], pages: p})
		}
		jobs = append(jobs, j)
	}
	order := append([]*tableJob(nil), jobs...)
	sort.SliceStable(order, func(a, b int) bool { return order[a].pages > order[b].pages })
	var queue []chunk
	for _, j := range order {
		for k := range j.chunks {
			j.chunks[k].job = j
			queue = append(queue, j.chunks[k])
		}
	}
	return jobs, queue, nil
}

// copySQL is the COPY a worker runs for one chunk. It always selects the
// columns by name (the destination's column order is the discovered one,
// and generated columns are only readable this way before PostgreSQL 18)
// and reads ONLY the table itself so inheritance children are not copied
// twice; a partitioned root is read whole.
func copySQL(c chunk) string {
	t := c.job.table
	cols := make([]string, len(t.Columns))
	for i, col := range t.Columns {
		cols[i] = schema.QuoteIdent(col.Name)
	}
	var b strings.Builder
	if c.whole && tableForm(t) {
		// A whole plain table: COPY reads the heap itself, without
		// the executor a query needs, and like ONLY it leaves
		// inheritance children out.
		b.WriteString("COPY ")
		b.WriteString(t.Ident())
		b.WriteString(" (")
		b.WriteString(strings.Join(cols, ", "))
		b.WriteString(")")
		b.WriteString(copyFormat(c.job.binary))
		return b.String()
	}
	b.WriteString("COPY (SELECT ")
	b.WriteString(strings.Join(cols, ", "))
	b.WriteString(" FROM ")
	if t.Kind != "p" {
		b.WriteString("ONLY ")
	}
	b.WriteString(t.Ident())
	if !c.whole {
		fmt.Fprintf(&b, " WHERE ctid >= '(%d,0)'", c.lo)
		if c.hi >= 0 {
			fmt.Fprintf(&b, " AND ctid < '(%d,0)'", c.hi)
		}
	}
	b.WriteString(")")
	b.WriteString(copyFormat(c.job.binary))
	return b.String()
}

// tableForm tells whether a table can be read by COPY table TO: a plain
// table (relkind r; a partitioned root cannot) without generated columns
// (COPY refuses to name them before PostgreSQL 18). Anything else, a
// table of unknown kind included, is read through a query.
func tableForm(t schema.Table) bool {
	if t.Kind != "r" {
		return false
	}
	for _, c := range t.Columns {
		if c.Generated {
			return false
		}
	}
	return true
}

func copyFormat(binary bool) string {
	if binary {
		return " TO STDOUT (FORMAT binary)"
	}
	return " TO STDOUT (FORMAT text)"
}

// sizesSQL reads each table's heap size in pages; to_regclass parses the
// quoted names and yields NULL for a table that vanished.
const sizesSQL = `
SELECT t.ord, to_regclass(t.n) IS NOT NULL,
       coalesce(pg_relation_size(to_regclass(t.n)), 0) / current_setting('block_size')::bigint
  FROM unnest($1::text[]) WITH ORDINALITY AS t(n, ord)`

// portableSQL decides per column whether its binary COPY form can be read
// by the destination type. Domains are resolved to their base type first.
// Built-in types (oid < 16384) with a send function have the same binary
// form everywhere; enums send their label, which text and the same enum
// both read. Everything else embeds database-specific OIDs (arrays of
// enums or domains, composites) or is an extension type: text format.
const portableSQL = `
WITH RECURSIVE cols AS (
  SELECT t.ord, a.attname, a.atttypid AS typ
    FROM unnest($1::text[]) WITH ORDINALITY AS t(n, ord)
    JOIN pg_attribute a ON a.attrelid = to_regclass(t.n) AND a.attnum > 0 AND NOT a.attisdropped
), base(typ, oid) AS (
  SELECT DISTINCT typ, typ FROM cols
  UNION ALL
  SELECT b.typ, ty.typbasetype FROM base b JOIN pg_type ty ON ty.oid = b.oid AND ty.typtype = 'd'
)
SELECT c.ord, c.attname, ty.typtype = 'e' OR (ty.oid < 16384 AND ty.typsend::oid <> 0)
  FROM cols c
  JOIN base b ON b.typ = c.typ
  JOIN pg_type ty ON ty.oid = b.oid AND ty.typtype <> 'd'`

// readCatalog fetches sizes and column portability for all tables in two
// round trips.
func readCatalog(ctx context.Context, conn *pgx.Conn, tables []schema.Table) ([]tableInfo, error) {
	names := make([]string, len(tables))
	infos := make([]tableInfo, len(tables))
	for i, t := range tables {
		names[i] = t.Ident()
		infos[i].portable = map[string]bool{}
	}
	rows, err := conn.Query(ctx, sizesSQL, names)
	if err != nil {
		return nil, fmt.Errorf("read table sizes: %w", err)
	}
	var ord, pages int64
	var exists bool
	if _, err := pgx.ForEachRow(rows, []any{&ord, &exists, &pages}, func() error {
		infos[ord-1].exists, infos[ord-1].pages = exists, pages
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read table sizes: %w", err)
	}
	rows, err = conn.Query(ctx, portableSQL, names)
	if err != nil {
		return nil, fmt.Errorf("read column types: %w", err)
	}
	var col string
	var portable bool
	if _, err := pgx.ForEachRow(rows, []any{&ord, &col, &portable}, func() error {
		infos[ord-1].portable[col] = portable
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read column types: %w", err)
	}
	return infos, nil
}
