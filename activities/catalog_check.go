package activities

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/schema"
)

// catalogWatch is a stream session's look at the source's catalog, every
// contract.CatalogCheckInterval on the stream's own source session (no
// session, timer or activity of its own): when the selection's tables
// differ from the last look (created, dropped, renamed, a column added,
// dropped or retyped, an identity lost or regained), it asks the workflow
// for a table discovery now. The workflow's own discoveries, every
// DefaultDiscoverInterval, remain the backstop: for a change made while no
// stream ran, and for a report that did not arrive.
type catalogWatch struct {
	sel    schema.Selection
	known  []string // the connector's tables ("schema.table") when the session started
	report func(ctx context.Context)
	log    *slog.Logger

	last [sha256.Size]byte
	seen bool
}

// check runs DiscoverAll on conn and reports a difference from the last
// look. The first look compares the tables' names with the connector's
// known ones, so a table created while no stream ran is found at the start
// of the next session, not at the next discovery.
func (w *catalogWatch) check(ctx context.Context, conn *pgx.Conn) {
	found, err := schema.DiscoverAll(ctx, conn, w.sel)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Debug("read the source's tables for changes", "err", err)
		}
		return
	}
	sum := fingerprint(found)
	first := !w.seen
	changed := w.seen && sum != w.last
	w.last, w.seen = sum, true
	if first {
		names := make([]string, 0, len(found))
		for _, t := range found {
			if t.Kind != "p" { // a partitioned parent holds no rows; its leaves are the tables
				names = append(names, t.FullName())
			}
		}
		slices.Sort(names)
		changed = !slices.Equal(names, w.known)
	}
	if changed {
		w.log.Info("the source's tables changed: table discovery now", "tables", len(found))
		w.report(ctx)
	}
}

// newCatalogWatch watches sel; known are the connector's tables.
func newCatalogWatch(sel schema.Selection, known []schema.Table, report func(context.Context), log *slog.Logger) *catalogWatch {
	names := make([]string, 0, len(known))
	for _, t := range known {
		if t.Kind != "p" {
			names = append(names, t.FullName())
		}
	}
	slices.Sort(names)
	return &catalogWatch{sel: sel, known: slices.Compact(names), report: report, log: log}
}

// fingerprint hashes what discovery acts on: the tables and their shapes
// and identities, not their sizes (which move with every write).
func fingerprint(tables []schema.Table) [sha256.Size]byte {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, t := range tables {
		t.EstimatedRows, t.SizeBytes = 0, 0
		_ = enc.Encode(t) // a hash.Hash does not fail
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}
