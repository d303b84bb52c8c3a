package verify

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"
)

// hashMD5 is the row hash used when the two servers' hashtextextended
// disagree (another architecture or version): slower, the same everywhere.
const (
	hashNative = "hashtextextended(%s, 0)"
	hashMD5    = "('x' || left(md5(%s), 16))::bit(64)::bigint"
)

// comparer reads one table on both sides, in their snapshots.
type comparer struct {
	src, dst  pgx.Tx
	hash      string // hashNative or hashMD5
	chunkRows int
}

type bucket struct {
	rows int64
	sum  string
}

func (c *comparer) compare(ctx context.Context, p plan) (TableResult, error) {
	t0 := time.Now()
	res := TableResult{Table: p.name, Destination: p.dstName, Key: p.key}
	var exists bool
	if err := c.dst.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", p.dst).Scan(&exists); err != nil {
		return res, fmt.Errorf("look up destination table %s: %w", p.dst, err)
	}
	var thresholds []string
	if p.key != "" {
		var err error
		if thresholds, err = c.thresholds(ctx, p); err != nil {
			return res, err
		}
	}
	bucketExpr := "0"
	if len(thresholds) > 0 {
		bucketExpr = "width_bucket(" + p.keyExpr + ", " + arrayLiteral(thresholds, p.arrType) + ")"
	}
	q := fmt.Sprintf("SELECT %s AS b, count(*), coalesce(sum(%s), 0)::text FROM ONLY %%s t GROUP BY 1", bucketExpr, fmt.Sprintf(c.hash, p.row))
	var srcB, dstB map[int]bucket
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		srcB, err = buckets(gctx, c.src, fmt.Sprintf(q, p.src))
		return wrap(err, "read source table", p.src)
	})
	if exists {
		g.Go(func() (err error) {
			dstB, err = buckets(gctx, c.dst, fmt.Sprintf(q, p.dst))
			return wrap(err, "read destination table", p.dst)
		})
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	res.Chunks = len(thresholds) + 1
	var diff []int
	for b, s := range srcB {
		res.SourceRows += s.rows
		if dstB[b] != s {
			diff = append(diff, b)
		}
	}
	for b, d := range dstB {
		res.DestinationRows += d.rows
		if _, ok := srcB[b]; !ok {
			diff = append(diff, b)
		}
	}
	sort.Ints(diff)
	res.DifferentChunks = len(diff)
	res.Equal = exists && len(diff) == 0
	res.Missing = !exists
	if !res.Equal && exists {
		if err := c.narrow(ctx, p, thresholds, diff, srcB, dstB, &res); err != nil {
			return res, err
		}
	}
	res.Duration = time.Since(t0)
	return res, nil
}

