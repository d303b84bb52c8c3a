package activities

import "context"

// Preflighter runs the read-only preflight checks.
type Preflighter struct{}

// Preflight runs every check against the source and returns the report.
func (p *Preflighter) Preflight(ctx context.Context, in PreflightInput) (*PreflightReport, error) {
	panic("wired in the next commit")
}
