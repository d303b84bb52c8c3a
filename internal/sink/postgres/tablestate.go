package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
)

var _ sink.Registry = (*Sink)(nil)

// tableStateDDL is the per-table registry (sink.TableState); its changes
// bump applied_lsn.tables_version in the same transaction, which every
// stream transaction reads with its checkpoint lock: the stream reloads the
// registry exactly when it changed, and a change to it can never fall
// inside a stream transaction (both take the checkpoint row lock).
const tableStateDDL = `CREATE TABLE IF NOT EXISTS _ardent.table_state (
	connector text NOT NULL,
	schema_name text NOT NULL,
	table_name text NOT NULL,
	state text NOT NULL,
	apply_after pg_lsn NOT NULL DEFAULT '0/0',
	since pg_lsn NOT NULL DEFAULT '0/0',
	cause text NOT NULL DEFAULT '',
	remedy text NOT NULL DEFAULT '',
	updated_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (connector, schema_name, table_name)
);
ALTER TABLE _ardent.applied_lsn ADD COLUMN IF NOT EXISTS tables_version bigint NOT NULL DEFAULT 0;
ALTER TABLE _ardent.applied_lsn ADD COLUMN IF NOT EXISTS stream_schemas text[]`

// gate is what the stream needs of one table's state.
type gate struct {
	streaming  bool
	applyAfter pglogrepl.LSN
}

// applies tells whether a change to the table, in a source transaction
// committing at commit, is applied. A connector whose states were never
// set (tables_version 0: a connector from before the registry, or a
// backfill's own checkpoint) applies everything; otherwise a table without a state is skipped and remembered
// (SkippedTables), and a table with one applies when it streams and the
// change commits after its ApplyAfter.
func (a *applier) applies(schema, name string, commit pglogrepl.LSN) bool {
	if !a.gated {
		return true
	}
	g, ok := a.gates[tableKey{schema, name}]
	if !ok {
		a.skipMu.Lock()
		if a.skipped == nil {
			a.skipped = map[tableKey]bool{}
		}
		a.skipped[tableKey{schema, name}] = true
		a.skipMu.Unlock()
		return false
	}
	return g.streaming && commit > g.applyAfter
}

// loadGates reads the registry inside the open transaction when its
// version moved.
func (a *applier) loadGates(ctx context.Context, s *Sink, connector string, version int64) error {
	if a.gatesLoaded && version == a.gatesVersion {
		return nil
	}
	rows, err := a.tx.Query(ctx, `SELECT schema_name, table_name, state, apply_after FROM _ardent.table_state WHERE connector = $1`, connector)
	if err != nil {
		return fmt.Errorf("read table states of connector %q: %w", connector, err)
	}
	gates := map[tableKey]gate{}
	for rows.Next() {
		var sch, name, state string
		var after pglogrepl.LSN
		if err := rows.Scan(&sch, &name, &state, &after); err != nil {
			rows.Close()
			return fmt.Errorf("read table states of connector %q: %w", connector, err)
		}
		gates[tableKey{sch, name}] = gate{streaming: state == sink.TableStreaming, applyAfter: after}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read table states of connector %q: %w", connector, err)
	}
	if a.gatesLoaded {
		// A table may have been backfilled (and its destination table
		// changed to the source's shape) by another sink meanwhile.
		defer s.forget()
	}
	a.gates, a.gatesVersion, a.gatesLoaded, a.gated = gates, version, true, version > 0
	return nil
}

// TableStates lists the connector's tables in name order.
func (s *Sink) TableStates(ctx context.Context, connector string) ([]sink.TableState, error) {
	if err := s.ensureBookkeeping(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT schema_name, table_name, state, apply_after, since, cause, remedy, updated_at
		FROM _ardent.table_state WHERE connector = $1 ORDER BY schema_name, table_name`, connector)
	if err != nil {
		return nil, fmt.Errorf("read table states of connector %q: %w", connector, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sink.TableState, error) {
		var t sink.TableState
		err := r.Scan(&t.Schema, &t.Name, &t.State, &t.ApplyAfter, &t.Since, &t.Cause, &t.Remedy, &t.UpdatedAt)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("read table states of connector %q: %w", connector, err)
	}
	return out, nil
}

// ReplaceTableStates (see sink.Registry).
func (s *Sink) ReplaceTableStates(ctx context.Context, connector string, states []sink.TableState) error {
	return s.setTableStates(ctx, connector, states, false, true)
}

// SetTableStates records states (see sink.Registry).
func (s *Sink) SetTableStates(ctx context.Context, connector string, states []sink.TableState, onlyNew bool) error {
	return s.setTableStates(ctx, connector, states, onlyNew, false)
}

func (s *Sink) setTableStates(ctx context.Context, connector string, states []sink.TableState, onlyNew, replace bool) error {
	if err := s.ensureBookkeeping(ctx); err != nil {
		return err
	}
	conflict := `DO UPDATE SET state = excluded.state, apply_after = excluded.apply_after, since = excluded.since,
		cause = excluded.cause, remedy = excluded.remedy, updated_at = now()`
	if onlyNew {
		conflict = "DO NOTHING"
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockVersion(ctx, tx, connector); err != nil {
			return err
		}
		b := &pgx.Batch{}
		if replace {
			b.Queue(`DELETE FROM _ardent.table_state WHERE connector = $1`, connector)
		}
		for _, t := range states {
			b.Queue(`INSERT INTO _ardent.table_state (connector, schema_name, table_name, state, apply_after, since, cause, remedy)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (connector, schema_name, table_name) `+conflict,
				connector, t.Schema, t.Name, t.State, t.ApplyAfter, t.Since, t.Cause, t.Remedy)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("record %d table states of connector %q: %w", len(states), connector, err)
	}
	return nil
}

// lockVersion takes the connector's checkpoint row lock (creating the row
// at 0/0 for a connector that has none yet) and bumps its tables_version:
// no stream transaction is open meanwhile, and the next one reloads.
func lockVersion(ctx context.Context, tx pgx.Tx, connector string) error {
	if _, err := tx.Exec(ctx, insertCheckpoint, connector); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE _ardent.applied_lsn SET tables_version = tables_version + 1 WHERE connector = $1`, connector)
	return err
}

