package activities

import (
	"context"
	"log/slog"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/preflight"
	"github.com/ardent-cdc/ardent/internal/secrets"
)

// Preflighter runs the read-only preflight checks.
type Preflighter struct {
	Catalog  *catalog.Store
	Keyring  *secrets.Keyring
	EgressIP string
	Metrics  *Metrics
	Log      *slog.Logger
}

// Preflight runs every check against the source and returns the report.
// A failed check is a result, not an error: the workflow decides what to
// do with it. The report carries at most MaxReportTables tables so the
// payload stays small on databases with thousands of tables.
func (p *Preflighter) Preflight(ctx context.Context, in PreflightInput) (*PreflightReport, error) {
	src, err := revealURL(p.Keyring, in.SourceURL)
	if err != nil {
		return nil, boundary(err, site{activity: PreflightName, connector: in.Name, metrics: p.Metrics})
	}
	opts := preflight.Options{
		SourceURL:           src,
		Selection:           schemaSelection(in.Selection),
		ReplicaIdentityFull: in.Selection.ReplicaIdentityFull,
		EgressIP:            p.EgressIP,
		AcceptUnverified:    in.Selection.AcceptUnverified,
		CopyRateLimit:       in.Options.SnapshotMaxBytesPerSecond,
		Logger:              activityLog(ctx, p.log()),
	}
	if p.Catalog != nil {
		opts.KnownSource = func(ctx context.Context, sysid uint64, db string) (string, bool, error) {
			name, found, err := p.Catalog.LookupSource(ctx, sysid, db)
			if found && name == in.Name {
				return "", false, err // this onboarding's own connector, from an earlier attempt
			}
			return name, found, err
		}
	}
	if in.DestinationURL != "" {
		dst, err := revealURL(p.Keyring, in.DestinationURL)
		if err != nil {
			return nil, boundary(err, site{activity: PreflightName, connector: in.Name, metrics: p.Metrics})
		}
		opts.Destination = &preflight.Destination{URL: dst, Connector: in.Name, Target: in.Options.TargetSchema,
			Replace: in.Options.ReplaceExisting, Live: liveConnector(p.Catalog)}
	}
	activity.RecordHeartbeat(ctx)
	r := preflight.Compact(preflight.Run(ctx, opts), MaxReportTables)
	r.CheckedAt = time.Now()
	return &r, nil
}

func (p *Preflighter) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}
