package replication

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
)

// A busy stream's reads coalesce (SO_RCVLOWAT, on Linux), and what comes
// after the burst, less than the kernel is asked to wait for, still
// arrives at once: the status interval here is a minute, so only the
// coalescing deadline can deliver it. Once the burst is over, every message
// wakes the receiver again. Over TLS, as in production.
func TestStreamCoalescedReadsDeliverTheTail(t *testing.T) {
	e := newEnvWith(t, pgtest.Options{SSL: true}, `CREATE TABLE burst (id int PRIMARY KEY, v text)`)
	o := e.options()
	o.StatusInterval = time.Minute
	o.HeartbeatInterval = time.Hour
	s, _ := e.start(t, o)
	ctx := context.Background()
	count := func() int {
		var n int
		if err := e.dst.QueryRow(ctx, "SELECT count(*) FROM burst").Scan(&n); err != nil {
			return -1
		}
		return n
	}

	e.exec(t, `INSERT INTO burst SELECT i, md5(i::text) FROM generate_series(1, 20000) i`)
	require.Eventually(t, func() bool { return count() == 20000 }, 20*time.Second, 10*time.Millisecond,
		"the transaction's tail did not arrive: %+v", s.Stats())
	if coalesceSupported {
		require.NotZero(t, s.c.bursts.Load(), "a 20,000-row transaction is a busy stream")
	}
	for i := range 3 {
		e.exec(t, `INSERT INTO burst VALUES ($1, 'one')`, 20001+i)
		require.Eventually(t, func() bool { return count() == 20001+i }, 10*time.Second, 10*time.Millisecond,
			"a row after the burst did not arrive: %+v", s.Stats())
	}
	require.Eventually(t, func() bool { return !s.c.coalescing.Load() }, 5*time.Second, 10*time.Millisecond,
		"reads still coalesce after the burst")
	e.requireSame(t)
}
