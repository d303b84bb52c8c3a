package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/pgtest"
)

// cluster is a throwaway PostgreSQL cluster started through pgtest's
// non-test entry points (which run it as the postgres OS user when root).
type cluster struct {
	name string
	dir  string
	port int
	ssl  bool
	bin  string // server binaries (pg_recvlogical, pgbench)
}

// startCluster initialises and starts a cluster under root/name on a free
// port, retrying on another port when the one picked was taken meanwhile.
// The caller registers the cluster for stopping (env.stopAll).
func startCluster(ctx context.Context, root, name string, opts pgtest.Options) (*cluster, error) {
	inst, err := pgtest.FindInstall()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, name)
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		port, err := pgtest.FreePort()
		if err != nil {
			return nil, err
		}
		if err := pgtest.Init(ctx, dir, port, opts); err != nil {
			return nil, fmt.Errorf("init cluster %s: %w", name, err)
		}
		if err := pgtest.StartDir(ctx, dir); err != nil {
			lastErr = err
			_ = pgtest.StopDir(context.WithoutCancel(ctx), dir)
			continue
		}
		return &cluster{name: name, dir: dir, port: port, ssl: opts.SSL, bin: inst.BinDir}, nil
	}
	return nil, fmt.Errorf("start cluster %s: %w", name, lastErr)
}

func (c *cluster) stop(ctx context.Context) error { return pgtest.StopDir(ctx, c.dir) }

// url is the superuser URL of db (trust authentication on loopback).
func (c *cluster) url(db string) string {
	mode := "disable"
	if c.ssl {
		mode = "require"
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=%s", c.port, db, mode)
}

// display is what the harness prints about a cluster: no URL.
func (c *cluster) display() string { return fmt.Sprintf("%s (127.0.0.1:%d)", c.name, c.port) }

// exec runs one or more statements with the simple protocol.
func (c *cluster) exec(ctx context.Context, db, sql string) error {
	conn, err := pgx.Connect(ctx, c.url(db))
	if err != nil {
		return fmt.Errorf("connect to %s/%s: %w", c.name, db, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.PgConn().Exec(ctx, sql).ReadAll(); err != nil {
		return fmt.Errorf("%s/%s: %s: %w", c.name, db, abbrev(sql), err)
	}
	return nil
}

// queryRow runs a query returning one row.
func (c *cluster) queryRow(ctx context.Context, db, sql string, dest ...any) error {
	conn, err := pgx.Connect(ctx, c.url(db))
	if err != nil {
		return fmt.Errorf("connect to %s/%s: %w", c.name, db, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.QueryRow(ctx, sql).Scan(dest...); err != nil {
		return fmt.Errorf("%s/%s: %s: %w", c.name, db, abbrev(sql), err)
	}
	return nil
}

func (c *cluster) createDatabase(ctx context.Context, name string) error {
	return c.exec(ctx, "postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
}

// tool is the path of a PostgreSQL client program, preferring the one
// beside the server binaries.
func (c *cluster) tool(name string) string {
	p := filepath.Join(c.bin, name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return name
}

func abbrev(sql string) string {
	sql = strings.Join(strings.Fields(sql), " ")
	if len(sql) > 80 {
		sql = sql[:77] + "..."
	}
	return sql
}

// waitFor polls cond every interval until it returns true, an error, or
// the timeout passes.
func waitFor(ctx context.Context, timeout, interval time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok && err == nil {
			return nil
		}
		lastErr = err
		if time.Now().After(deadline) {
			if lastErr != nil {
				return fmt.Errorf("%s: not after %s: %w", what, timeout, lastErr)
			}
			return fmt.Errorf("%s: not after %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(interval):
		}
	}
}
