package preflight

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
	"github.com/ardent-cdc/ardent/internal/sink/postgres"
)

// Destination asks preflight to check the destination too: that it
// connects, is not the source, and that every table the connector would
// write is free for it (sink.Guard), before anything is created.
type Destination struct {
	URL string
	// Connector is the connector's name: tables it owns already (an
	// earlier attempt) are its own.
	Connector string
	Target    string // --target-schema
	Replace   bool   // --replace-existing
	// Live tells whether a connector is live (the catalog); nil counts
	// every owner of a table as live.
	Live func(ctx context.Context, connector string) (bool, error)
}

// checkDestination runs after the source checks; it still runs when the
// source could not be read (then without the table list).
func (r *runner) checkDestination(ctx context.Context) {
	d := r.opts.Destination
	fix := "fix the destination URL: postgres://USER:PASSWORD@HOST:PORT/DATABASE"
	dst, err := pgurl.ParseDestination(d.URL)
	if err != nil {
		r.set(CheckDestination, StatusFail, "destination: "+err.Error(), fix)
		return
	}
	scrub := func(s string) string { return pgurl.Scrub(r.scrub(s), dst.Password()) }
	target, err := schema.ParseTarget(d.Target)
	if err != nil {
		r.set(CheckDestination, StatusFail, "--target-schema: "+err.Error(), "give a schema name, or a prefix ending in '*' (e.g. shop_*)")
		return
	}
	if err := target.Check(r.tables); err != nil {
		r.set(CheckDestination, StatusFail, err.Error(), "use a prefix (--target-schema NAME_*) or exclude one of the tables")
		return
	}
	pctx, cancel := r.probeCtx(ctx)
	defer cancel()
	s, err := postgres.New(pctx, dst.Config, nil)
	if err != nil {
		r.set(CheckDestination, StatusFail, scrub(fmt.Sprintf("cannot connect to destination %s: %v", dst.Display(), errors.Unwrap(err))),
			"check the destination's host, port, database, user and password")
		return
	}
	defer s.Close(context.WithoutCancel(ctx))
	s.SetTarget(target)
	var srcID string
	if r.conn != nil {
		_ = r.conn.QueryRow(ctx, sink.ServerIdentitySQL).Scan(&srcID) // "": not compared
	}
	me := sink.Owner{Connector: d.Connector}
	if r.systemID != 0 && r.src != nil {
		me.Source = sink.SourceIdentity(r.systemID, r.db())
	}
	takeover, err := sink.Guard(ctx, s, sink.GuardOptions{SourceIdentity: srcID, Me: me, Tables: r.tables,
		Target: target, Replace: d.Replace, Live: d.Live})
	var conflict *sink.ConflictError
	switch {
	case errors.Is(err, sink.ErrSameDatabase):
		r.set(CheckDestination, StatusFail, fmt.Sprintf("destination %s is the source database itself", dst.Display()),
			"give another database as --destination (the source's own tables would be overwritten)")
	case errors.As(err, &conflict):
		r.set(CheckDestination, StatusFail, scrub(conflict.Error()), conflict.Remedy())
	case err != nil:
		r.set(CheckDestination, StatusFail, scrub(fmt.Sprintf("cannot check destination %s: %v", dst.Display(), err)),
			"grant the destination role CREATE on the database (or on the target schema) and SELECT on existing tables")
	case len(r.shapeDifferences(ctx, s)) > 0:
		diffs := r.shapeDifferences(ctx, s)
		r.set(CheckDestination, StatusWarn, fmt.Sprintf("destination %s: %s", dst.Display(), describeDifferences(diffs)),
			"nothing to do if this is the table to copy into: the snapshot empties it and runs these statements first; otherwise choose another schema with --target-schema")
	case len(takeover) > 0 && d.Replace:
		r.set(CheckDestination, StatusWarn, fmt.Sprintf("destination %s: --replace-existing will empty and take %s",
			dst.Display(), firstFew(takeover, 5)), "")
	default:
		where := "the same schemas as the source"
		if target != "" {
			where = fmt.Sprintf("schemas mapped by --target-schema %s", string(target))
		}
		msg := fmt.Sprintf("destination %s: %d tables into %s, none used by another connector or holding rows Ardent did not write",
			dst.Display(), len(r.tables), where)
		if r.tables == nil {
			msg = fmt.Sprintf("destination %s connects and is not the source (tables not checked: the source could not be read)", dst.Display())
		}
		if len(takeover) > 0 {
			msg += "; empty tables left by other connectors: " + strings.Join(takeover, ", ")
		}
		r.set(CheckDestination, StatusPass, msg, "")
	}
}

// shapeDifferences: the existing destination tables whose shape is not the
// source's (a previous connector's, or a table changed by hand), with the
// statements the snapshot will run on them once emptied. Cached: the check
// asks twice.
func (r *runner) shapeDifferences(ctx context.Context, c sink.ShapeComparer) map[string][]string {
	if r.shapeDiffs != nil {
		return r.shapeDiffs
	}
	r.shapeDiffs = map[string][]string{}
	if len(r.tables) > 0 {
		if d, err := c.ShapeDifferences(ctx, r.tables); err == nil {
			r.shapeDiffs = d
		}
	}
	return r.shapeDiffs
}

// describeDifferences names each differing table and its statements, a few
// at most.
func describeDifferences(diffs map[string][]string) string {
	names := make([]string, 0, len(diffs))
	for n := range diffs {
		names = append(names, n)
	}
	slices.Sort(names)
	var parts []string
	for i, n := range names {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more tables", len(names)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("%s differs from the source (%s)", n, strings.Join(diffs[n], "; ")))
	}
	return "existing tables will be changed to the source's shape: " + strings.Join(parts, ", ")
}
