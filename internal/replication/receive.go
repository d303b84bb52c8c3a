package replication

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/ardent-cdc/ardent/internal/cadence"
	"github.com/ardent-cdc/ardent/internal/sink"
	"github.com/ardent-cdc/ardent/internal/source"
	"github.com/ardent-cdc/ardent/internal/wal2json"
)

// item is a source transaction, or a chunk of one, on its way to the sink.
type item struct {
	tx        sink.Tx
	continued bool      // more chunks of tx follow
	commit    time.Time // source commit time; zero for heartbeats
	weight    int       // budget held: bytes of the messages behind it
	final     bool      // ends a source transaction (or is a heartbeat)
}

// receiver owns the replication connection: it reads, answers keepalives,
// decodes and assembles transactions.
type receiver struct {
	s      *Streamer
	conn   *pgconn.PgConn
	items  chan<- item
	budget *budget
	dec    *wal2json.Decoder
	msg    wal2json.Message

	cur         *sink.Tx
	curCommit   time.Time
	part        int          // the next piece number of cur
	curBytes    int          // message bytes behind cur's changes
	lastMessage atomic.Int64 // unix nanos of the last data message
	// lastKeepalive (unix nanos) tells the heartbeat goroutine the WAL end
	// is fresh without asking the source; lastMarked, that a keepalive's
	// position went to the destination, so the slot moves without an
	// idle message of its own.
	lastKeepalive, lastMarked atomic.Int64
	// lastItem is the highest position handed to the applier; lastMark
	// when a keepalive's position was last handed over (see keepalive).
	lastItem pglogrepl.LSN
	lastMark time.Time
	// co coalesces the reads of a busy stream (coalesce.go).
	co coalescer
}

func (r *receiver) sendStatus(ctx context.Context, reply bool) error {
	c := &r.s.c
	durable := pglogrepl.LSN(c.durable.Load())
	err := pglogrepl.SendStandbyStatusUpdate(ctx, r.conn, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: max(pglogrepl.LSN(c.received.Load()), durable),
		WALFlushPosition: durable,
		WALApplyPosition: durable,
		ReplyRequested:   reply,
	})
	if err != nil {
		return fmt.Errorf("send standby status to slot %q: %w", r.s.opts.Slot, err)
	}
	return nil
}

func (r *receiver) run(ctx context.Context) error {
	r.dec = wal2json.NewDecoder()
	r.co.conn, r.co.stats = r.conn.Conn(), &r.s.c
	// A backfill's catch-up hands the connection back to its caller.
	defer r.co.set(false)
	for {
		if err := r.receiveFor(ctx, r.s.opts.StatusInterval); err != nil {
			return err
		}
		if err := r.sendStatus(ctx, false); err != nil {
			return err
		}
	}
}

// receiveFor handles messages for d. The deadline and ctx's cancellation
// are set on the connection once per interval, not per message: a context
// given to ReceiveMessage costs a registration (context.AfterFunc) and a
// channel on every one of a big transaction's million messages. pgconn
// keeps the connection usable after a read deadline passes, as it does
// when a context's deadline passes.
func (r *receiver) receiveFor(ctx context.Context, d time.Duration) error {
	o := r.s.opts
	nc := r.conn.Conn()
	// On d's grid: an idle worker's streams send their status together
	// (internal/cadence).
	end := cadence.Next(time.Now(), d)
	if err := nc.SetReadDeadline(end); err != nil {
		return fmt.Errorf("receive from slot %q: set read deadline: %w", o.Slot, err)
	}
	// The connection outlives the interval (and, for a backfill's
	// catch-up, the session): its deadline is cleared on the way out, after
	// a cancellation that may be running concurrently.
	var mu sync.Mutex
	over := false
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if !over {
			_ = nc.SetReadDeadline(time.Now())
		}
	})
	defer func() {
		stop()
		mu.Lock()
		defer mu.Unlock()
		over = true
		_ = nc.SetReadDeadline(time.Time{})
	}()
	// coalescing: the deadline set is a coalescing one, earlier than end.
	coalescing := false
	// setDeadline may come after the cancellation's deadline: ctx is
	// checked after it, so a cancellation is never overwritten unseen.
	setDeadline := func(t time.Time) error {
		_ = nc.SetReadDeadline(t)
		return ctx.Err()
	}
	for {
		if r.co.on != coalescing {
			coalescing = r.co.on
			r.co.sinceArmed = 0
			t := end
			if coalescing {
				t = earliest(end, time.Now().Add(coalesceWait))
			}
			if err := setDeadline(t); err != nil {
				return err
			}
		}
		msg, err := r.conn.ReceiveMessage(context.Background())
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if pgconn.Timeout(err) {
				if coalescing && time.Now().Before(end) {
					// The coalescing wait is over. Nothing came: the burst
					// is over, wake for every message until the interval
					// ends. Otherwise the loop sets the next wait.
					coalescing = false
					if r.co.sinceArmed == 0 {
						r.co.set(false)
						if err := setDeadline(end); err != nil {
							return err
						}
					}
					continue
				}
				return nil
			}
			return fmt.Errorf("receive from slot %q: %w", o.Slot, err)
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			if err := r.copyData(ctx, m.Data); err != nil {
				return err
			}
		case *pgproto3.ErrorResponse:
			err := pgconn.ErrorResponseToPgError(m)
			if isSlotGone(err) {
				return fmt.Errorf("stream slot %q: %w: %v", o.Slot, source.ErrSlotLost, err)
			}
			return fmt.Errorf("stream slot %q: %w", o.Slot, err)
		case *pgproto3.CopyDone:
			return fmt.Errorf("stream slot %q: %w", o.Slot, errStreamEnded)
		}
	}
}

