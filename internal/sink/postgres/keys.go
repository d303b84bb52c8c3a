package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/schema"
)

// Deferred primary keys for the initial copy. Loading rows into a table
// whose primary key index already exists maintains the index row by row
// (random inserts into a growing btree, and their WAL); building the index
// once after the load sorts the keys and writes the tree sequentially,
// which costs a fraction of that. The table is the connector's and empty
// while it loads (Truncate just emptied it and nothing streams into it
// before the snapshot ends), so nobody can observe it without its key.

// KeyBuildMemory, above zero, raises the maintenance_work_mem (bytes) of a
// session that builds a primary key after the copy; it is never lowered
// below the destination's own setting. Zero, the default, leaves the
// destination's setting alone: the destination's memory is its operator's
// to give (ALTER ROLE ... SET maintenance_work_mem), and more of it did
// not make the build faster. On PostgreSQL 15 with two parallel
// maintenance workers, 10M bigint keys built in 3.6-4.1 s with the default
// 64 MB and in 4.3-5.2 s with 512 MB: one large in-memory sort is slower
// than sorting small runs and merging them from temporary files the page
// cache holds. A variable so the bench can compare.
var KeyBuildMemory int64

// DropKeys removes the primary keys of the connector's emptied destination
// tables before a bulk copy; BuildKeys adds them back after it. A table
// that holds rows keeps its key (nothing is gained, and a table with rows
// must never be without its key). It refuses tables the connector does not
// own, like Truncate.
func (s *Sink) DropKeys(ctx context.Context, connector string, tables []schema.Table) error {
	if err := s.ensureBookkeeping(ctx); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "LOCK TABLE _ardent.owned_tables IN SHARE MODE"); err != nil {
			return fmt.Errorf("drop primary keys for the copy: lock ownership: %w", err)
		}
		if err := s.checkOwned(ctx, tx, connector, tables); err != nil {
			return err
		}
		for _, t := range s.keyed(tables) {
			// The exclusive lock first, so the emptiness checked below
			// holds until the key is gone.
			if _, err := tx.Exec(ctx, "LOCK TABLE "+t.Ident()+" IN ACCESS EXCLUSIVE MODE"); err != nil {
				return fmt.Errorf("drop the primary key of %s: lock: %w", t.Ident(), err)
			}
			var pk string
			var empty bool
			if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'), ''),
				NOT EXISTS (SELECT FROM `+t.Ident()+`)`, t.Ident()).Scan(&pk, &empty); err != nil {
				return fmt.Errorf("drop the primary key of %s: look it up: %w", t.Ident(), err)
			}
			if pk == "" || !empty {
				continue
			}
			// Autovacuum stays off the table while it loads: the copy
			// commits chunk by chunk, so the statistics would start a
			// vacuum of the half-loaded table that competes with the copy
			// for CPU and then holds up the key build, whose lock cancels
			// it only after deadlock_timeout. BuildKeys turns it back on.
			if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s, SET (autovacuum_enabled = false)", t.Ident(), schema.QuoteIdent(pk))); err != nil {
				return fmt.Errorf("drop the primary key of %s: %w", t.Ident(), err)
			}
		}
		return nil
	})
	s.forget()
	return err
}

// BuildKeys adds the primary key (the source's key columns) to every
// destination table among tables that lacks one, several tables at once
// on up to parallelism sessions (maintenance_work_mem raised to
// KeyBuildMemory when that is set). Tables that have their key are left alone, so it is
// harmless to call twice.
func (s *Sink) BuildKeys(ctx context.Context, connector string, tables []schema.Table, parallelism int) error {
	keyed := s.keyed(tables)
	if len(keyed) == 0 {
		return nil
	}
	defer s.forget()
	start := time.Now()
	work := make(chan schema.Table, len(keyed))
	for _, t := range keyed {
		work <- t
	}
	close(work)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		errs  []error
		built int
		wg    sync.WaitGroup
	)
	for range max(1, min(parallelism, len(keyed))) {
		wg.Go(func() {
			for t := range work {
				ok, err := s.buildKey(ctx, t)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
					cancel()
				} else if ok {
					built++
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	s.log.Info("primary keys built", "connector", connector, "tables", built, "duration", time.Since(start))
	return nil
}

// buildKey adds t's primary key unless it has one, and reports whether it
// built it.
func (s *Sink) buildKey(ctx context.Context, t schema.Table) (bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("build the primary key of %s: acquire connection: %w", t.Ident(), err)
	}
	defer conn.Release()
	built := false
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var has bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p')`, t.Ident()).Scan(&has); err != nil {
			return fmt.Errorf("build the primary key of %s: look it up: %w", t.Ident(), err)
		}
		if has {
			return nil
		}
		// Local to this transaction: the pooled session goes back with
		// its own setting.
		if KeyBuildMemory > 0 {
			if _, err := tx.Exec(ctx, `SELECT set_config('maintenance_work_mem', greatest(pg_size_bytes(current_setting('maintenance_work_mem')), $1::bigint) / 1024 || 'kB', true)`, KeyBuildMemory); err != nil {
				return fmt.Errorf("build the primary key of %s: raise maintenance_work_mem: %w", t.Ident(), err)
			}
		}
		keys := make([]string, len(t.KeyColumns))
		for i, k := range t.KeyColumns {
			keys[i] = schema.QuoteIdent(k)
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf("ALTER TABLE %s ADD PRIMARY KEY (%s), RESET (autovacuum_enabled)", t.Ident(), strings.Join(keys, ", "))); err != nil {
			return fmt.Errorf("build the primary key of %s: %w", t.Ident(), err)
		}
		built = true
		return nil
	})
	return built, err
}

// keyed are the distinct destination tables among tables that have key
// columns (partitions of one parent may map to one table).
func (s *Sink) keyed(tables []schema.Table) []schema.Table {
	seen := map[string]bool{}
	var out []schema.Table
	for _, src := range tables {
		t := s.target.Table(src)
		if len(t.KeyColumns) == 0 || seen[t.Ident()] {
			continue
		}
		seen[t.Ident()] = true
		out = append(out, t)
	}
	return out
}

// SharedTableLoads tells the snapshot whether to split a large table over
// several loading sessions: only from PostgreSQL 16 on, which extends a
// table by many pages per lock. On an older server the second session
// queues on the table's extension lock (Lock:extend) for most of the
// copy and interleaves its pages with the first's (bench onboard).
func (s *Sink) SharedTableLoads(ctx context.Context) (bool, error) {
	var num int
	if err := s.pool.QueryRow(ctx, "SELECT current_setting('server_version_num')::int").Scan(&num); err != nil {
		return false, fmt.Errorf("read the destination's version: %w", err)
	}
	return num >= 160000, nil
}