// Handover (see sink.Registry). It waits for the stream's open transaction,
// if any, through the checkpoint lock, so the checkpoint it compares is
// final until it commits.
func (s *Sink) Handover(ctx context.Context, connector, schemaName, name string, upTo pglogrepl.LSN) (ok bool, at pglogrepl.LSN, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var schemas []string
		if err := tx.QueryRow(ctx, `SELECT lsn, stream_schemas FROM _ardent.applied_lsn WHERE connector = $1 FOR UPDATE`, connector).Scan(&at, &schemas); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				at = 0
			} else {
				return err
			}
		}
		if at > upTo {
			return nil
		}
		if schemas != nil && !slices.Contains(schemas, schemaName) {
			// The stream session running now does not receive this
			// table's changes; the next one will (the selection changed).
			s.log.Info("handover waits for a stream session that receives the table's schema", "connector", connector,
				"table", schemaName+"."+name)
			return nil
		}
		if err := lockVersion(ctx, tx, connector); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE _ardent.table_state SET state = $4, apply_after = $5, since = $5, cause = '', remedy = '', updated_at = now()
			WHERE connector = $1 AND schema_name = $2 AND table_name = $3 AND state = $6`,
			connector, schemaName, name, sink.TableStreaming, upTo, sink.TableBackfilling)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("table %s.%s is no longer backfilling", schemaName, name)
		}
		ok = true
		return nil
	})
	if err != nil {
		return false, 0, fmt.Errorf("hand table %s.%s of connector %q over to the stream: %w", schemaName, name, connector, err)
	}
	return ok, at, nil
}

// SetStreamSchemas (see sink.Registry).
func (s *Sink) SetStreamSchemas(ctx context.Context, connector string, schemas []string) error {
	if err := s.ensureBookkeeping(ctx); err != nil {
		return err
	}
	if schemas == nil {
		schemas = []string{}
	}
	_, err := s.pool.Exec(ctx, insertCheckpoint+`;`, connector)
	if err == nil {
		_, err = s.pool.Exec(ctx, `UPDATE _ardent.applied_lsn SET stream_schemas = $2 WHERE connector = $1`, connector, schemas)
	}
	if err != nil {
		return fmt.Errorf("record the stream's schemas of connector %q: %w", connector, err)
	}
	return nil
}

// SkippedTables (see sink.Registry).
func (s *Sink) SkippedTables(connector string) []string {
	s.mu.Lock()
	a := s.appliers[connector]
	s.mu.Unlock()
	if a == nil {
		return nil
	}
	a.skipMu.Lock()
	defer a.skipMu.Unlock()
	if len(a.skipped) == 0 {
		return nil
	}
	out := make([]string, 0, len(a.skipped))
	for k := range a.skipped {
		out = append(out, k.schema+"."+k.name)
	}
	a.skipped = nil
	slices.Sort(out)
	return out
}

// DeleteCheckpoint removes a connector's checkpoint row (a finished
// backfill's own).
func (s *Sink) DeleteCheckpoint(ctx context.Context, connector string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM _ardent.applied_lsn WHERE connector = $1`, connector); err != nil {
		return fmt.Errorf("delete checkpoint of %q: %w", connector, err)
	}
	s.mu.Lock()
	delete(s.appliers, connector)
	s.mu.Unlock()
	return nil
}

// RowEstimates returns, by source "schema.table", the destination tables'
// row counts: the planner's estimate, or an exact count for a small table
// never analysed (-1 when neither is known).
func (s *Sink) RowEstimates(ctx context.Context, tables []schema.Table) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range tables {
		d := s.target.Table(t)
		var n int64
		var pages int64
		err := s.pool.QueryRow(ctx, `SELECT c.reltuples::int8, c.relpages::int8 FROM pg_class c WHERE c.oid = to_regclass($1)`, d.Ident()).Scan(&n, &pages)
		if errors.Is(err, pgx.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("estimate rows of destination table %s: %w", d.Ident(), err)
		}
		if n < 0 && pages < 1000 {
			if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM "+d.Ident()).Scan(&n); err != nil {
				return nil, fmt.Errorf("count rows of destination table %s: %w", d.Ident(), err)
			}
		}
		out[t.FullName()] = n
	}
	return out, nil
}
