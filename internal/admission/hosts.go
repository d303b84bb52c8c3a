package admission

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// HostLocks bounds the copies of one source host across every worker that
// shares the catalog database. A permit is the session advisory lock
// (key(host), i) for one i in 0..limit-1, held by a pooled session of its
// own until Release; a session that ends for any reason (worker killed,
// connection lost) drops its locks with it.
type HostLocks struct {
	pool  *pgxpool.Pool
	limit int
}

// keepalive makes the catalog server notice a vanished worker machine in
// about a minute instead of the kernel's two hours, so its permits come
// back that soon (a killed process closes its sockets at once anyway).
var keepalive = map[string]string{"tcp_keepalives_idle": "30", "tcp_keepalives_interval": "10", "tcp_keepalives_count": "3"}

// NewHostLocks opens the sessions' pool on the catalog database described
// by cc (copied). maxConns bounds the sessions: one per permit this
// worker holds, plus one to try with; a copy that finds none free waits as
// if its host were busy. limit is the permits per host (0 or less: no
// bound, and no pool).
func NewHostLocks(ctx context.Context, cc *pgx.ConnConfig, limit, maxConns int) (*HostLocks, error) {
	if limit <= 0 {
		return &HostLocks{}, nil
	}
	cfg, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, fmt.Errorf("snapshot host locks: pool config: %w", err)
	}
	cfg.ConnConfig = cc.Copy()
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "ardent-snapshot-permits"
	for k, v := range keepalive {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	cfg.MaxConns = int32(max(maxConns, 2))
	cfg.MinConns = 0
	cfg.MaxConnIdleTime = time.Minute
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("snapshot host locks: open pool on the catalog: %w", err)
	}
	return &HostLocks{pool: pool, limit: limit}, nil
}

// Limit is the number of copies allowed per host (0 or less: unlimited).
func (h *HostLocks) Limit() int { return h.limit }

// Close closes the sessions, which releases any permit still held. It
// waits for every permit to be released first (pgxpool): call it after the
// copies ended, as the worker does after stopping its activities.
func (h *HostLocks) Close() {
	if h.pool != nil {
		h.pool.Close()
	}
}

// hostKey is the permits' first key. It stays clear of the catalog's other advisory
// locks: a two-key lock never conflicts with a one-key one (the migration
// lock), and hosts hash into 31 bits.
func hostKey(host string) int32 {
	f := fnv.New32a()
	_, _ = f.Write([]byte("ardent snapshot host " + host))
	return int32(f.Sum32() & 0x7fffffff)
}

// TryAcquire takes one of host's permits if one is free anywhere. When
// none is, held is how many are taken (by every worker).
func (h *HostLocks) TryAcquire(ctx context.Context, host string) (release func(), held int, err error) {
	if h.limit <= 0 {
		return func() {}, 0, nil
	}
	key := hostKey(host)
	conn, err := h.pool.Acquire(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("snapshot permit for %s: catalog session: %w", host, err)
	}
	for i := range int32(h.limit) {
		var got bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", key, i).Scan(&got); err != nil {
			// The lock may have been taken before the error: only
			// ending the session is sure to give it back.
			destroy(conn)
			return nil, 0, fmt.Errorf("snapshot permit %d for %s: try lock: %w", i, host, err)
		}
		if got {
			return h.releaser(conn, host, key, i), 0, nil
		}
	}
	err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objsubid = 2
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND classid::int8 = $1 AND objid::int8 < $2`, int64(key), int64(h.limit)).Scan(&held)
	if err != nil {
		destroy(conn)
		return nil, 0, fmt.Errorf("snapshot permits for %s: count holders: %w", host, err)
	}
	conn.Release()
	return nil, held, nil
}

func (h *HostLocks) releaser(conn *pgxpool.Conn, host string, key, i int32) func() {
	done := false
	return func() {
		if done {
			return
		}
		done = true
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_advisory_unlock($1, $2)", key, i).Scan(&ok); err != nil || !ok {
			// Not sure the lock is gone: end the session, which is.
			destroy(conn)
			return
		}
		conn.Release()
	}
}

// destroy closes a pooled session instead of returning it to the pool.
func destroy(conn *pgxpool.Conn) {
	c := conn.Hijack()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = c.Close(ctx)
}
