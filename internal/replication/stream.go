package replication

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/ardent-cdc/ardent/internal/cadence"
	"github.com/ardent-cdc/ardent/internal/source"
	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Streamer replicates one slot into one sink.
type Streamer struct {
	opts Options
	c    counters
}

// New validates the options and returns a Streamer.
func New(opts Options) (*Streamer, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return &Streamer{opts: opts}, nil
}

// Stats returns a snapshot of the progress counters; safe to call
// concurrently with Run.
func (s *Streamer) Stats() Stats { return s.c.snapshot(time.Now()) }

// Run streams until ctx is done (returning ctx's error) or a permanent
// error happens. Transient failures (source or destination restart, network
// drop, a slot still held by a dead worker's walsender) reconnect with
// exponential backoff. source.ErrSlotLost is permanent.
func (s *Streamer) Run(ctx context.Context) error {
	backoff := s.opts.MinBackoff
	for {
		before := s.c.rows.Load() + s.c.txs.Load()
		err := s.Session(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !Transient(err) {
			return err
		}
		s.c.reconnects.Add(1)
		s.c.lastError.Store(err.Error())
		if s.c.rows.Load()+s.c.txs.Load() != before {
			// It applied something: not a tight failure loop. (A position
			// checkpointed from a keepalive is not progress: an idle stream
			// fighting another for the slot would otherwise never back off.)
			backoff = s.opts.MinBackoff
		}
		s.opts.Log.Warn("replication session ended, reconnecting", "slot", s.opts.Slot, "err", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, s.opts.MaxBackoff)
	}
}

// Transient reports whether err is worth a reconnect: connection failures,
// server shutdowns and restarts, a slot still in use, serialization errors.
func Transient(err error) bool {
	if err == nil || errors.Is(err, source.ErrSlotLost) || errors.Is(err, context.Canceled) {
		return false
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	if errors.As(err, &ne) || errors.As(err, &ce) || errors.Is(err, net.ErrClosed) || errors.Is(err, errStreamEnded) {
		return true
	}
	code := pgCode(err)
	switch {
	case code == "":
		// pgconn reports a dead connection without a SQLSTATE.
		var pe *pgconn.PgError
		return !errors.As(err, &pe) && isConnClosed(err)
	case len(code) == 5 && code[:2] == "08", // connection exception
		code == "57P01", code == "57P02", code == "57P03", // shutdowns, starting up
		code == "53300",                  // too many connections
		code == "55006",                  // slot still active
		code == "40001", code == "40P01": // serialization, deadlock
		return true
	}
	return false
}

func isConnClosed(err error) bool {
	var pe interface{ SafeToRetry() bool }
	return errors.As(err, &pe) || containsAny(err.Error(), "conn closed", "connection reset", "broken pipe", "unexpected EOF")
}

var errStreamEnded = errors.New("server ended the replication stream")

// Session runs one replication connection until ctx is done or an error.
func (s *Streamer) Session(ctx context.Context) (err error) {
	o := s.opts
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	conn, err := pgx.ConnectConfig(ctx, o.Source)
	if err != nil {
		return fmt.Errorf("connect to source for slot %q: %w", o.Slot, redactErr(err))
	}
	defer conn.Close(context.WithoutCancel(ctx))

	st, err := source.SlotInfo(ctx, conn, o.Slot)
	if err != nil {
		return err
	}
	if st.Lost() {
		return fmt.Errorf("start slot %q: %w: wal_status is lost", o.Slot, source.ErrSlotLost)
	}
	durable, err := o.Sink.DurableLSN(ctx, o.Connector)
	if err != nil {
		return fmt.Errorf("start slot %q: %w", o.Slot, err)
	}
	if durable != 0 && durable < st.ConfirmedFlushLSN {
		// The slot only ever confirms what the destination committed, so
		// the destination lost commits (restored from a backup, or it ran
		// with commits that were never flushed). The source has recycled
		// that WAL: starting at the slot would skip it without a word.
		// (No checkpoint at all is a connector's first stream: it starts
		// at the slot, as a completed snapshot records.)
		return fmt.Errorf("start slot %q: %w: the destination's checkpoint is %s, the slot confirmed %s; the changes between are gone from the source",
			o.Slot, ErrDestinationBehind, durable, st.ConfirmedFlushLSN)
	}
	start := max(durable, st.ConfirmedFlushLSN)
	rconn, err := s.startReplication(ctx, conn, start)
	if err != nil {
		return err
	}
	defer rconn.Close(context.WithoutCancel(ctx))
	o.Log.Info("replication started", "slot", o.Slot, "connector", o.Connector, "start", start.String(),
		"slot_confirmed", st.ConfirmedFlushLSN.String(), "sink_durable", durable.String())
	return s.stream(ctx, cancel, conn, rconn, start)
}

// SessionOn streams, until ctx is done or an error, from a replication
// connection the caller opened and started (START_REPLICATION at start):
// a temporary slot lives only on the connection that created it, so a
// backfill's catch-up runs on that connection. There is no reconnect: the
// slot ends with the connection. The caller closes rconn.
func (s *Streamer) SessionOn(ctx context.Context, rconn *pgconn.PgConn, start pglogrepl.LSN) error {
	o := s.opts
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, o.Source)
	if err != nil {
		return fmt.Errorf("connect to source for slot %q: %w", o.Slot, redactErr(err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return s.stream(ctx, cancel, conn, rconn, start)
}

// stream receives and applies on rconn from start, with heartbeats through
// conn, until ctx is done or either side fails.
func (s *Streamer) stream(ctx context.Context, cancel context.CancelFunc, conn *pgx.Conn, rconn *pgconn.PgConn, start pglogrepl.LSN) error {
	// The flush position we report must never be 0 (pglogrepl would replace
	// it with the write position); the slot's confirmed position is already
	// acknowledged, so reporting it again is harmless.
	s.c.durable.Store(uint64(start))
	s.c.received.Store(uint64(start))
	s.c.connected.Store(true)
	defer s.c.connected.Store(false)
	s.c.pending.reset()

	// The budget bounds the bytes in flight; the channel only needs room
	// for many small transactions (one item each) between two applier
	// batches. Each slot costs ~90 bytes on every connector of a worker.
	items := make(chan item, 1024)
	bud := newBudget(s.opts.MaxInflightBytes)
	var wg sync.WaitGroup
	var applyErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		applyErr = s.apply(ctx, items, bud)
		if applyErr != nil {
			cancel() // also frees a receiver waiting for budget
		}
	}()
	r := &receiver{s: s, conn: rconn, items: items, budget: bud}
	r.lastMessage.Store(time.Now().UnixNano())
	go func() {
		defer wg.Done()
		s.heartbeat(ctx, conn, r)
	}()
	recvErr := r.run(ctx) // never nil: the receiver runs until an error or ctx ends
	close(items)
	cancel() // stop the applier: the session is over
	wg.Wait()
	// Tell the server how far we got before leaving.
	if rconn != nil && !rconn.IsClosed() {
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		_ = r.sendStatus(sctx, false)
		scancel()
	}
	switch {
	case applyErr != nil && !errors.Is(applyErr, context.Canceled):
		return applyErr
	case !errors.Is(recvErr, context.Canceled):
		return recvErr
	}
	return ctx.Err()
}

func (s *Streamer) startReplication(ctx context.Context, conn *pgx.Conn, start pglogrepl.LSN) (*pgconn.PgConn, error) {
	o := s.opts
	cfg := source.ReplicationConfig(&o.Source.Config, "ardent-"+o.Connector)
	deadline := time.Now().Add(o.SlotActiveTimeout)
	for {
		rconn, err := pgconn.ConnectConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("open replication connection for slot %q: %w", o.Slot, redactErr(err))
		}
		err = pglogrepl.StartReplication(ctx, rconn, o.Slot, pglogrepl.LSN(start),
			pglogrepl.StartReplicationOptions{PluginArgs: o.pluginArgs()})
		if err == nil {
			return rconn, nil
		}
		rconn.Close(context.WithoutCancel(ctx))
		switch {
		case isSlotGone(err):
			return nil, fmt.Errorf("start slot %q: %w: %v", o.Slot, source.ErrSlotLost, err)
		case isObjectInUse(err) && time.Now().Before(deadline):
			// A dead worker's walsender still holds the slot (design 4.8).
			o.Log.Info("slot is active, terminating its holder", "slot", o.Slot)
			if rerr := source.ReleaseSlot(ctx, conn, o.Slot, time.Until(deadline), source.TerminateOwnRole); rerr != nil {
				return nil, rerr
			}
			continue
		}
		return nil, fmt.Errorf("start slot %q at %s: %w", o.Slot, start, err)
	}
}

// redactErr drops connection details pgconn may put into connect errors.
func redactErr(err error) error {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		return &redacted{err: ce.Unwrap()}
	}
	return err
}

type redacted struct{ err error }

func (r *redacted) Error() string { return r.err.Error() }
func (r *redacted) Unwrap() error { return r.err }

// walEndEvery spaces the heartbeat loop's reads of the source's WAL end.
const walEndEvery = 10 * time.Second

// heartbeat emits a logical message when the stream has been quiet, so an
// idle slot's confirmed position keeps moving and WAL is recycled. It also
// samples the source's WAL end for the lag-in-bytes figure, and runs the
// caller's CatalogCheck on the same session.
func (s *Streamer) heartbeat(ctx context.Context, conn *pgx.Conn, r *receiver) {
	o := s.opts
	every := min(max(o.HeartbeatInterval/4, 50*time.Millisecond), o.StatusInterval)
	if o.CatalogCheck != nil {
		every = min(every, max(o.CatalogCheckInterval, 50*time.Millisecond))
	}
	tick := cadence.NewTimer(every) // every stream's on the same instants
	defer tick.Stop()
	last := time.Now()
	var lastEnd time.Time
	var lastCheck time.Time // the first check at the first tick: the caller's baseline
	// The session owns conn; a replacement opened here (after the source
	// dropped conn, e.g. during a restart the replication connection
	// survives for a while) is closed here.
	own := conn
	defer func() {
		if conn != own {
			conn.Close(context.WithoutCancel(ctx))
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			tick.Reset(now)
			if conn.IsClosed() {
				c, err := pgx.ConnectConfig(ctx, o.Source)
				if err != nil {
					continue // the source is away; try again next tick
				}
				if conn != own {
					conn.Close(ctx)
				}
				conn = c
			}
			// The WAL end (the lag in bytes) also arrives with every
			// keepalive; the source is asked only when none came for
			// walEndEvery (a round trip per connector: on a shared
			// cluster, whose WAL moves all the time, keepalives come
			// often enough).
			fresh := now.Sub(time.Unix(0, r.lastKeepalive.Load())) < walEndEvery
			if !fresh && now.Sub(lastEnd) >= walEndEvery {
				lastEnd = now
				var end pglogrepl.LSN
				if err := conn.QueryRow(ctx, "SELECT pg_current_wal_lsn()").Scan(&end); err == nil {
					storeMax(&s.c.walEnd, uint64(end))
				}
			}
			if o.CatalogCheck != nil && now.Sub(lastCheck) >= o.CatalogCheckInterval {
				lastCheck = now
				o.CatalogCheck(ctx, conn)
			}
			quiet := now.Sub(time.Unix(0, r.lastMessage.Load()))
			if quiet < o.HeartbeatInterval || now.Sub(last) < o.HeartbeatInterval {
				continue
			}
			// On a cluster whose WAL moves (other databases, other
			// connectors' own messages) the keepalives' positions already
			// move the slot: a message of its own would be a source round
			// trip and a destination transaction for nothing.
			if now.Sub(time.Unix(0, r.lastMarked.Load())) < o.HeartbeatInterval {
				continue
			}
			last = now
			if _, err := conn.Exec(ctx, "SELECT pg_logical_emit_message(false, $1, $2)", HeartbeatPrefix, o.Connector); err != nil {
				if ctx.Err() == nil {
					o.Log.Warn("emit heartbeat message", "slot", o.Slot, "err", err)
				}
			}
		}
	}
}
