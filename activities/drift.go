package activities

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/preflight"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/secrets"
)

// DriftGuard runs the drift checks (internal/preflight.Drift) of a live
// connector: cheap, read-only, one session as the connector's role.
type DriftGuard struct {
	Catalog *catalog.Store
	Keyring *secrets.Keyring
	// ProbeTimeout bounds each query; 0 is preflight's default.
	ProbeTimeout time.Duration
	Metrics      *Metrics
	Log          *slog.Logger
}

// DriftCheck re-runs the checks that can regress after onboarding on the
// connector's source, over its current selection and slot. A refused login
// is a result (role_valid failed); a source that cannot be reached is a
// retryable error: nothing is known then.
func (g *DriftGuard) DriftCheck(ctx context.Context, in contract.DriftCheckInput) (*contract.DriftReport, error) {
	at := site{activity: contract.ActivityDriftCheck, connector: in.Name, metrics: g.Metrics}
	rep, err := g.check(ctx, in, &at)
	return rep, boundary(err, at)
}

func (g *DriftGuard) check(ctx context.Context, in contract.DriftCheckInput, at *site) (*contract.DriftReport, error) {
	conn, err := g.Catalog.Get(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	srcURL, err := g.Catalog.SourceURL(ctx, in.Name, g.Keyring)
	if err != nil {
		return nil, err
	}
	src, _, err := parseConns(srcURL, "", &at.passwords)
	if err != nil {
		return nil, err
	}
	log := activityLog(ctx, g.log()).With("connector", in.Name)
	sel := conn.Selection
	rep, err := preflight.Drift(ctx, preflight.DriftOptions{
		Connector: in.Name, Source: src, Slot: conn.SlotName, ProbeTimeout: g.ProbeTimeout, Logger: log,
		Selection: schema.Selection{Schemas: sel.Schemas, Tables: sel.Tables, Exclude: sel.ExcludeTables},
	})
	if err != nil {
		return nil, fmt.Errorf("drift check of %s: %w", src.Display(), err)
	}
	g.Metrics.driftChecked(in.Name, rep.Checks)
	if reg := rep.Regressions(); len(reg) > 0 {
		ids := make([]string, len(reg))
		for i, c := range reg {
			ids[i] = c.ID
		}
		log.Warn("drift: the source regressed since onboarding", "checks", ids)
	}
	return &rep, nil
}

func (g *DriftGuard) log() *slog.Logger {
	if g.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return g.Log
}

// driftChecked exports a drift check's verdicts: 1 for each failed check.
func (m *Metrics) driftChecked(connector string, checks []contract.Check) {
	if m == nil || connector == "" {
		return
	}
	for _, c := range checks {
		v := 0.0
		if c.Status == contract.CheckFail {
			v = 1
		}
		m.DriftCheckFailed.WithLabelValues(connector, c.ID).Set(v)
	}
}
