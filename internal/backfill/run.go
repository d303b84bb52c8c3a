package backfill

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ardent-cdc/ardent/internal/replication"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
	"github.com/ardent-cdc/ardent/internal/snapshot"
	"github.com/ardent-cdc/ardent/internal/source"
)

// Destination is what a backfill needs of the destination: the stream's
// writes and checkpoint, the initial copy's COPY and truncation, and the
// per-table states.
type Destination interface {
	sink.Sink
	sink.Copier
	sink.Checkpointer
	sink.Registry
	DeleteCheckpoint(ctx context.Context, connector string) error
}

// Options configure Run.
type Options struct {
	// Source is the connector's source (an ordinary SQL session); the
	// replication connection is derived from it. Never logged.
	Source    *pgx.ConnConfig
	Connector string
	Table     schema.Table
	Sink      Destination
	// Copy limits, as the connector's snapshot has them. Parallelism 0 is
	// DefaultParallelism.
	Parallelism       int
	MaxBytesPerSecond int64
	// SlotTimeout bounds the temporary slot's creation, which waits for
	// the transactions running on the source. Default 5 minutes.
	SlotTimeout time.Duration
	// HandoverTimeout bounds the catch-up after the copy. Default 30 minutes.
	HandoverTimeout time.Duration
	Progress        func(Progress)
	Log             *slog.Logger
}

// Phases of a backfill, in order.
const (
	PhaseCopy     = "copy"
	PhaseCatchUp  = "catch_up"
	PhaseHandover = "handed_over"
)

// Progress is reported while a backfill runs.
type Progress struct {
	Phase         string
	Rows, Bytes   int64
	EstimatedRows int64
	// Consistent is the temporary slot's consistent point, Applied the
	// backfill's checkpoint and Stream the connector's, once known.
	Consistent, Applied, Stream pglogrepl.LSN
}

// Result is a finished backfill.
type Result struct {
	Rows, Bytes int64
	// Consistent is the copy's snapshot point, HandedOver the table's
	// ApplyAfter: the stream applies its changes after it.
	Consistent, HandedOver pglogrepl.LSN
	Duration               time.Duration
}

// DefaultParallelism is a backfill's copy sessions unless told otherwise:
// half the worker's cores. A backfill shares the machine with the stream of
// every other table; measured on 2 cores (make bench, backfill of 5M rows
// under 1,000 TPS to another table), 4 sessions copied no faster than 1
// (1.03 vs 1.01 of the initial snapshot's rows/s) but took the other
// table's lag p99 from 0.27 s to 3.9-5.5 s.
func DefaultParallelism() int { return max(1, runtime.NumCPU()/2) }

// CheckpointName is the backfill's own checkpoint in the destination.
func CheckpointName(connector string) string { return connector + "#backfill" }

