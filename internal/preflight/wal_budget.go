package preflight

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// How the copy rate is timed: a bounded read of the largest selected table.
const (
	// copySampleBytes of heap pages are read, from the middle of the table.
	copySampleBytes = 8 << 20
	// copySampleTimeout bounds the read (statement_timeout).
	copySampleTimeout = time.Second
	// minCopySample: below this the largest table reads too fast to time
	// (the round trip dominates), and the whole selection is small anyway
	// unless it has thousands of tables: DefaultCopyRate is used.
	minCopySample = 1 << 20
)

// walSample is the source's WAL insert position at a moment of the
// server's clock. The insert position, not pg_current_wal_lsn() (the
// write position, which lags by whatever sits in the WAL buffers), is what
// the slot will pin.
type walSample struct {
	lsn int64
	at  time.Time
	err error
}

const walSampleQuery = `SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint, clock_timestamp()`

func (r *runner) sampleWAL(ctx context.Context) walSample {
	pctx, cancel := r.probeCtx(ctx)
	defer cancel()
	var s walSample
	s.err = r.conn.QueryRow(pctx, walSampleQuery).Scan(&s.lsn, &s.at)
	return s
}

// startWALSample opens the WAL rate's sample window right after the
// server's facts are read, so that the other checks run inside it and
// wal_budget waits only for what remains of it.
func (r *runner) startWALSample(ctx context.Context) {
	if !r.facts.inRecovery {
		r.walStart = r.sampleWAL(ctx)
	}
}

// checkWalBudget estimates the WAL the slot will retain during the initial
// snapshot (WALBudget). It reads and waits only: a read-only transaction
// for the copy sample, catalog functions for the sizes, no slot.
func (r *runner) checkWalBudget(ctx context.Context) {
	unverified := func(msg, remedy string) {
		if remedy == "" {
			remedy = "fix what the message says, or accept it with --accept-unverified " + CheckWalBudget
		}
		r.set(CheckWalBudget, StatusUnverified, msg, remedy)
	}
	switch {
	case r.facts.inRecovery:
		unverified("not checked: the server is a read replica (is_writer); the WAL budget is measured on the primary", "")
		return
	case r.walStart.err != nil:
		unverified("cannot read the WAL position: "+r.errText(r.walStart.err), r.walGrant(r.walStart.err))
		return
	case r.tableRep == nil: // set once the selection was discovered
		unverified("not checked: the selection could not be discovered (can_read_tables)", "")
		return
	}
	b := WALBudget{WALDirBytes: -1}
	var blockSize int64
	pctx, cancel := r.probeCtx(ctx)
	err := r.conn.QueryRow(pctx, `
SELECT (SELECT setting::bigint FROM pg_settings WHERE name = 'max_slot_wal_keep_size'),
       (SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size'),
       current_setting('block_size')::bigint`).Scan(&b.KeepMB, &b.SegmentBytes, &blockSize)
	cancel()
	if err != nil {
		unverified("cannot read max_slot_wal_keep_size: "+r.errText(err), "")
		return
	}
	largest, err := r.selectionSize(ctx, &b)
	if err != nil {
		unverified("cannot read the selected tables' sizes: "+r.errText(err), "")
		return
	}
	if b.CopyBytes == 0 {
		c := b.Check() // nothing to copy: the rate does not matter
		r.set(CheckWalBudget, c.Status, c.Message, c.Remedy)
		return
	}

	// Minutes of the server's own history answer better than a second and
	// a half of it, and without waiting.
	if w, ok := r.checkpointWindow(ctx); ok {
		b.WALBytes, b.Window, b.WindowFrom = w.bytes, w.span(), "since the last checkpoint"
		b.CopyRate, b.CopyRateFrom = r.copyRate(ctx, largest, blockSize)
		r.readWALDir(ctx, &b)
		c := b.Check()
		r.set(CheckWalBudget, c.Status, c.Message, c.Remedy)
		return
	}

	// The copy sample is left out of the WAL window: on a server with data
	// checksums or wal_log_hints, reading pages whose hint bits are not set
	// yet writes full-page images, WAL of preflight's own making.
	before := r.sampleWAL(ctx)
	b.CopyRate, b.CopyRateFrom = r.copyRate(ctx, largest, blockSize)
	after := r.sampleWAL(ctx)
	if err := errors.Join(before.err, after.err); err != nil {
		unverified("cannot read the WAL position: "+r.errText(err), r.walGrant(err))
		return
	}
	sofar := before.at.Sub(r.walStart.at)
	if wait := r.opts.WALSampleInterval - sofar; wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			unverified("interrupted while sampling the WAL rate: "+r.errText(ctx.Err()), "")
			return
		case <-t.C:
		}
	}
	end := r.sampleWAL(ctx)
	if end.err != nil {
		unverified("cannot read the WAL position: "+r.errText(end.err), r.walGrant(end.err))
		return
	}
	b.WALBytes = (before.lsn - r.walStart.lsn) + (end.lsn - after.lsn)
	b.Window = sofar + end.at.Sub(after.at)
	if b.Window <= 0 {
		unverified("the WAL rate's sample window was empty (the server's clock went back?)", "run preflight again")
		return
	}
	r.readWALDir(ctx, &b)
	c := b.Check()
	r.set(CheckWalBudget, c.Status, c.Message, c.Remedy)
}

