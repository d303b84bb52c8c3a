package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/schema"
)

// Run verifies the connector's tables at one LSN. A nil error with
// Report.Equal false means the destination differs; an error means it could
// not be verified. Either way nothing is left on the source: the slot is
// temporary and the read transactions only read.
func Run(ctx context.Context, o Options) (*Report, error) {
	o = o.withDefaults()
	if o.Source == nil || o.Destination == nil {
		return nil, errors.New("verify: no source or destination connection")
	}
	tables, err := selectTables(o.Tables, o.Only)
	if err != nil {
		return nil, err
	}
	rep := &Report{Connector: o.Connector, StartedAt: time.Now().UTC()}
	var src *sourceSide
	var dst *destination
	defer func() {
		if src != nil {
			src.close(ctx)
		}
		if dst != nil {
			dst.close(ctx, o.Connector)
		}
	}()
	for {
		rep.Attempts++
		src, dst, err = snapshots(ctx, o, rep)
		if err == nil {
			break
		}
		if !errors.Is(err, errMissed) || rep.Attempts >= o.Attempts {
			if errors.Is(err, errMissed) {
				err = fmt.Errorf("%w: %d tries, each time the apply committed past the verify point first", ErrApplyNotReached, rep.Attempts)
			}
			return nil, err
		}
		o.Log.Info("verify: the apply passed the verify point first, trying again", "connector", o.Connector, "attempt", rep.Attempts)
	}
	o.Log.Info("verify: snapshots taken", "connector", o.Connector, "lsn", rep.LSN, "destination_lsn", rep.DestinationLSN, "stall", rep.Stall)

	c := &comparer{src: src.tx, dst: dst.tx, hash: hashNative, chunkRows: o.ChunkRows}
	// The planner cannot estimate the number of key ranges of a table and
	// takes it for the number of rows: it would sort the whole table (and
	// spill it to disk) to group rows into at most 1,000 ranges that a hash
	// aggregate holds in a few kilobytes. Nothing else verify runs needs a
	// sort it could avoid.
	for _, tx := range []pgx.Tx{src.tx, dst.tx} {
		if _, err := tx.Exec(ctx, "SET LOCAL enable_sort = off"); err != nil {
			return nil, fmt.Errorf("set up verify session: %w", err)
		}
	}
	same, err := sameHash(ctx, c)
	if err != nil {
		return nil, err
	}
	if !same {
		c.hash = hashMD5
	}
	// The tables' columns as of the verify point: the stream follows the
	// source's DDL (internal/shape), so the shape stored at onboarding may
	// be out of date (a column added, renamed or dropped since).
	if tables, err = currentShapes(ctx, src.tx, tables); err != nil {
		return nil, err
	}
	rep.Equal = true
	for i, t := range tables {
		res, err := c.compare(ctx, newPlan(t, o.Target.Table(t)))
		if err != nil {
			return nil, err
		}
		rep.Tables = append(rep.Tables, res)
		rep.Equal = rep.Equal && res.Equal
		if o.Progress != nil {
			o.Progress(i+1, len(tables), t.FullName())
		}
	}
	rep.FinishedAt = time.Now().UTC()
	return rep, nil
}

// snapshots takes the two snapshots at one LSN, or errMissed when the apply
// got past the verify point before it saw the hold.
func snapshots(ctx context.Context, o Options, rep *Report) (*sourceSide, *destination, error) {
	dst, err := openDestination(ctx, o.Destination, o.Connector)
	if err != nil {
		return nil, nil, err
	}
	src, err := openSource(ctx, o.Source, o.Connector)
	if err != nil {
		dst.close(ctx, o.Connector)
		return nil, nil, err
	}
	fail := func(err error) (*sourceSide, *destination, error) {
		src.close(ctx)
		dst.close(ctx, o.Connector)
		return nil, nil, err
	}
	if err := dst.setHold(ctx, o.Connector, src.lsn); err != nil {
		return fail(err)
	}
	if err := src.importSnapshot(ctx); err != nil {
		return fail(err)
	}
	if err := src.emitMarker(ctx, o.Connector); err != nil {
		return fail(err)
	}
	src.dropSlot(ctx) // the imported snapshot outlives it
	applied, stall, err := dst.snapshotWhenHeld(ctx, o.Connector, src.lsn, o.HoldTimeout)
	if err != nil {
		return fail(err)
	}
	rep.LSN, rep.DestinationLSN, rep.Stall = src.lsn.String(), applied.String(), stall
	return src, dst, nil
}

// sameHash: both servers compute hashtextextended alike (they do unless
// their architectures or major versions differ).
func sameHash(ctx context.Context, c *comparer) (bool, error) {
	const q = "SELECT hashtextextended('ardent verify ✓', 0)"
	var a, b int64
	if err := c.src.QueryRow(ctx, q).Scan(&a); err != nil {
		return false, fmt.Errorf("probe the source's row hash: %w", err)
	}
	if err := c.dst.QueryRow(ctx, q).Scan(&b); err != nil {
		return false, fmt.Errorf("probe the destination's row hash: %w", err)
	}
	return a == b, nil
}

// selectTables narrows the connector's tables to the requested ones.
// Partitioned parents hold no rows of their own: their leaves are tables of
// the connector.
func selectTables(all []schema.Table, only []string) ([]schema.Table, error) {
	var out, leaves []schema.Table
	var known []string
	for _, t := range all {
		if t.Kind == "p" {
			continue
		}
		leaves = append(leaves, t)
		known = append(known, t.FullName())
	}
	if len(only) == 0 {
		return leaves, nil
	}
	var unknown []string
	for _, name := range only {
		i := slices.IndexFunc(leaves, func(t schema.Table) bool { return t.FullName() == name || (t.Schema == "public" && t.Name == name) })
		if i < 0 {
			unknown = append(unknown, name)
			continue
		}
		if !slices.ContainsFunc(out, func(t schema.Table) bool { return t.FullName() == leaves[i].FullName() }) {
			out = append(out, leaves[i])
		}
	}
	if len(unknown) > 0 {
		return nil, &UnknownTableError{Names: unknown, Known: known}
	}
	return out, nil
}

// currentShapes replaces each table's columns and key with the source
// catalog's as of tx's snapshot; a table gone from it is kept as it was
// (its comparison then reports the missing table).
func currentShapes(ctx context.Context, tx pgx.Tx, tables []schema.Table) ([]schema.Table, error) {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.FullName()
	}
	found, err := schema.DiscoverAll(ctx, tx, schema.Selection{Tables: names})
	if err != nil {
		return nil, fmt.Errorf("verify: read the tables' columns at the verify point: %w", err)
	}
	byName := make(map[string]schema.Table, len(found))
	for _, f := range found {
		byName[f.FullName()] = f
	}
	out := make([]schema.Table, len(tables))
	for i, t := range tables {
		if f, ok := byName[t.FullName()]; ok && len(f.Columns) > 0 {
			t.Columns = f.Columns
			if len(f.KeyColumns) > 0 {
				t.KeyColumns = f.KeyColumns
			}
		}
		out[i] = t
	}
	return out, nil
}
