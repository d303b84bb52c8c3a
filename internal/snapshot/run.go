package snapshot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
	"github.com/ardent-cdc/ardent/internal/source"
)

// RunOptions configures Run: the whole snapshot step of a connector.
type RunOptions struct {
	// Source is the source database, parsed once by the caller; Run
	// derives the replication connection from it. Never logged.
	Source *pgx.ConnConfig
	// Connector names the connector whose destination tables are copied
	// into: the copy empties only tables it owns.
	Connector string
	// Slot is the connector's slot name (ardent_<name>).
	Slot   string
	Tables []schema.Table
	Copier sink.Copier
	// SlotTimeout bounds slot creation, which waits for the transactions
	// running on the source to finish. Zero means 5 minutes.
	SlotTimeout time.Duration
	// Copy tuning, as in Options.
	Parallelism       int
	ConnectionBudget  int
	ChunkPages        int64
	ChunkBytes        int64
	MaxBytesPerSecond int64
	Progress          func(Progress)
	ProgressInterval  time.Duration
	// IndexDuringCopy keeps the destination's primary keys during the
	// copy even when the Copier can defer them (KeyDeferrer): slower, for
	// comparison.
	IndexDuringCopy bool
	Logger          *slog.Logger
}

// KeyDeferrer is a Copier that loads an emptied table faster without its
// primary key and builds the key afterwards (one sorted build instead of
// an index maintained row by row).
type KeyDeferrer interface {
	// DropKeys removes the primary keys of the emptied destination tables.
	DropKeys(ctx context.Context, connector string, tables []schema.Table) error
	// BuildKeys adds the primary key to every table that lacks it, on up
	// to parallelism sessions.
	BuildKeys(ctx context.Context, connector string, tables []schema.Table, parallelism int) error
}

// RunResult is a finished snapshot: the slot that continues it and what
// was copied. Streaming starts from Slot.ConsistentLSN.
type RunResult struct {
	Slot SlotSnapshot `json:"slot"`
	Copy Result       `json:"copy"`
}

// Run performs one complete attempt of the snapshot step, and is the unit
// an activity retries. Retry rule (idempotent, so any attempt may start
// from whatever a crashed one left):
//
//  1. end the source sessions of an earlier attempt that may still run
//     (found by ApplicationName), then drop the slot if an earlier attempt
//     left it (terminating a walsender that still holds it);
//  2. truncate the destination tables and, when the Copier is a
//     KeyDeferrer, drop their primary keys;
//  3. create the slot and export its snapshot on a fresh replication
//     connection, kept open and idle for the whole copy;
//  4. copy every table under that snapshot;
//  5. check the slot still exists, build the primary keys (KeyDeferrer),
//     then close the replication connection.
//
// The keys exist again before Run succeeds, so streaming, which applies
// updates and deletes by key, never sees a table without one. An attempt
// that ends between steps 2 and 5 leaves tables without keys (and partial
// rows): the next attempt's Truncate gives them back their keys (reshape)
// before step 2 drops them again, and a connector never streams before a
// Run succeeded.
//
// On failure Run drops the slot it created (best effort, bounded by 30 s
// even when ctx is cancelled, and only if no newer attempt replaced it)
// and returns the error; the next attempt starts again at step 1. A
// process killed mid-way leaves the slot and a partial destination, which
// steps 1 and 2 of the next attempt clean up.
//
// Residual risk: an earlier attempt whose process is alive but whose
// source sessions did not end (EndAttempt waits 5 s) could still commit a
// chunk after step 2. The activity layer must not start a retry while the
// previous attempt may run (heartbeat timeout, and the attempt's context
// cancelled on a failed heartbeat).
func Run(ctx context.Context, o RunOptions) (_ RunResult, err error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if !slotNameRE.MatchString(o.Slot) {
		return RunResult{}, fmt.Errorf("snapshot: slot %q: %w", o.Slot, ErrInvalidSlotName)
	}
	if o.Copier == nil {
		return RunResult{}, errors.New("snapshot: no copier")
	}
	if o.Source == nil {
		return RunResult{}, errors.New("snapshot: no source connection")
	}
	sqlCfg := o.Source
	replCfg := source.ReplicationConfig(&o.Source.Config, source.SnapshotApplicationName(o.Slot))

	if err := cleanUp(ctx, sqlCfg, o.Slot); err != nil {
		return RunResult{}, err
	}
	if err := o.Copier.Truncate(ctx, o.Connector, o.Tables); err != nil {
		return RunResult{}, fmt.Errorf("snapshot: truncate destination: %w", err)
	}
	deferrer, deferKeys := o.Copier.(KeyDeferrer)
	deferKeys = deferKeys && !o.IndexDuringCopy
	if deferKeys {
		if err := deferrer.DropKeys(ctx, o.Connector, o.Tables); err != nil {
			return RunResult{}, fmt.Errorf("snapshot: defer destination keys: %w", err)
		}
	}

	repl, err := pgconn.ConnectConfig(ctx, replCfg)
	if err != nil {
		return RunResult{}, fmt.Errorf("snapshot: open replication connection: %w", err)
	}
	replOpen := true
	defer func() {
		if replOpen {
			closeConn(repl)
		}
	}()
	slotTimeout := o.SlotTimeout
	if slotTimeout <= 0 {
		slotTimeout = 5 * time.Minute
	}
	slotCtx, cancel := context.WithTimeout(ctx, slotTimeout)
	slot, err := CreateSlotWithSnapshot(slotCtx, repl, o.Slot)
	cancel()
	if err != nil {
		return RunResult{}, fmt.Errorf("snapshot: %w", err)
	}
	log.Info("slot created", "slot", slot.Name, "consistent_lsn", slot.ConsistentLSN.String(), "snapshot", slot.SnapshotName)
	defer func() {
		if err == nil {
			return
		}
		closeConn(repl)
		replOpen = false
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if derr := dropFailed(cctx, sqlCfg, slot); derr != nil {
			log.Warn("dropping the slot of a failed snapshot failed; the next attempt drops it", "slot", o.Slot, "error", derr)
			err = errors.Join(err, derr)
		}
	}()

	// Workers import the snapshot up front, so strictly the copy only needs
	// the exporting connection until then; losing it later still fails the
	// attempt, because it means the session that owns this step is gone
	// (terminated, or a competing attempt took the slot over).
	copyCtx, cancelCopy := context.WithCancelCause(ctx)
	defer cancelCopy(nil)
	stopWatch := watchConn(repl, cancelCopy)
	res, err := Copy(copyCtx, Options{
		Source: o.Source, Tables: o.Tables, Copier: o.Copier,
		SnapshotName: slot.SnapshotName, Slot: slot.Name, SlotLSN: slot.ConsistentLSN,
		Parallelism: o.Parallelism, ConnectionBudget: o.ConnectionBudget,
		ChunkPages: o.ChunkPages, ChunkBytes: o.ChunkBytes, MaxBytesPerSecond: o.MaxBytesPerSecond,
		Progress: o.Progress, ProgressInterval: o.ProgressInterval, Logger: log,
	})
	lost := stopWatch()
	if err == nil && lost != nil {
		err = fmt.Errorf("copy snapshot: %w", lost)
	}
	if err != nil {
		return RunResult{}, err
	}
	if deferKeys {
		start := time.Now()
		if err := deferrer.BuildKeys(ctx, o.Connector, o.Tables, res.Parallelism); err != nil {
			return RunResult{}, fmt.Errorf("snapshot: build destination keys: %w", err)
		}
		res.KeyBuild = time.Since(start)
	}
	return RunResult{Slot: slot, Copy: res}, nil
}