func (r *receiver) copyData(ctx context.Context, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	c := &r.s.c
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		k, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			return fmt.Errorf("parse keepalive: %w", err)
		}
		storeMax(&c.walEnd, uint64(k.ServerWALEnd))
		r.lastKeepalive.Store(time.Now().UnixNano())
		// A keepalive's WAL end is what the walsender has sent so far, and
		// every message before it on this stream has been handled: report
		// it as received (the write position). At shutdown a walsender
		// exits only when the write position reaches what it sent, which
		// ends in WAL that decodes to nothing (the shutdown checkpoint).
		storeMax(&c.received, uint64(k.ServerWALEnd))
		if err := r.keepalive(ctx, k); err != nil {
			return err
		}
		if k.ReplyRequested {
			return r.sendStatus(ctx, false)
		}
	case pglogrepl.XLogDataByteID:
		x, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			return fmt.Errorf("parse XLogData: %w", err)
		}
		if uint64(x.WALStart) > c.received.Load() {
			c.received.Store(uint64(x.WALStart))
		}
		// A logical walsender puts the message's own position in
		// ServerWALEnd, so it says nothing about the server's WAL end;
		// keepalives and the heartbeat goroutine report that.
		now := time.Now()
		r.lastMessage.Store(now.UnixNano())
		r.co.message(now)
		return r.handle(ctx, x.WALData)
	}
	return nil
}

var errProtocol = errors.New("unexpected wal2json message order")

