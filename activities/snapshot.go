package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/admission"
	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/internal/sink"
	"github.com/ardent-cdc/ardent/internal/snapshot"
)

// Snapshotter takes the initial snapshot.
type Snapshotter struct {
	Catalog           *catalog.Store
	Keyring           *secrets.Keyring
	Sinks             map[string]SinkFactory
	Parallelism       int
	HeartbeatInterval time.Duration
	// Report sends the copy's progress to the workflow every
	// ProgressInterval (nil: none; default contract.ProgressInterval).
	Report           Reporter
	ProgressInterval time.Duration
	// Scheduler bounds the copies running at once (per worker, per source
	// host); nil: no bound. Shared with Tables' backfills.
	Scheduler *admission.Scheduler
	Metrics   *Metrics
	Log       *slog.Logger
}

// maxActiveTables bounds the per-table detail in a heartbeat.
const maxActiveTables = 8

// Snapshot creates the slot with an exported snapshot and copies every
// table while holding it. Every attempt starts clean (snapshot.Run drops a
// slot left by a failed attempt and truncates the destination), so a retry
// after a crash or a lost connection ends exact.
func (s *Snapshotter) Snapshot(ctx context.Context, in SnapshotInput) (*SnapshotResult, error) {
	at := site{activity: SnapshotName, connector: in.Name, metrics: s.Metrics}
	res, err := s.run(ctx, in, &at.passwords)
	return res, boundary(err, at)
}

func (s *Snapshotter) run(ctx context.Context, in SnapshotInput, pw *[]string) (*SnapshotResult, error) {
	env, err := loadConnector(ctx, s.Catalog, s.Keyring, in.Name, pw)
	if err != nil {
		return nil, err
	}
	log := activityLog(ctx, s.log()).With("connector", in.Name)
	conn := env.conn
	// Wait for the permit before opening anything on either side: a
	// hundred queued connectors hold no destination session.
	hb := startHeartbeat(ctx, s.HeartbeatInterval, SnapshotProgress{Tables: len(conn.Schema)})
	defer hb.close()
	release, err := admit(ctx, s.Scheduler, env.src, s.Metrics, s.Report, func(q *contract.QueueWait) contract.ProgressReport {
		p := SnapshotProgress{Tables: len(conn.Schema), Queued: q}
		hb.set(p)
		return contract.ProgressReport{Snapshot: &p, At: time.Now()}
	}, log)
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil, context.Canceled
		}
		return nil, err
	}
	defer release()
	// Always, not only after a wait here: the workflow may still show the
	// queue of an attempt that died waiting.
	start := SnapshotProgress{Tables: len(conn.Schema)}
	hb.set(start)
	s.Report.reportNow(ctx, contract.ProgressReport{Snapshot: &start}, log)
	dst, err := openTargetSink(ctx, s.Sinks, env.dst, conn.Selection.TargetSchema, log)
	if err != nil {
		return nil, err
	}
	defer dst.Close(context.WithoutCancel(ctx))
	copier, ok := dst.(sink.Copier)
	if !ok {
		return nil, fmt.Errorf("%w: the destination does not support the initial copy", errInvalidInput)
	}
	if err := dst.Prepare(ctx, in.Name, conn.Schema); err != nil {
		return nil, fmt.Errorf("prepare destination tables: %w", err)
	}

	stopReports := s.Report.startReports(ctx, s.ProgressInterval, func() contract.ProgressReport {
		p := hb.get()
		return contract.ProgressReport{Snapshot: &p, At: time.Now()}
	}, log)
	defer stopReports()
	var lastRows, lastBytes int64
	par := in.Parallelism
	if par <= 0 {
		par = s.Parallelism
	}
	if limit := conn.Selection.SnapshotParallelism; limit > 0 && (par <= 0 || par > limit) {
		par = limit // the operator's cap on the load on their primary
	}
	if par > 0 || conn.Selection.SnapshotMaxBytesPerSecond > 0 {
		log.Info("snapshot limits", "parallelism", par, "max_bytes_per_second", conn.Selection.SnapshotMaxBytesPerSecond)
	}
	r, err := snapshot.Run(ctx, snapshot.RunOptions{
		Source: env.src.Config, Connector: in.Name, Slot: conn.SlotName, Tables: conn.Schema, Copier: copier,
		Parallelism: par, MaxBytesPerSecond: conn.Selection.SnapshotMaxBytesPerSecond, Logger: log,
		Progress: func(p snapshot.Progress) {
			hb.set(progressOf(p))
			if s.Metrics != nil {
				s.Metrics.SnapshotRows.WithLabelValues(in.Name).Add(float64(max(p.Rows-lastRows, 0)))
				s.Metrics.SnapshotBytes.WithLabelValues(in.Name).Add(float64(max(p.Bytes-lastBytes, 0)))
				lastRows, lastBytes = p.Rows, p.Bytes
			}
		},
	})
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil, context.Canceled
		}
		return nil, err
	}
	// The destination's checkpoint starts at the slot's consistent point:
	// streaming applies exactly what follows the snapshot.
	if rc, ok := dst.(sink.Checkpointer); ok {
		if err := rc.ResetCheckpoint(ctx, in.Name, r.Slot.ConsistentLSN); err != nil {
			return nil, fmt.Errorf("record snapshot checkpoint: %w", err)
		}
	}
	if reg, ok := dst.(sink.Registry); ok {
		// Every table copied streams from here; a table created since
		// the discovery is found by the workflow's next discovery.
		if err := reg.ReplaceTableStates(ctx, in.Name, streamingStates(conn.Schema)); err != nil {
			return nil, fmt.Errorf("record table states: %w", err)
		}
	}
	log.Info("snapshot done", "tables", len(r.Copy.Tables), "rows", r.Copy.Rows,
		"bytes", r.Copy.Bytes, "duration", r.Copy.Duration, "consistent_lsn", r.Slot.ConsistentLSN.String())
	return &SnapshotResult{ConsistentLSN: r.Slot.ConsistentLSN.String(), Rows: r.Copy.Rows, Bytes: r.Copy.Bytes, Tables: len(r.Copy.Tables)}, nil
}

func progressOf(p snapshot.Progress) SnapshotProgress {
	out := SnapshotProgress{Tables: len(p.Tables), TablesDone: p.TablesDone, Rows: p.Rows, Bytes: p.Bytes,
		EstimatedRows: p.EstimatedRows, ETASeconds: p.ETA.Seconds()}
	for _, t := range p.Tables {
		if t.Done || (t.Rows == 0 && t.ChunksDone == 0) {
			continue
		}
		if len(out.Active) == maxActiveTables {
			break
		}
		out.Active = append(out.Active, TableProgress{Table: t.Schema + "." + t.Name, Rows: t.Rows, Bytes: t.Bytes, EstimatedRows: t.EstimatedRows})
	}
	return out
}

func (s *Snapshotter) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}