// Run backfills one table (see the package doc). On error the table stays
// backfilling (the stream keeps leaving it alone) and a new Run starts over.
func Run(ctx context.Context, o Options) (res Result, err error) {
	start := time.Now()
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.SlotTimeout <= 0 {
		o.SlotTimeout = 5 * time.Minute
	}
	if o.HandoverTimeout <= 0 {
		o.HandoverTimeout = 30 * time.Minute
	}
	if o.Parallelism <= 0 {
		o.Parallelism = DefaultParallelism()
	}
	if o.Source == nil || o.Sink == nil || o.Connector == "" || o.Table.Name == "" {
		return Result{}, errors.New("backfill: source, sink, connector and table are required")
	}
	t := o.Table
	log := o.Log.With("connector", o.Connector, "table", t.FullName())
	report := func(p Progress) {
		if o.Progress != nil {
			o.Progress(p)
		}
	}

	// 1-2. Backfilling from the next stream transaction; an empty
	// destination table.
	if err := o.Sink.SetTableStates(ctx, o.Connector, []sink.TableState{{Schema: t.Schema, Name: t.Name, State: sink.TableBackfilling}}, false); err != nil {
		return Result{}, fmt.Errorf("backfill %s: %w", t.FullName(), err)
	}
	if err := o.Sink.Prepare(ctx, o.Connector, []schema.Table{t}); err != nil {
		return Result{}, fmt.Errorf("backfill %s: %w", t.FullName(), err)
	}
	if err := o.Sink.Truncate(ctx, o.Connector, []schema.Table{t}); err != nil {
		return Result{}, fmt.Errorf("backfill %s: %w", t.FullName(), err)
	}
	// Like the initial snapshot, the copy loads the emptied table without
	// its primary key and builds the key once after it (snapshot.KeyDeferrer):
	// nothing else writes the table meanwhile (the stream leaves a
	// backfilling table's changes to the catch-up, which starts after the
	// build), and a failed attempt's retry truncates it again, which puts
	// the key back before dropping it.
	deferrer, deferKeys := o.Sink.(snapshot.KeyDeferrer)
	if deferKeys {
		if err := deferrer.DropKeys(ctx, o.Connector, []schema.Table{t}); err != nil {
			return Result{}, fmt.Errorf("backfill %s: defer the destination key: %w", t.FullName(), err)
		}
	}

	// 3. The temporary slot and its snapshot.
	slot := slotName()
	repl, err := pgconn.ConnectConfig(ctx, source.ReplicationConfig(&o.Source.Config, source.SnapshotApplicationName(slot)))
	if err != nil {
		return Result{}, fmt.Errorf("backfill %s: open replication connection: %w", t.FullName(), err)
	}
	defer repl.Close(context.WithoutCancel(ctx)) // the slot goes with it
	sctx, cancel := context.WithTimeout(ctx, o.SlotTimeout)
	created, err := pglogrepl.CreateReplicationSlot(sctx, repl, slot, snapshot.OutputPlugin,
		pglogrepl.CreateReplicationSlotOptions{Temporary: true, SnapshotAction: "EXPORT_SNAPSHOT"})
	cancel()
	if err != nil {
		return Result{}, fmt.Errorf("backfill %s: create temporary slot: %w", t.FullName(), err)
	}
	c, err := pglogrepl.ParseLSN(created.ConsistentPoint)
	if err != nil {
		return Result{}, fmt.Errorf("backfill %s: consistent point: %w", t.FullName(), err)
	}
	res.Consistent = c
	log.Info("backfill: temporary slot created", "slot", slot, "consistent_lsn", c.String())

	// 4a. The copy, under the slot's snapshot.
	cp, err := snapshot.Copy(ctx, snapshot.Options{
		Source: o.Source, Tables: []schema.Table{t}, Copier: o.Sink, SnapshotName: created.SnapshotName,
		Slot: slot, SlotLSN: c, Parallelism: o.Parallelism, MaxBytesPerSecond: o.MaxBytesPerSecond, Logger: log,
		Progress: func(p snapshot.Progress) {
			report(Progress{Phase: PhaseCopy, Rows: p.Rows, Bytes: p.Bytes, EstimatedRows: p.EstimatedRows, Consistent: c})
		},
	})
	if err != nil {
		return Result{}, fmt.Errorf("backfill %s: %w", t.FullName(), err)
	}
	res.Rows, res.Bytes = cp.Rows, cp.Bytes
	log.Info("backfill: copied", "rows", cp.Rows, "bytes", cp.Bytes, "duration", cp.Duration)
	if deferKeys {
		start := time.Now()
		if err := deferrer.BuildKeys(ctx, o.Connector, []schema.Table{t}, 1); err != nil {
			return Result{}, fmt.Errorf("backfill %s: build the destination key: %w", t.FullName(), err)
		}
		log.Info("backfill: key built", "duration", time.Since(start))
	}

	// 4b. The catch-up on the same connection, under its own checkpoint.
	own := CheckpointName(o.Connector)
	if err := o.Sink.ResetCheckpoint(ctx, own, c); err != nil {
		return Result{}, fmt.Errorf("backfill %s: %w", t.FullName(), err)
	}
	defer func() {
		if err == nil {
			err = o.Sink.DeleteCheckpoint(context.WithoutCancel(ctx), own)
		}
	}()
	gate := &gatedSink{Destination: o.Sink}
	st, err := replication.New(replication.Options{
		Source: o.Source, Slot: slot, Connector: own, Tables: []schema.Table{t}, Sink: gate, Log: log,
		HeartbeatInterval: time.Second, StatusInterval: time.Second,
	})
	if err != nil {
		return Result{}, fmt.Errorf("backfill %s: %w", t.FullName(), err)
	}
	if err := pglogrepl.StartReplication(ctx, repl, slot, c,
		pglogrepl.StartReplicationOptions{PluginArgs: replication.PluginArgs([]schema.Table{t})}); err != nil {
		return Result{}, fmt.Errorf("backfill %s: start the temporary slot: %w", t.FullName(), err)
	}
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	streamErr := make(chan error, 1)
	go func() { streamErr <- st.SessionOn(cctx, repl, c) }()

	// 5. Handover, once the backfill has caught up with the stream.
	deadline := time.Now().Add(o.HandoverTimeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-streamErr:
			if ctx.Err() != nil {
				return Result{}, ctx.Err()
			}
			return Result{}, fmt.Errorf("backfill %s: catch-up stream ended: %w", t.FullName(), err)
		case <-ctx.Done():
			return Result{}, ctx.Err()
		case <-tick.C:
		}
		q, err := o.Sink.DurableLSN(ctx, own)
		if err != nil {
			return Result{}, fmt.Errorf("backfill %s: %w", t.FullName(), err)
		}
		p, err := o.Sink.DurableLSN(ctx, o.Connector)
		if err != nil {
			return Result{}, fmt.Errorf("backfill %s: %w", t.FullName(), err)
		}
		report(Progress{Phase: PhaseCatchUp, Rows: res.Rows, Bytes: res.Bytes, EstimatedRows: res.Rows, Consistent: c, Applied: q, Stream: p})
		if q < p {
			if time.Now().After(deadline) {
				return Result{}, fmt.Errorf("backfill %s: the catch-up did not reach the stream in %s (backfill at %s, stream at %s)",
					t.FullName(), o.HandoverTimeout, q, p)
			}
			continue
		}
		ok, at, err := gate.handover(ctx, func() (bool, pglogrepl.LSN, error) {
			// No catch-up write runs now: q is final until the handover
			// is decided, and after it none will.
			if q, err = o.Sink.DurableLSN(ctx, own); err != nil {
				return false, 0, err
			}
			return o.Sink.Handover(ctx, o.Connector, t.Schema, t.Name, q)
		})
		if err != nil {
			return Result{}, fmt.Errorf("backfill %s: %w", t.FullName(), err)
		}
		if !ok {
			log.Debug("backfill: handover deferred", "backfill", q.String(), "stream", at.String())
			continue
		}
		stop()
		<-streamErr
		res.HandedOver, res.Duration = q, time.Since(start)
		report(Progress{Phase: PhaseHandover, Rows: res.Rows, Bytes: res.Bytes, EstimatedRows: res.Rows, Consistent: c, Applied: q, Stream: at})
		log.Info("backfill: handed over to the stream", "apply_after", q.String(), "rows", res.Rows, "duration", res.Duration)
		return res, nil
	}
}

// slotName is a fresh temporary slot name: temporary slots of concurrent
// backfills (and of a crashed attempt, until its session ends) must not
// collide.
func slotName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "ardent_backfill_" + hex.EncodeToString(b)
}

// errHandedOver refuses the catch-up's writes once the table is the
// stream's.
var errHandedOver = errors.New("the table was handed over to the stream")

// gatedSink serialises the catch-up's writes with the handover: while the
// handover is decided no write runs (so the backfill's checkpoint is the
// exact point up to which it applied), and once it succeeded none runs
// again (a write in flight, or a split transaction left open, is rolled
// back), so nothing after the handover point is applied by both.
type gatedSink struct {
	Destination
	mu     sync.Mutex
	closed bool
}

func (g *gatedSink) Write(ctx context.Context, connector string, b sink.Batch) (pglogrepl.LSN, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return 0, errHandedOver
	}
	return g.Destination.Write(ctx, connector, b)
}

func (g *gatedSink) handover(ctx context.Context, f func() (bool, pglogrepl.LSN, error)) (bool, pglogrepl.LSN, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ok, at, err := f()
	if ok {
		g.closed = true
	}
	return ok, at, err
}
