package replication

import (
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const coalesceSupported = true

// tcpPair is a connected loopback TCP pair; it returns the client end.
func tcpPair(t *testing.T) net.Conn {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	if s, ok := <-accepted; ok {
		t.Cleanup(func() { _ = s.Close() })
	}
	return c
}

func rcvLowat(t *testing.T, c net.Conn) int {
	t.Helper()
	raw, err := c.(*net.TCPConn).SyscallConn()
	require.NoError(t, err)
	var v int
	var serr error
	require.NoError(t, raw.Control(func(fd uintptr) {
		v, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT)
	}))
	require.NoError(t, serr)
	return v
}

func TestCoalescerStartsWhenBusy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		messages int
		gap      time.Duration
		want     bool
	}{
		{"one message short of busy", busyMessages - 1, 10 * time.Microsecond, false},
		{"busy: a burst", busyMessages, 10 * time.Microsecond, true},
		{"busy: 8,000 a second", 3 * busyMessages, coalesceWait / busyMessages, true},
		{"steady but slower than busy", 1000, time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := tcpPair(t)
			co := coalescer{conn: conn, stats: &counters{}}
			now := time.Now()
			for range tc.messages {
				co.message(now)
				now = now.Add(tc.gap)
			}
			assert.Equal(t, tc.want, co.on)
			assert.Equal(t, tc.want, co.stats.coalescing.Load())
			want := 1
			if tc.want {
				want = coalesceBytes
			}
			assert.Equal(t, want, rcvLowat(t, conn), "SO_RCVLOWAT")
			co.set(false)
			assert.Equal(t, 1, rcvLowat(t, conn), "SO_RCVLOWAT after the burst")
			assert.False(t, co.stats.coalescing.Load())
		})
	}
}

func TestCoalescerLeavesOtherSocketsAlone(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	co := coalescer{conn: a, stats: &counters{}}
	now := time.Now()
	for range 2 * busyMessages {
		co.message(now)
	}
	assert.False(t, co.on)
	assert.True(t, co.disabled)
	assert.Zero(t, co.stats.bursts.Load())
}