// copyRate is the sampled copy rate, capped at the snapshot's rate limit.
func (r *runner) copyRate(ctx context.Context, largest sizedTable, blockSize int64) (float64, string) {
	rate, from := r.sampleCopyRate(ctx, largest, blockSize)
	if limit := float64(r.opts.CopyRateLimit); limit > 0 && rate > limit {
		rate = limit
		from += fmt.Sprintf("; capped at %s/s, the snapshot's rate limit", humanBytes(limit))
	}
	return rate, from
}

// walGrant is the remedy for a WAL position the role may not read (an
// administrator revoked the function from PUBLIC).
func (r *runner) walGrant(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42501" {
		return fmt.Sprintf("GRANT EXECUTE ON FUNCTION pg_current_wal_insert_lsn() TO %s; or accept it with --accept-unverified %s",
			quoteIdent(r.role), CheckWalBudget)
	}
	return ""
}

// sizedTable is a selected table's size on disk: heap and TOAST, which is
// what COPY reads.
type sizedTable struct {
	ident, name string // quoted for SQL; schema.table for messages
	heap, toast int64
}

func (t sizedTable) total() int64 { return t.heap + t.toast }

// maxExactSizes bounds the tables whose size is read from disk: each
// pg_relation_size locks its table until the statement ends, and thousands
// of locks in one statement overflow a default lock table.
const maxExactSizes = 200

// sizesQuery sums the selected tables' sizes, heap and TOAST, and names
// the largest, from the statistics VACUUM and ANALYZE keep in pg_class (no
// lock, no file system call: 10,000 tables in milliseconds). A table never
// vacuumed or analyzed (reltuples < 0) has no statistics: its size is read
// from disk, for at most $2 of them; the rest are counted as unsized.
const sizesQuery = `
WITH sel AS (
  SELECT c.oid, c.relpages, c.reltuples, c.reltoastrelid,
         row_number() OVER (PARTITION BY c.reltuples < 0 ORDER BY c.oid) AS n
  FROM unnest($1::oid[]) AS u(oid) JOIN pg_class c ON c.oid = u.oid),
sized AS (
  SELECT s.oid, s.reltuples >= 0 OR s.n <= $2 AS sized,
         CASE WHEN s.reltuples >= 0 THEN s.relpages::bigint * current_setting('block_size')::bigint
              WHEN s.n <= $2 THEN COALESCE(pg_relation_size(s.oid), 0) ELSE 0 END AS heap,
         CASE WHEN t.oid IS NULL THEN 0
              WHEN s.reltuples >= 0 THEN t.relpages::bigint * current_setting('block_size')::bigint
              WHEN s.n <= $2 THEN COALESCE(pg_relation_size(t.oid), 0) ELSE 0 END AS toast
  FROM sel s LEFT JOIN pg_class t ON t.oid = s.reltoastrelid)
SELECT COALESCE((SELECT sum(heap + toast) FROM sized), 0)::bigint,
       (SELECT count(*) FROM sized WHERE NOT sized)::int,
       l.oid, COALESCE(l.heap, 0), COALESCE(l.toast, 0)
FROM (SELECT) one LEFT JOIN LATERAL (SELECT oid, heap, toast FROM sized ORDER BY heap + toast DESC LIMIT 1) l ON true`

// selectionSize sums the selected tables' sizes into b and returns the
// largest, in one query whatever the number of tables.
func (r *runner) selectionSize(ctx context.Context, b *WALBudget) (sizedTable, error) {
	oids := make([]uint32, len(r.tables))
	for i, t := range r.tables {
		oids[i] = t.OID
	}
	pctx, cancel := r.probeCtx(ctx)
	defer cancel()
	var largest sizedTable
	var oid *uint32
	err := r.conn.QueryRow(pctx, sizesQuery, oids, maxExactSizes).Scan(&b.CopyBytes, &b.UnsizedTables, &oid, &largest.heap, &largest.toast)
	if err != nil || oid == nil {
		return sizedTable{}, err
	}
	for _, t := range r.tables {
		if t.OID == *oid {
			largest.ident, largest.name = t.Ident(), printable(t.FullName())
		}
	}
	return largest, nil
}

