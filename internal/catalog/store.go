package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ardent-cdc/ardent/internal/pgurl"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is the catalog. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	log  *slog.Logger
}

// Open connects to the catalog database at url and checks it answers. It
// does not migrate: the worker calls Migrate, the CLI does not.
func Open(ctx context.Context, url string, log *slog.Logger) (*Store, error) {
	if url == "" {
		return nil, errors.New("open catalog: no catalog URL (set ARDENT_CATALOG_URL)")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error quotes the connection string; say only what is wrong.
		return nil, errors.New("open catalog: ARDENT_CATALOG_URL is not a valid PostgreSQL connection string")
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "ardent-catalog"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open catalog at %s: %w", pgurl.Display(&cfg.ConnConfig.Config), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open catalog at %s: %w", pgurl.Display(&cfg.ConnConfig.Config), err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{pool: pool, log: log}, nil
}

// ConnConfig is a copy of the catalog's connection settings, for sessions
// of the worker's own beside the store's pool: the snapshot scheduler
// holds one per running copy (its advisory lock), which must not starve
// the pool.
func (s *Store) ConnConfig() *pgx.ConnConfig { return s.pool.Config().ConnConfig.Copy() }

// Close releases the pool.
func (s *Store) Close() { s.pool.Close() }
