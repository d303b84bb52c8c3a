package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
)

var _ sink.Owners = (*Sink)(nil)

// Ownership: every destination table a connector writes is recorded in
// _ardent.owned_tables under that connector. A connector truncates (for its
// snapshot) and writes only tables it owns, and takes a table only when it
// is missing, empty, or the operator said to replace it: two connectors
// can share a destination database but never a table, and a table holding
// rows Ardent did not write is never emptied by surprise.

// ownedTablesDDL is the ownership record. source is the owner's source
// database ("<system identifier>/<database>"), so a connector of the same
// name onboarded later for another source is not mistaken for the owner.
const ownedTablesDDL = `CREATE TABLE IF NOT EXISTS _ardent.owned_tables (
	schema_name text NOT NULL,
	table_name text NOT NULL,
	connector text NOT NULL,
	source text NOT NULL DEFAULT '',
	claimed_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (schema_name, table_name)
)`

// Targets reports, read-only, the state of the destination tables the
// source tables map to. The bookkeeping need not exist yet.
func (s *Sink) Targets(ctx context.Context, me sink.Owner, tables []schema.Table) ([]sink.TargetTable, error) {
	if len(tables) == 0 {
		return nil, nil
	}
	schemas := make([]string, len(tables))
	names := make([]string, len(tables))
	for i, t := range tables {
		d := s.target.Table(t)
		schemas[i], names[i] = d.Schema, d.Name
	}
	var ownership, usable bool
	if err := s.pool.QueryRow(ctx, `SELECT n.oid IS NOT NULL AND has_schema_privilege(n.oid, 'USAGE')
			AND to_regclass('_ardent.owned_tables') IS NOT NULL,
		n.oid IS NULL OR has_schema_privilege(n.oid, 'USAGE')
		FROM (SELECT 1) x LEFT JOIN pg_namespace n ON n.nspname = '_ardent'`).Scan(&ownership, &usable); err != nil {
		return nil, fmt.Errorf("look up _ardent.owned_tables: %w", err)
	}
	if !usable {
		return nil, fmt.Errorf("the destination role may not use schema _ardent, Ardent's bookkeeping (created by another role): " +
			"GRANT USAGE, CREATE ON SCHEMA _ardent and ALL PRIVILEGES ON ALL TABLES IN SCHEMA _ardent to it, or connect as that role")
	}
	owners := `NULL::text, NULL::text`
	if ownership {
		owners = `(SELECT o.connector FROM _ardent.owned_tables o WHERE o.schema_name = d.s AND o.table_name = d.n),
			(SELECT o.source FROM _ardent.owned_tables o WHERE o.schema_name = d.s AND o.table_name = d.n)`
	}
	// has_*_privilege with a list of privileges is true when ANY is held:
	// each privilege is asked on its own.
	rows, err := s.pool.Query(ctx, `SELECT d.ord, c.oid IS NOT NULL, `+owners+`,
			n.oid IS NOT NULL,
			CASE WHEN n.oid IS NULL THEN has_database_privilege(current_database(), 'CREATE')
			     ELSE has_schema_privilege(n.oid, 'CREATE') END,
			n.oid IS NULL OR has_schema_privilege(n.oid, 'USAGE'),
			c.oid IS NULL OR has_table_privilege(c.oid, 'SELECT'),
			c.oid IS NULL OR has_table_privilege(c.oid, 'INSERT'),
			c.oid IS NULL OR has_table_privilege(c.oid, 'UPDATE'),
			c.oid IS NULL OR has_table_privilege(c.oid, 'DELETE'),
			c.oid IS NULL OR has_table_privilege(c.oid, 'TRUNCATE')
		FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS d(s, n, ord)
		LEFT JOIN pg_namespace n ON n.nspname = d.s
		LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = d.n AND c.relkind IN ('r', 'p')
		ORDER BY d.ord`, schemas, names)
	if err != nil {
		return nil, fmt.Errorf("look up destination tables: %w", err)
	}
	out := make([]sink.TargetTable, 0, len(tables))
	for rows.Next() {
		var ord int
		var exists, schemaExists, create, usage, sel, ins, upd, del, trunc bool
		var owner, ownerSource *string
		if err := rows.Scan(&ord, &exists, &owner, &ownerSource, &schemaExists, &create, &usage, &sel, &ins, &upd, &del, &trunc); err != nil {
			rows.Close()
			return nil, fmt.Errorf("look up destination tables: %w", err)
		}
		t := tables[ord-1]
		tt := sink.TargetTable{Source: t.FullName(), Destination: s.target.Table(t).FullName()}
		if owner != nil {
			tt.Owner = *owner
			if ownerSource != nil {
				tt.OwnerSource = *ownerSource
			}
		}
		if !exists {
			tt.State = sink.TargetMissing
			if !create {
				if schemaExists {
					tt.Missing = append(tt.Missing, "CREATE on schema "+schema.QuoteIdent(schemas[ord-1]))
				} else {
					tt.Missing = append(tt.Missing, "CREATE on the database (to create schema "+schema.QuoteIdent(schemas[ord-1])+")")
				}
			}
		}
		if !usage {
			tt.Missing = append(tt.Missing, "USAGE on schema "+schema.QuoteIdent(schemas[ord-1]))
		}
		for p, ok := range map[string]bool{"SELECT": sel, "INSERT": ins, "UPDATE": upd, "DELETE": del, "TRUNCATE": trunc} {
			if !ok {
				tt.Missing = append(tt.Missing, p)
			}
		}
		slices.Sort(tt.Missing)
		out = append(out, tt)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up destination tables: %w", err)
	}
	for i := range out {
		tt := &out[i]
		if tt.State == sink.TargetMissing {
			continue
		}
		if slices.Contains(tt.Missing, "SELECT") || slices.Contains(tt.Missing, "USAGE on schema "+schema.QuoteIdent(schemas[i])) {
			tt.State = sink.TargetForeignRows // cannot tell: treated as holding rows
			tt.HasRows = true
		} else {
			d := schema.Table{Schema: schemas[i], Name: names[i]}
			if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+d.Ident()+")").Scan(&tt.HasRows); err != nil {
				return nil, fmt.Errorf("look into destination table %s: %w", d.Ident(), err)
			}
		}
		switch {
		case tt.Owner != "" && me.Owns(tt.Owner, tt.OwnerSource):
			tt.State = sink.TargetOwned
		case tt.Owner != "":
			tt.State = sink.TargetClaimed
		case tt.HasRows:
			tt.State = sink.TargetForeignRows
		default:
			tt.State = sink.TargetEmpty
		}
	}
	return out, nil
}