// sampleCopyRate times a read of up to copySampleBytes of t's heap pages
// (a TID range from the middle of the table, with the TOAST of their rows)
// in a read-only transaction bounded by statement_timeout, and
// extrapolates to heap and TOAST bytes per second.
//
// The estimate is a lower bound on the snapshot's duration, and so on the
// WAL retained, more often than an upper bound: one session reads into a
// client that discards the rows, partly from cache, while the real copy
// also writes every row into the destination, which is usually the slower
// end. The snapshot's parallel sessions (up to 4) work the other way only
// when the source alone is the bottleneck. The warning at half the budget
// is the headroom for that.
func (r *runner) sampleCopyRate(ctx context.Context, t sizedTable, blockSize int64) (float64, string) {
	if t.total() < minCopySample {
		return DefaultCopyRate, fmt.Sprintf("assumed (the largest table, %s, is too small to time)", t.name)
	}
	pctx, cancel := context.WithTimeout(ctx, copySampleTimeout+r.opts.ProbeTimeout)
	defer cancel()
	fallback := func(err error) (float64, string) {
		return DefaultCopyRate, fmt.Sprintf("assumed (timing a read of %s failed: %s)", t.name, r.errText(err))
	}
	tx, err := r.conn.BeginTx(pctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return fallback(err)
	}
	defer func() { _ = tx.Rollback(pctx) }()
	if _, err := tx.Exec(pctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", copySampleTimeout.Milliseconds())); err != nil {
		return fallback(err)
	}
	// The statistics may be stale: the TID range needs the pages there are.
	var heap int64
	if err := tx.QueryRow(pctx, `SELECT pg_relation_size($1::regclass)`, t.ident).Scan(&heap); err != nil {
		return fallback(err)
	}
	pages := heap / max(blockSize, 1)
	if pages == 0 {
		return DefaultCopyRate, fmt.Sprintf("assumed (the largest table, %s, has no heap pages to time)", t.name)
	}
	k := min(pages, copySampleBytes/blockSize)
	first := (pages - k) / 2
	var w byteCounter
	start := time.Now()
	_, err = tx.Conn().PgConn().CopyTo(pctx, &w, fmt.Sprintf(
		`COPY (SELECT * FROM %s WHERE ctid >= '(%d,0)'::tid AND ctid < '(%d,0)'::tid) TO STDOUT (FORMAT binary)`,
		t.ident, first, first+k))
	elapsed := time.Since(start).Seconds()
	// The rows of k heap pages bring their share of the TOAST with them.
	read := float64(k*blockSize) * float64(t.total()) / float64(max(t.heap, 1))
	if t.heap == 0 {
		read = float64(k * blockSize)
	}
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return read / elapsed, fmt.Sprintf("measured on %s: %s in %s", t.name,
			humanBytes(read), humanDuration(time.Duration(elapsed*float64(time.Second))))
	case errors.As(err, &pgErr) && pgErr.Code == "57014" && w > 0:
		// Slower than copySampleBytes per copySampleTimeout: what arrived
		// (COPY's binary form, about as large as the heap it came from) is
		// the rate.
		return float64(w) / elapsed, fmt.Sprintf("measured on %s: %s in %s, cut short", t.name,
			humanBytes(float64(w)), humanDuration(time.Duration(elapsed*float64(time.Second))))
	default:
		return fallback(err)
	}
}

type byteCounter int64

func (c *byteCounter) Write(p []byte) (int, error) {
	*c += byteCounter(len(p))
	return len(p), nil
}

// readWALDir reads pg_wal's size where the role may (pg_monitor or
// superuser); elsewhere the message says it was not compared.
func (r *runner) readWALDir(ctx context.Context, b *WALBudget) {
	pctx, cancel := r.probeCtx(ctx)
	defer cancel()
	var size int64
	err := r.conn.QueryRow(pctx, `SELECT COALESCE(sum(size), 0)::bigint FROM pg_ls_waldir()`).Scan(&size)
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		b.WALDirBytes = size
	case errors.As(err, &pgErr) && pgErr.Code == "42501":
		b.WALDirError = "pg_ls_waldir() needs pg_monitor or superuser"
	default:
		b.WALDirError = r.errText(err)
	}
}
