package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/pgtest"
)

// cluster is a throwaway PostgreSQL cluster (internal/pgtest, which runs it
// as the postgres OS user when root) with the name the report and the CPU
// accounting use.
type cluster struct {
	*pgtest.Cluster
	name string
}

// config is the parsed superuser connection to db, as the activities hand
// it down; a URL of our own always parses.
func (c *cluster) config(db string) *pgx.ConnConfig {
	cfg, err := pgx.ParseConfig(c.URL(db))
	if err != nil {
		panic(fmt.Sprintf("parse the URL of %s: %v", c.name, err))
	}
	return cfg
}

// display is what the harness prints about a cluster: no URL.
func (c *cluster) display() string { return fmt.Sprintf("%s (127.0.0.1:%d)", c.name, c.Port) }

// cluster starts a cluster that stopClusters (or cleanup) stops.
func (e *env) cluster(ctx context.Context, name string, opts pgtest.Options) (*cluster, error) {
	pc, err := pgtest.StartCluster(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("start cluster %s: %w", name, err)
	}
	c := &cluster{Cluster: pc, name: name}
	e.mu.Lock()
	e.clusters = append(e.clusters, c)
	e.mu.Unlock()
	e.log.Debug("cluster started", "cluster", c.display())
	return c, nil
}

func (e *env) stopClusters() {
	e.mu.Lock()
	cs := e.clusters
	e.clusters = nil
	e.mu.Unlock()
	for _, c := range cs {
		if err := c.Close(); err != nil {
			e.log.Warn("stop cluster", "cluster", c.display(), "error", err)
		}
	}
}