// Claim records the tables as owner's, in one transaction serialised with
// every other claim on this destination. Missing and empty unowned tables
// are taken; tables already owner's are kept; takeover names (destination
// schema.table) the tables the caller judged may be taken from someone
// else (Judge). Anything else is sink.ErrNotOwned, naming the table and its
// owner, and nothing is claimed.
func (s *Sink) Claim(ctx context.Context, owner sink.Owner, tables []schema.Table, takeover []string) error {
	if err := s.ensureBookkeeping(ctx); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Two connectors claiming at once: the second waits and then sees
		// the first one's rows.
		if _, err := tx.Exec(ctx, "LOCK TABLE _ardent.owned_tables IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return err
		}
		for _, src := range tables {
			d := s.target.Table(src)
			var connector, source *string
			err := tx.QueryRow(ctx, `SELECT connector, source FROM _ardent.owned_tables WHERE schema_name = $1 AND table_name = $2`,
				d.Schema, d.Name).Scan(&connector, &source)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			taken := slices.Contains(takeover, d.FullName())
			switch {
			case connector != nil && owner.Owns(*connector, deref(source)):
				if owner.Source != "" && deref(source) == "" {
					if _, err := tx.Exec(ctx, `UPDATE _ardent.owned_tables SET source = $3 WHERE schema_name = $1 AND table_name = $2`,
						d.Schema, d.Name, owner.Source); err != nil {
						return err
					}
				}
				continue
			case connector != nil && !taken:
				return fmt.Errorf("%w: %s belongs to connector %q", sink.ErrNotOwned, d.FullName(), *connector)
			case connector == nil && !taken:
				var rows bool
				err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, d.Ident()).Scan(&rows)
				if err != nil {
					return err
				}
				if rows {
					if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+d.Ident()+")").Scan(&rows); err != nil {
						return err
					}
				}
				if rows {
					return fmt.Errorf("%w: %s holds rows Ardent did not write (--replace-existing replaces them)", sink.ErrNotOwned, d.FullName())
				}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO _ardent.owned_tables (schema_name, table_name, connector, source)
				VALUES ($1, $2, $3, $4)
				ON CONFLICT (schema_name, table_name) DO UPDATE SET connector = excluded.connector, source = excluded.source, claimed_at = now()`,
				d.Schema, d.Name, owner.Connector, owner.Source); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, sink.ErrNotOwned) {
			return err
		}
		return fmt.Errorf("record ownership of %d destination tables for connector %q: %w", len(tables), owner.Connector, err)
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// checkOwned refuses when any of the tables' destination tables is not
// recorded as the connector's.
func (s *Sink) checkOwned(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, connector string, tables []schema.Table) error {
	schemas := make([]string, len(tables))
	names := make([]string, len(tables))
	for i, t := range tables {
		d := s.target.Table(t)
		schemas[i], names[i] = d.Schema, d.Name
	}
	var bad, owner *string
	err := q.QueryRow(ctx, `SELECT d.s || '.' || d.n, o.connector
		FROM unnest($1::text[], $2::text[]) AS d(s, n)
		LEFT JOIN _ardent.owned_tables o ON o.schema_name = d.s AND o.table_name = d.n
		WHERE o.connector IS DISTINCT FROM $3 LIMIT 1`, schemas, names, connector).Scan(&bad, &owner)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check ownership of destination tables: %w", err)
	}
	if owner == nil {
		return fmt.Errorf("%w: %s is not recorded as connector %q's", sink.ErrNotOwned, deref(bad), connector)
	}
	return fmt.Errorf("%w: %s belongs to connector %q, not %q", sink.ErrNotOwned, deref(bad), *owner, connector)
}