// cleanUp ends the sessions of an earlier attempt and drops the slot, on
// a short-lived connection: Run holds no connection beyond its workers and
// the replication connection, so the copy gets the whole budget.
func cleanUp(ctx context.Context, cfg *pgx.ConnConfig, slot string) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("snapshot: connect to source: %w", err)
	}
	defer closeConn(conn.PgConn())
	if err := source.EndSnapshotAttempt(ctx, conn.PgConn(), slot); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	// The slot is this connector's and the attempt that held it is over:
	// whoever still holds it is terminated.
	if _, err := source.DropSlot(ctx, conn, slot, source.TerminateAny); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// dropFailed drops the slot this attempt created, unless a newer attempt
// has replaced it meanwhile.
func dropFailed(ctx context.Context, cfg *pgx.ConnConfig, slot SlotSnapshot) error {
	conn, err := pgconn.ConnectConfig(ctx, &cfg.Config)
	if err != nil {
		return fmt.Errorf("snapshot: connect to source: %w", err)
	}
	defer closeConn(conn)
	return dropOwnSlot(ctx, conn, slot.Name, slot.ConsistentLSN)
}

func closeConn(c *pgconn.PgConn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.Close(ctx)
}

// errReplicationLost is the cause given to the copy when the replication
// connection that exported the snapshot goes away.
var errReplicationLost = errors.New("replication connection lost")

// watchConn notices the loss of an idle connection without a round trip:
// an idle walsender sends nothing, so any byte (a FATAL error on
// termination) or EOF on the socket means the session is gone. It reads
// the socket behind pgconn's back, so the connection must not be used
// again except to Close it. stop ends the watch and returns the loss seen
// (nil if none).
func watchConn(c *pgconn.PgConn, lost context.CancelCauseFunc) (stop func() error) {
	nc := c.Conn()
	var stopped atomic.Bool
	var seen error
	done := make(chan struct{})
	go func() {
		defer close(done)
		var b [1]byte
		_, err := nc.Read(b[:])
		if stopped.Load() {
			return
		}
		if err == nil {
			err = errors.New("the server ended the session (it sent a message on an idle connection)")
		}
		seen = fmt.Errorf("%w: %w", errReplicationLost, err)
		lost(seen)
	}()
	return func() error {
		stopped.Store(true)
		_ = nc.SetReadDeadline(time.Now())
		<-done
		return seen
	}
}
