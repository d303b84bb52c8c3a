//go:build faults

package faults

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// schemaSQL is the checkable workload's schema: counters only ever move up
// by one per transaction, every step is logged in events, and old events
// are deleted, so inserts, updates and deletes all flow.
const schemaSQL = `
CREATE SCHEMA app;
CREATE TABLE app.counters (id int PRIMARY KEY, n bigint NOT NULL);
CREATE TABLE app.events (id bigserial PRIMARY KEY, counter_id int NOT NULL, n bigint NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
INSERT INTO app.counters SELECT g, 0 FROM generate_series(1, 100) g;
`

// load is a set of writers running until stopped; they survive the source
// going away by reconnecting.
type load struct {
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	committed atomic.Int64
	failed    atomic.Int64
}

// startLoad runs writers against url, each committing up to rate
// transactions per second.
func startLoad(t *testing.T, url string, writers, rate int) *load {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{cancel: cancel}
	for i := 0; i < writers; i++ {
		l.wg.Add(1)
		go l.writer(ctx, url, rate)
	}
	t.Cleanup(l.stop)
	return l
}

func (l *load) writer(ctx context.Context, url string, rate int) {
	defer l.wg.Done()
	every := time.Second / time.Duration(rate)
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			_ = conn.Close(context.Background())
		}
	}()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if conn == nil || conn.IsClosed() {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			c, err := pgx.Connect(cctx, url)
			cancel()
			if err != nil {
				l.failed.Add(1)
				continue
			}
			conn = c
		}
		if err := l.step(ctx, conn, i); err != nil {
			l.failed.Add(1)
			_ = conn.Close(context.Background())
			conn = nil
			continue
		}
		l.committed.Add(1)
	}
}

// step is one writer transaction: bump a counter, log the step, and now and
// then delete the oldest events.
func (l *load) step(ctx context.Context, conn *pgx.Conn, i int) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	id := 1 + rand.IntN(100)
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	var n int64
	if err := tx.QueryRow(ctx, `UPDATE app.counters SET n = n + 1 WHERE id = $1 RETURNING n`, id).Scan(&n); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO app.events (counter_id, n) VALUES ($1, $2)`, id, n); err != nil {
		return err
	}
	if i%10 == 9 {
		if _, err := tx.Exec(ctx, `DELETE FROM app.events WHERE id IN (SELECT id FROM app.events ORDER BY id LIMIT 3)`); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

// stop ends the load and waits for the writers; safe to call twice.
func (l *load) stop() {
	l.cancel()
	l.wg.Wait()
}
