package replication

import (
	"net"
	"time"
)

// Reading a busy stream message by message costs both ends more than the
// messages do. wal2json sends every change as a message of its own and
// the walsender flushes each one, so a receiver that keeps up is woken
// once per change; on one host, the walsender's own kernel time pays for
// every wake-up too (measured on a 1M-row transaction: the receiving
// process at 0.63 of a core, the walsender preempted 44,000 times).
//
// While the stream is busy, the receiver therefore asks the kernel not to
// wake it before coalesceBytes have arrived (SO_RCVLOWAT; a read still
// returns whatever is there) and bounds that wait with a read deadline of
// coalesceWait, so the tail of a burst, a transaction's last changes and
// its COMMIT, is never held longer. A wait that ends with nothing received
// means the burst is over: the receiver is woken by every message again,
// so a quiet stream's latency is unchanged.
const (
	coalesceBytes = 64 << 10
	coalesceWait  = 2 * time.Millisecond
	// busyMessages within coalesceWait make a stream busy: 8,000 a second.
	busyMessages = 16
)

// coalescer decides when the receiver's reads coalesce.
type coalescer struct {
	conn     net.Conn
	stats    *counters
	on       bool
	disabled bool // the socket does not take SO_RCVLOWAT (not TCP, not Linux)
	// The current window of coalesceWait and the messages seen in it.
	windowStart time.Time
	inWindow    int
	// sinceArmed counts messages since the coalescing deadline was set.
	sinceArmed int
}

// message records a data message received at now, and starts coalescing
// once the stream is busy.
func (c *coalescer) message(now time.Time) {
	c.sinceArmed++
	if c.on || c.disabled {
		return
	}
	if now.Sub(c.windowStart) > coalesceWait {
		c.windowStart, c.inWindow = now, 0
	}
	c.inWindow++
	if c.inWindow >= busyMessages {
		c.set(true)
	}
}

// set turns coalescing on or off on the socket.
func (c *coalescer) set(on bool) {
	if c.on == on || c.disabled {
		return
	}
	n := 1 // the kernel's default: wake for any byte
	if on {
		n = coalesceBytes
	}
	if !setRcvLowat(c.conn, n) {
		c.disabled, c.on = true, false
		c.stats.coalescing.Store(false)
		return
	}
	c.on = on
	c.inWindow = 0
	c.stats.coalescing.Store(on)
	if on {
		c.stats.bursts.Add(1)
	}
}
