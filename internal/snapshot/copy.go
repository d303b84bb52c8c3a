package snapshot

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"golang.org/x/time/rate"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
	"github.com/ardent-cdc/ardent/internal/source"
)

// readBufferSize is the socket read size of the workers' connections.
const readBufferSize = 256 << 10

// DefaultParallelism is the most workers Copy starts unless told
// otherwise: the worker's cores, at least 2 and at most 4. Each session
// keeps a source backend, a destination backend and the worker's relay
// busy; more sessions than cores only take turns. Measured on 2 cores
// (bench onboard, one 10M-row table, the real worker): the whole
// onboarding took 20.5 s with 2 sessions against 21.6 s with 4 (medians
// of 3 runs each, two bench runs in the same hour). Before PostgreSQL 16
// the sessions share out whole tables (see SharedLoader).
func DefaultParallelism() int { return min(4, max(2, runtime.NumCPU())) }

// Options configures Copy.
type Options struct {
	// Source is the source database (an ordinary SQL session), parsed
	// once by the caller. It is never logged.
	Source *pgx.ConnConfig
	// Tables to copy, as schema.Discover reports them. Destination columns
	// are written in this column order.
	Tables []schema.Table
	Copier sink.Copier
	// SnapshotName is the exported snapshot (SlotSnapshot.SnapshotName).
	SnapshotName string
	// Slot, when set, must still exist when the copy ends; otherwise the
	// changes after the snapshot may be gone and Copy fails. It also names
	// the workers' sessions (ApplicationName) so a later attempt can end
	// them.
	Slot string
	// SlotLSN, when set, is the slot's consistent point: the slot found at
	// the end must still have it, so a slot recreated by another attempt
	// does not pass for this one.
	SlotLSN pglogrepl.LSN
	// Parallelism is the number of source connections (workers). Zero
	// means min(DefaultParallelism(), ConnectionBudget). The destination
	// sees as many concurrent CopyFrom calls.
	Parallelism int
	// ConnectionBudget is how many source connections the copy may use
	// (the replication connection not included); zero means no limit.
	ConnectionBudget int
	// ChunkPages fixes the CTID range size in heap pages; otherwise ranges
	// are about ChunkBytes (DefaultChunkBytes), shrunk so a single large
	// table still feeds every worker.
	ChunkPages int64
	ChunkBytes int64
	// MaxBytesPerSecond caps the bytes per second read from the source,
	// all workers together; zero or less: no cap.
	MaxBytesPerSecond int64
	// Progress, if set, is called at most every ProgressInterval (default
	// 500 ms) from one goroutine, and once more with Done on success.
	Progress         func(Progress)
	ProgressInterval time.Duration
	Logger           *slog.Logger
}

// TableResult is what was copied of one table.
type TableResult struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	Chunks int    `json:"chunks"`
	// Format is "binary" or "text" (see the package doc on portability).
	Format string `json:"format"`
}

// Result is the outcome of a complete copy.
type Result struct {
	Tables      []TableResult `json:"tables"`
	Rows        int64         `json:"rows"`
	Bytes       int64         `json:"bytes"`
	Chunks      int           `json:"chunks"`
	Parallelism int           `json:"parallelism"`
	Duration    time.Duration `json:"duration"`
	// KeyBuild is the time Run spent building the destination's primary
	// keys after the copy (zero when they were kept during it).
	KeyBuild time.Duration `json:"key_build,omitempty"`
}

func (o Options) parallelism() int {
	p := o.Parallelism
	if p <= 0 {
		p = DefaultParallelism()
	}
	if o.ConnectionBudget > 0 && p > o.ConnectionBudget {
		p = o.ConnectionBudget
	}
	return max(p, 1)
}

