package activities

import (
	"context"
	"github.com/ardent-cdc/ardent/internal/catalog"
	"log/slog"
)

// Preflighter runs the read-only preflight checks.
type Preflighter struct {
	Catalog  *catalog.Store
	EgressIP string
	Log      *slog.Logger
}

// Preflight runs every check against the source and returns the report.
func (p *Preflighter) Preflight(ctx context.Context, in PreflightInput) (*PreflightReport, error) {
	panic("wired in the next commit")
}
