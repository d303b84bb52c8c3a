package replication

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pglogrepl"
)

// Stats is a snapshot of the stream's progress, for activity heartbeats and
// metrics.
type Stats struct {
	ReceivedLSN  pglogrepl.LSN // last position received from the walsender
	ServerWALEnd pglogrepl.LSN // the source's WAL end, from keepalives and a periodic pg_current_wal_lsn()
	DurableLSN   pglogrepl.LSN // committed in the destination and acknowledged
	RowsApplied  uint64        // changes applied since the Streamer was created
	TxsApplied   uint64
	// LastCommitTime is the source commit time of the newest applied
	// transaction (zero before the first).
	LastCommitTime time.Time
	// LagBytes is ServerWALEnd - DurableLSN (0 when caught up).
	LagBytes uint64
	// LagSeconds is how far behind the source the destination is: the age
	// of the oldest source commit received but not yet applied; 0 when
	// nothing received is pending.
	LagSeconds float64
	// Writes and WriteTime: sink.Write calls and the time spent in them,
	// to tell a slow destination from a slow source.
	Writes    uint64
	WriteTime time.Duration
	// LastWriteTime is when the destination last accepted a write
	// (heartbeats included): "streaming" is true only while this is recent.
	LastWriteTime time.Time
	Connected     bool
	Reconnects    uint64
	LastError     string // the last transient error, "" after a good session
}

type counters struct {
	received, walEnd, durable atomic.Uint64
	rows, txs, reconnects     atomic.Uint64
	writes, writeNanos        atomic.Uint64 // sink.Write calls and time spent in them
	lastCommitNanos           atomic.Int64
	lastWriteNanos            atomic.Int64 // wall time of the last successful sink.Write
	pending                   pendingQueue
	connected                 atomic.Bool
	lastError                 atomic.Value // string
	// bursts counts the times the receiver began coalescing its reads;
	// coalescing is whether it does now (coalesce.go). For tests.
	bursts     atomic.Uint64
	coalescing atomic.Bool
}

func (c *counters) snapshot(now time.Time) Stats {
	st := Stats{
		ReceivedLSN:  pglogrepl.LSN(c.received.Load()),
		ServerWALEnd: pglogrepl.LSN(c.walEnd.Load()),
		DurableLSN:   pglogrepl.LSN(c.durable.Load()),
		RowsApplied:  c.rows.Load(),
		TxsApplied:   c.txs.Load(),
		Connected:    c.connected.Load(),
		Writes:       c.writes.Load(),
		WriteTime:    time.Duration(c.writeNanos.Load()),
		Reconnects:   c.reconnects.Load(),
	}
	if s, ok := c.lastError.Load().(string); ok {
		st.LastError = s
	}
	if n := c.lastCommitNanos.Load(); n != 0 {
		st.LastCommitTime = time.Unix(0, n)
	}
	if n := c.lastWriteNanos.Load(); n != 0 {
		st.LastWriteTime = time.Unix(0, n)
	}
	if st.ServerWALEnd > st.DurableLSN {
		st.LagBytes = uint64(st.ServerWALEnd - st.DurableLSN)
	}
	if p, ok := c.pending.oldest(); ok {
		st.LagSeconds = max(0, now.Sub(p).Seconds())
	}
	return st
}

// pendingQueue holds the source commit times of received, not yet applied
// transactions, oldest first: lag is the age of the oldest.
type pendingQueue struct {
	mu    sync.Mutex
	times []time.Time
	head  int
}

func (q *pendingQueue) push(t time.Time) {
	q.mu.Lock()
	q.times = append(q.times, t)
	q.mu.Unlock()
}

func (q *pendingQueue) pop(n int) {
	q.mu.Lock()
	q.head = min(q.head+n, len(q.times))
	if q.head == len(q.times) {
		q.times, q.head = q.times[:0], 0
	} else if q.head > 1024 && q.head*2 > len(q.times) {
		q.times = append(q.times[:0], q.times[q.head:]...)
		q.head = 0
	}
	q.mu.Unlock()
}

func (q *pendingQueue) oldest() (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head >= len(q.times) {
		return time.Time{}, false
	}
	return q.times[q.head], true
}

func (q *pendingQueue) reset() {
	q.mu.Lock()
	q.times, q.head = q.times[:0], 0
	q.mu.Unlock()
}

func storeMax(a *atomic.Uint64, v uint64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}