// Copy copies every table as of the exported snapshot into the Copier. It
// succeeds only if every row of every table arrived; on any error the
// destination holds a partial copy and the caller restarts from scratch
// (see Run for the retry rule).
func Copy(ctx context.Context, o Options) (Result, error) {
	start := time.Now()
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Copier == nil {
		return Result{}, errors.New("copy snapshot: no copier")
	}
	if o.SnapshotName == "" {
		return Result{}, errors.New("copy snapshot: no snapshot name")
	}
	if o.Source == nil {
		return Result{}, errors.New("copy snapshot: no source connection")
	}
	cfg := o.Source.Copy()
	// Text-format values must parse the same on any destination whatever
	// its session settings: ISO dates, postgres intervals, hex bytea.
	cfg.RuntimeParams["application_name"] = source.SnapshotApplicationName(o.Slot)
	cfg.RuntimeParams["DateStyle"] = "ISO, MDY"
	cfg.RuntimeParams["IntervalStyle"] = "postgres"
	cfg.RuntimeParams["bytea_output"] = "hex"
	cfg.RuntimeParams["extra_float_digits"] = "1"
	// The source sends one small CopyData message per row; reading the
	// socket in large slices instead of pgproto3's 8 KiB ones cuts the
	// read syscalls, the main CPU cost of this process.
	cfg.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		return pgproto3.NewFrontend(bufio.NewReaderSize(r, readBufferSize), w)
	}

	first, err := openWorker(ctx, cfg, o.SnapshotName)
	if err != nil {
		return Result{}, err
	}
	conns := []*pgx.Conn{first}
	defer func() { closeAll(conns) }()

	infos, err := readCatalog(ctx, first, o.Tables)
	if err != nil {
		return Result{}, fmt.Errorf("copy snapshot: %w", err)
	}
	major, err := source.ServerMajor(first.PgConn())
	if err != nil {
		return Result{}, fmt.Errorf("copy snapshot: %w", err)
	}
	p := o.parallelism()
	chunkPages, fixed := o.ChunkPages, o.ChunkPages > 0
	if !fixed {
		cb := o.ChunkBytes
		if cb <= 0 {
			cb = DefaultChunkBytes
		}
		chunkPages = max(cb/8192, 1)
	}
	split, err := splitTables(ctx, o.Copier, fixed, major)
	if err != nil {
		return Result{}, fmt.Errorf("copy snapshot: %w", err)
	}
	jobs, queue, err := buildJobs(o.Tables, infos, chunkPages, fixed, p, split)
	if err != nil {
		return Result{}, fmt.Errorf("copy snapshot: %w", err)
	}
	p = max(min(p, len(queue)), 1)

	// Every worker imports the snapshot before any row moves, so losing the
	// exporting connection later cannot make workers see different data.
	more, err := openWorkers(ctx, cfg, o.SnapshotName, p-1)
	conns = append(conns, more...)
	if err != nil {
		return Result{}, err
	}
	log.Info("snapshot copy starting", "tables", len(jobs), "chunks", len(queue), "parallelism", p, "tables_split", split)

	tr := newTracker(jobs, start)
	stopReporter := startReporter(o, tr)
	err = runWorkers(ctx, conns, queue, o.Copier, tr, newLimiter(o.MaxBytesPerSecond), log)
	stopReporter()
	if err != nil {
		if ctx.Err() != nil {
			// Name why the copy was stopped (e.g. the replication
			// connection was lost), not only the symptom a worker saw.
			return Result{}, fmt.Errorf("copy snapshot stopped: %w: %w", context.Cause(ctx), err)
		}
		return Result{}, err
	}
	if o.Slot != "" {
		if err := checkSlot(ctx, first.PgConn(), o.Slot, o.SlotLSN); err != nil {
			return Result{}, fmt.Errorf("copy snapshot: %w", err)
		}
	}
	if o.Progress != nil {
		o.Progress(tr.snapshot(time.Now(), true))
	}
	res := Result{Parallelism: p, Chunks: len(queue), Duration: time.Since(start)}
	for i, j := range jobs {
		c := &tr.counters[i]
		format := "binary"
		if !j.binary {
			format = "text"
		}
		tres := TableResult{Schema: j.table.Schema, Name: j.table.Name, Rows: c.rows.Load(),
			Bytes: c.bytes.Load(), Chunks: len(j.chunks), Format: format}
		res.Tables = append(res.Tables, tres)
		res.Rows += tres.Rows
		res.Bytes += tres.Bytes
	}
	log.Info("snapshot copy done", "rows", res.Rows, "bytes", res.Bytes, "duration", res.Duration)
	return res, nil
}

// openWorker opens one source connection inside a transaction that has
// imported the snapshot.
func openWorker(ctx context.Context, cfg *pgx.ConnConfig, snapshot string) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return nil, fmt.Errorf("copy snapshot: connect to source: %w", err)
	}
	sql := "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT " + schema.QuoteLiteral(snapshot)
	if _, err := conn.PgConn().Exec(ctx, sql).ReadAll(); err != nil {
		closeAll([]*pgx.Conn{conn})
		return nil, fmt.Errorf("copy snapshot: import snapshot %q: %w", snapshot, err)
	}
	return conn, nil
}

// openWorkers opens n workers concurrently; on error the connections that
// did open are returned too, for the caller to close.
func openWorkers(ctx context.Context, cfg *pgx.ConnConfig, snapshot string, n int) ([]*pgx.Conn, error) {
	conns := make([]*pgx.Conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { conns[i], errs[i] = openWorker(ctx, cfg, snapshot) })
	}
	wg.Wait()
	var opened []*pgx.Conn
	for _, c := range conns {
		if c != nil {
			opened = append(opened, c)
		}
	}
	return opened, errors.Join(errs...)
}

func closeAll(conns []*pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range conns {
		_ = c.Close(ctx)
	}
}

// runWorkers drains the queue with one goroutine per connection and stops
// everything at the first error, which it returns.
func runWorkers(ctx context.Context, conns []*pgx.Conn, queue []chunk, copier sink.Copier, tr *tracker, lim *rate.Limiter, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan chunk, len(queue))
	for _, c := range queue {
		ch <- c
	}
	close(ch)
	index := map[*tableJob]int{}
	for i, j := range tr.jobs {
		index[j] = i
	}
	var (
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	for _, conn := range conns {
		wg.Go(func() {
			for c := range ch {
				if ctx.Err() != nil {
					return
				}
				counters := &tr.counters[index[c.job]]
				if err := copyChunk(ctx, conn, c, copier, counters, lim); err != nil {
					once.Do(func() { firstErr = err })
					cancel()
					return
				}
				counters.pagesDone.Add(c.pages)
				counters.chunksDone.Add(1)
				log.Debug("chunk copied", "table", c.job.table.FullName(), "from_page", c.lo, "to_page", c.hi)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("copy snapshot: %w", err)
	}
	return nil
}

// startReporter calls o.Progress every interval until the returned stop
// function is called; stop waits for the goroutine, so calls never overlap.
func startReporter(o Options, tr *tracker) (stop func()) {
	if o.Progress == nil {
		return func() {}
	}
	interval := o.ProgressInterval
	if interval <= 0 {
		interval = DefaultProgressInterval
	}
	done := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				o.Progress(tr.snapshot(now, false))
			}
		}
	}()
	return func() { close(done); <-exited }
}