func (r *receiver) handle(ctx context.Context, data []byte) error {
	m := &r.msg
	if err := r.dec.Decode(data, m); err != nil {
		return fmt.Errorf("decode message from slot %q: %w", r.s.opts.Slot, err)
	}
	switch m.Action {
	case wal2json.ActionBegin:
		if r.cur != nil {
			return fmt.Errorf("%w: BEGIN inside a transaction", errProtocol)
		}
		r.cur = &sink.Tx{CommitLSN: m.NextLSN, Changes: make([]sink.Change, 0, 16)}
		r.curCommit = parseTimestamp(m.Timestamp)
		r.part = 0
		r.curBytes = len(data)
	case wal2json.ActionInsert, wal2json.ActionUpdate, wal2json.ActionDelete, wal2json.ActionTruncate:
		if r.cur == nil {
			return fmt.Errorf("%w: change outside a transaction", errProtocol)
		}
		r.cur.Changes = append(r.cur.Changes, m.Change)
		r.curBytes += len(data)
		if len(r.cur.Changes) >= r.s.opts.ChunkChanges || r.curBytes >= r.s.opts.ChunkBytes {
			tx := *r.cur
			tx.Part = r.part
			r.part++
			r.cur.Changes = make([]sink.Change, 0, min(len(tx.Changes), r.s.opts.ChunkChanges))
			weight := r.curBytes
			r.curBytes = 0
			return r.emit(ctx, item{tx: tx, continued: true, commit: r.curCommit, weight: weight})
		}
	case wal2json.ActionCommit:
		if r.cur == nil {
			return fmt.Errorf("%w: COMMIT outside a transaction", errProtocol)
		}
		if m.NextLSN != 0 && m.NextLSN != r.cur.CommitLSN {
			return fmt.Errorf("%w: COMMIT at %s for BEGIN at %s", errProtocol, m.NextLSN, r.cur.CommitLSN)
		}
		tx := *r.cur
		tx.Part = r.part
		r.cur = nil
		return r.emit(ctx, item{tx: tx, commit: r.curCommit, final: true, weight: r.curBytes + len(data)})
	case wal2json.ActionMessage:
		// Only our heartbeats reach us (add-msg-prefixes). Outside a
		// transaction its position is a safe checkpoint: every transaction
		// committed before it has already been received.
		if !m.Transactional && r.cur == nil {
			return r.emit(ctx, item{tx: sink.Tx{CommitLSN: m.LSN}, final: true, weight: len(data)})
		}
		// A shape message (EmitShape) is a change of its own, applied in
		// stream order.
		if m.Transactional && r.cur != nil {
			if c, ok := shapeChange(m.Content, r.s.opts.Connector); ok && r.s.opts.streams(c.Schema, c.Table) {
				r.cur.Changes = append(r.cur.Changes, c)
				r.curBytes += len(data)
			}
		}
	}
	return nil
}

// keepalive checkpoints a keepalive's position when no transaction is open
// on the stream: every transaction committing before it has been received,
// so, applied in order like a heartbeat message, it lets the slot confirm
// WAL that decodes to nothing (checkpoints, other databases' changes, the
// shutdown checkpoint). Without it a source's fast shutdown waits for the
// stream: a walsender exits only once its client confirms, as flushed, all
// it sent. At most every idleCheckpointEvery, unless the walsender asks for
// a reply.
func (r *receiver) keepalive(ctx context.Context, k pglogrepl.PrimaryKeepaliveMessage) error {
	if r.cur != nil || k.ServerWALEnd <= r.lastItem || k.ServerWALEnd <= pglogrepl.LSN(r.s.c.durable.Load()) {
		return nil
	}
	// Once the grid point after the last mark has passed: the streams of a
	// worker on one cluster (their keepalives come with the same WAL
	// flush) checkpoint together.
	if !k.ReplyRequested && time.Now().Before(cadence.Next(r.lastMark, idleCheckpointEvery)) {
		return nil
	}
	r.lastMark = time.Now()
	r.lastMarked.Store(r.lastMark.UnixNano())
	return r.emit(ctx, item{tx: sink.Tx{CommitLSN: k.ServerWALEnd}, final: true, weight: 1})
}

// idleCheckpointEvery spaces the checkpoints of keepalive positions while
// nothing of this connector's is in the stream. The walsender sends a
// keepalive whenever the cluster's WAL moves past what was confirmed, so
// on a cluster shared by many connectors (each with its own heartbeat
// messages) once a second was a destination transaction per second per
// idle connector. Every 30 s the slot holds back at most 30 s of WAL that
// decodes to nothing for it, as its own idle heartbeat does. A keepalive
// that asks for a reply (a shutting-down walsender) is checkpointed at
// once all the same.
const idleCheckpointEvery = 30 * time.Second

func (r *receiver) emit(ctx context.Context, it item) error {
	r.lastItem = max(r.lastItem, it.tx.CommitLSN)
	it.weight = r.budget.weigh(it.weight)
	if err := r.budget.acquire(ctx, it.weight, r.s.opts.StatusInterval, func(ctx context.Context) error {
		return r.sendStatus(ctx, false)
	}); err != nil {
		return err
	}
	if it.final && !it.commit.IsZero() {
		r.s.c.pending.push(it.commit)
	}
	select {
	case r.items <- it:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// parseTimestamp reads wal2json's commit timestamp; the session runs in UTC.
func parseTimestamp(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse("2006-01-02 15:04:05.999999-07", s)
	if err != nil {
		t, _ = time.Parse("2006-01-02 15:04:05.999999-07:00", s)
	}
	return t
}