// thresholds samples the source's keys (all of them for a small table) and
// picks bucket lower bounds so that each bucket holds about chunkRows rows.
func (c *comparer) thresholds(ctx context.Context, p plan) ([]string, error) {
	var est float64
	if err := c.src.QueryRow(ctx, "SELECT reltuples FROM pg_class WHERE oid = $1::regclass", p.src).Scan(&est); err != nil {
		return nil, fmt.Errorf("estimate the rows of %s: %w", p.src, err)
	}
	n := int(math.Min(float64(maxChunks), est/float64(c.chunkRows)))
	if n <= 1 {
		return nil, nil
	}
	// A small table's keys are all read; a large one's are sampled by
	// block, which costs a few hundred block reads.
	sample := ""
	if est > allKeysUpTo {
		pct := math.Min(100, math.Max(0.001, 100*float64(n*20)/est))
		sample = fmt.Sprintf(" TABLESAMPLE SYSTEM (%g)", pct)
	}
	rows, err := c.src.Query(ctx, fmt.Sprintf("SELECT s.k::text AS v FROM (SELECT %s AS k FROM ONLY %s t%s) s ORDER BY s.k", p.keyExpr, p.src, sample))
	if err != nil {
		return nil, fmt.Errorf("sample the keys of %s: %w", p.src, err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("sample the keys of %s: %w", p.src, err)
	}
	var out []string
	for i := 1; i < n; i++ {
		j := i * len(keys) / n
		if j >= len(keys) {
			break
		}
		if len(out) == 0 || out[len(out)-1] != keys[j] {
			out = append(out, keys[j])
		}
	}
	return out, nil
}

// allKeysUpTo: tables up to this many rows have all their keys read to
// place the chunk bounds.
const allKeysUpTo = 100000

func buckets(ctx context.Context, tx pgx.Tx, q string) (map[int]bucket, error) {
	rows, err := tx.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	out := map[int]bucket{}
	var b int
	var bk bucket
	_, err = pgx.ForEachRow(rows, []any{&b, &bk.rows, &bk.sum}, func() error {
		out[b] = bk
		return nil
	})
	return out, err
}

// narrow reads the first differing buckets row by row on both sides and
// names their ranges and example keys. A keyless table has neither: it
// says how many rows are only on one side.
func (c *comparer) narrow(ctx context.Context, p plan, th []string, diff []int, srcB, dstB map[int]bucket, res *TableResult) error {
	if p.key == "" {
		q := fmt.Sprintf("SELECT %s::text, count(*) FROM ONLY %%s t GROUP BY 1", fmt.Sprintf(c.hash, p.row))
		var s, d map[string]int64
		g, gctx := errgroup.WithContext(ctx)
		g.Go(func() (err error) {
			s, err = counts(gctx, c.src, fmt.Sprintf(q, p.src))
			return wrap(err, "read source table", p.src)
		})
		g.Go(func() (err error) {
			d, err = counts(gctx, c.dst, fmt.Sprintf(q, p.dst))
			return wrap(err, "read destination table", p.dst)
		})
		if err := g.Wait(); err != nil {
			return err
		}
		var onlySrc, onlyDst int64
		for h, n := range s {
			if n > d[h] {
				onlySrc += n - d[h]
			}
		}
		for h, n := range d {
			if n > s[h] {
				onlyDst += n - s[h]
			}
		}
		res.Note = fmt.Sprintf("%d rows only in the source, %d only in the destination (a table without a key has no key ranges to name)", onlySrc, onlyDst)
		return nil
	}
	if len(diff) > maxRanges {
		diff = diff[:maxRanges]
	}
	var preds []string
	for _, b := range diff {
		r := Range{SourceRows: srcB[b].rows, DestinationRows: dstB[b].rows}
		var conds []string
		if b > 0 {
			r.From = th[b-1]
			conds = append(conds, p.keyExpr+" >= "+quoteLiteral(r.From)+"::"+strings.TrimSuffix(p.arrType, "[]"))
		}
		if b < len(th) {
			r.To = th[b]
			conds = append(conds, p.keyExpr+" < "+quoteLiteral(r.To)+"::"+strings.TrimSuffix(p.arrType, "[]"))
		}
		if len(conds) == 0 {
			conds = []string{"true"}
		}
		preds = append(preds, "("+strings.Join(conds, " AND ")+")")
		res.Ranges = append(res.Ranges, r)
	}
	q := fmt.Sprintf("SELECT %s, %s::text FROM ONLY %%s t WHERE %s", p.keyText, fmt.Sprintf(c.hash, p.row), strings.Join(preds, " OR "))
	var s, d map[string]string
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		s, err = hashes(gctx, c.src, fmt.Sprintf(q, p.src))
		return wrap(err, "read source table", p.src)
	})
	g.Go(func() (err error) {
		d, err = hashes(gctx, c.dst, fmt.Sprintf(q, p.dst))
		return wrap(err, "read destination table", p.dst)
	})
	if err := g.Wait(); err != nil {
		return err
	}
	var ex []Difference
	for k, h := range s {
		switch dh, ok := d[k]; {
		case !ok:
			ex = append(ex, Difference{Key: k, Kind: KindMissing})
		case dh != h:
			ex = append(ex, Difference{Key: k, Kind: KindChanged})
		}
	}
	for k := range d {
		if _, ok := s[k]; !ok {
			ex = append(ex, Difference{Key: k, Kind: KindExtra})
		}
	}
	sort.Slice(ex, func(i, j int) bool { return ex[i].Key < ex[j].Key })
	if len(ex) > maxExamples {
		ex = ex[:maxExamples]
	}
	res.Examples = ex
	return nil
}

func counts(ctx context.Context, tx pgx.Tx, q string) (map[string]int64, error) {
	rows, err := tx.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	var h string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&h, &n}, func() error { out[h] = n; return nil })
	return out, err
}

func hashes(ctx context.Context, tx pgx.Tx, q string) (map[string]string, error) {
	rows, err := tx.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	var k, h string
	_, err = pgx.ForEachRow(rows, []any{&k, &h}, func() error { out[k] = h; return nil })
	return out, err
}

func wrap(err error, op, rel string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s %s: %w", op, rel, err)
}
