package e2estack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// CatalogDB is the database on the destination cluster holding Ardent's
// catalog.
const CatalogDB = "ardent_catalog"

// Options describe a stack; the zero value is a plain source, a plain
// destination cluster, a headless dev server and freshly built binaries.
type Options struct {
	Source      pgtest.Options // the source cluster
	Destination pgtest.Options // the cluster holding the catalog and the destinations
	// Databases created on each cluster (the catalog always is).
	SourceDatabases, DestinationDatabases []string
	Temporal                              temporaltest.Options
	// OwnTemporal makes the test wrapper start a dev server even when
	// ARDENT_TEST_TEMPORAL_ADDRESS names one, e.g. to restart it.
	OwnTemporal bool
	// CodecToken generates a token for the workers' codec endpoint.
	CodecToken bool
	// The ardent and ardent-worker binaries; empty: temporaltest.Build.
	ArdentBin, WorkerBin string
	// Dir holds the master key and the workers' logs; empty: a temporary
	// directory that Close removes.
	Dir string
}

// Stack is a running stack.
type Stack struct {
	Temporal             *temporaltest.Server
	Src, Dst             *pgtest.Cluster
	ArdentBin, WorkerBin string
	KeyFile              string // base64 master key, mode 0600
	CodecToken           string // empty unless Options.CodecToken
	Dir                  string

	ownDir      bool
	mu          sync.Mutex
	deployments []*Deployment
}

// New starts a stack. When it fails, whatever it started is stopped again.
func New(ctx context.Context, opts Options) (_ *Stack, err error) {
	s := &Stack{Dir: opts.Dir, ArdentBin: opts.ArdentBin, WorkerBin: opts.WorkerBin}
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "e2estack-"); err != nil {
			return nil, fmt.Errorf("create stack directory: %w", err)
		}
		s.ownDir = true
	}
	if s.ArdentBin == "" || s.WorkerBin == "" {
		if s.ArdentBin, s.WorkerBin, err = temporaltest.Build(); err != nil {
			return nil, err
		}
	}
	if s.Src, err = pgtest.StartCluster(ctx, opts.Source); err != nil {
		return nil, fmt.Errorf("source cluster: %w", err)
	}
	if s.Dst, err = pgtest.StartCluster(ctx, opts.Destination); err != nil {
		return nil, fmt.Errorf("destination cluster: %w", err)
	}
	for _, db := range opts.SourceDatabases {
		if err := s.Src.CreateDatabaseContext(ctx, db); err != nil {
			return nil, err
		}
	}
	for _, db := range append([]string{CatalogDB}, opts.DestinationDatabases...) {
		if err := s.Dst.CreateDatabaseContext(ctx, db); err != nil {
			return nil, err
		}
	}
	if s.Temporal, err = temporaltest.StartDevServer(ctx, opts.Temporal); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s.KeyFile = filepath.Join(s.Dir, "master.key")
	if err := os.WriteFile(s.KeyFile, []byte(base64.StdEncoding.EncodeToString(key)), 0o600); err != nil {
		return nil, fmt.Errorf("write master key: %w", err)
	}
	if opts.CodecToken {
		tok := make([]byte, 16)
		_, _ = rand.Read(tok)
		s.CodecToken = hex.EncodeToString(tok)
	}
	return s, nil
}

// Close stops the deployments' workers, the dev server and the clusters,
// and removes the stack's directory when New made it. Closing twice is a
// no-op.
func (s *Stack) Close() error {
	for _, d := range s.Deployments() {
		d.Close()
	}
	var errs []error
	if s.Temporal != nil {
		errs = append(errs, s.Temporal.Close())
	}
	for _, c := range []*pgtest.Cluster{s.Src, s.Dst} {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	if s.ownDir {
		errs = append(errs, os.RemoveAll(s.Dir))
	}
	return errors.Join(errs...)
}

// Deployments are the deployments not closed yet.
func (s *Stack) Deployments() []*Deployment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Deployment(nil), s.deployments...)
}
