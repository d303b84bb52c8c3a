//go:build faults

package faults

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// invariantSQL reads, in one statement (one snapshot), what must hold in
// the destination at every moment if each source transaction is applied
// whole and once: no event is ahead of its counter (an event without its
// counter bump means half a transaction) and no event appears twice.
const invariantSQL = `SELECT
  (SELECT count(*) FROM app.events e JOIN app.counters c ON c.id = e.counter_id WHERE e.n > c.n),
  (SELECT count(*) - count(DISTINCT (counter_id, n)) FROM app.events)`

// sampler checks invariantSQL on the destination every half second while
// the faults happen; an unreachable destination is simply not sampled.
type sampler struct {
	samples    atomic.Int64
	violations atomic.Int64
	mu         sync.Mutex
	first      string
	cancel     context.CancelFunc
	done       chan struct{}
}

func (s *scene) startSampler() *sampler {
	ctx, cancel := context.WithCancel(context.Background())
	sm := &sampler{cancel: cancel, done: make(chan struct{})}
	go sm.run(ctx, s.dstURL())
	s.t.Cleanup(sm.stop)
	return sm
}

func (sm *sampler) run(ctx context.Context, url string) {
	defer close(sm.done)
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close(context.Background())
		}
	}()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if conn == nil || conn.IsClosed() {
			c, err := pgx.Connect(qctx, url)
			if err != nil {
				cancel()
				continue
			}
			conn = c
		}
		var ahead, dup int64
		err := conn.QueryRow(qctx, invariantSQL).Scan(&ahead, &dup)
		cancel()
		if err != nil {
			_ = conn.Close(context.Background())
			conn = nil
			continue
		}
		sm.samples.Add(1)
		if ahead != 0 || dup != 0 {
			sm.violations.Add(1)
			sm.mu.Lock()
			if sm.first == "" {
				sm.first = fmt.Sprintf("%s: %d events ahead of their counter, %d duplicate events", time.Now().Format(time.TimeOnly), ahead, dup)
			}
			sm.mu.Unlock()
		}
	}
}

func (sm *sampler) stop() {
	sm.cancel()
	<-sm.done
}

func (sm *sampler) firstViolation() string {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	return sm.first
}

// requireInvariantDetects proves invariantSQL can fail: on a hand-made
// destination holding half a transaction and a duplicate, it reports both.
func requireInvariantDetects(t *testing.T, w *world) {
	t.Helper()
	w.dst.CreateDatabase(t, "f_control")
	w.dst.Exec(t, "f_control", schemaSQL+`
UPDATE app.counters SET n = 1 WHERE id = 1;
INSERT INTO app.events (counter_id, n) VALUES (1, 1), (1, 1), (2, 1);`)
	var ahead, dup int64
	conn := w.dst.Connect(t, "f_control")
	require.NoError(t, conn.QueryRow(context.Background(), invariantSQL).Scan(&ahead, &dup))
	require.Equal(t, int64(1), ahead, "an event without its counter bump went unnoticed")
	require.Equal(t, int64(1), dup, "a duplicate event went unnoticed")
}
