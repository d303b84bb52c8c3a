package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/shape"
	"github.com/ardent-cdc/ardent/internal/sink"
)

var (
	_ sink.Sink           = (*Sink)(nil)
	_ sink.Copier         = (*Sink)(nil)
	_ sink.Targeted       = (*Sink)(nil)
	_ sink.ServerIdentity = (*Sink)(nil)
)

// Sink writes to one PostgreSQL destination database.
type Sink struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	// target maps source schemas to destination schemas (--target-schema):
	// every destination name the sink uses goes through it.
	target schema.Target

	mu     sync.Mutex
	tables map[tableKey]*tableInfo // filled by Prepare, or lazily from the catalog
	// Streaming state: one applier per connector, holding the durable LSN
	// cache and, while a large source transaction is split over several
	// Writes, its open destination transaction.
	appliers map[string]*applier
	// Following the source's DDL (shape.go): what to ask the source's
	// catalog, and the connector's policies.
	catalog     sink.SourceCatalog
	policy      shape.Policy
	tablePolicy map[string]shape.Policy
}

// Open parses a destination URL and connects (tests and tools; the worker
// parses once at its boundary and calls New).
func Open(ctx context.Context, url string, log *slog.Logger) (*Sink, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, errors.New("parse destination URL: malformed connection string")
	}
	return New(ctx, cfg, log)
}

// New connects to the destination described by conn (which it does not
// change). Its password never appears in errors or logs.
func New(ctx context.Context, conn *pgx.ConnConfig, log *slog.Logger) (*Sink, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, fmt.Errorf("destination pool settings: %w", err)
	}
	cfg.ConnConfig = conn.Copy()
	// Every statement the stream runs joins a batch of keys to a table by
	// its primary key. Right after a bulk load the table has no statistics,
	// and the planner then likes hashing the whole table for each batch:
	// a nested loop over the key index is always the right plan here.
	cfg.ConnConfig.RuntimeParams["enable_hashjoin"] = "off"
	cfg.ConnConfig.RuntimeParams["enable_mergejoin"] = "off"
	// The applied LSN is acknowledged to the source, which then recycles
	// the WAL: a commit the destination could still lose (a database or
	// role default of synchronous_commit=off) must never be acknowledged.
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to destination %s: %w", redacted(cfg), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to destination %s: %w", redacted(cfg), err)
	}
	return &Sink{
		pool:     pool,
		log:      log,
		tables:   map[tableKey]*tableInfo{},
		appliers: map[string]*applier{},
	}, nil
}

// SetTarget makes the sink write each source table into the destination
// schema target maps it to. Call it before any other method.
func (s *Sink) SetTarget(target schema.Target) {
	s.target = target
	s.forget()
}

// ServerIdentity is the destination's sink.ServerIdentitySQL.
func (s *Sink) ServerIdentity(ctx context.Context) (string, error) {
	var id string
	if err := s.pool.QueryRow(ctx, sink.ServerIdentitySQL).Scan(&id); err != nil {
		return "", fmt.Errorf("identify destination: %w", err)
	}
	return id, nil
}

func redacted(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// Close rolls back any open streamed transaction and closes the pool.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	for _, a := range s.appliers {
		a.abort(ctx)
	}
	s.appliers = map[string]*applier{}
	s.mu.Unlock()
	s.pool.Close()
	return nil
}

const bookkeepingDDL = `CREATE SCHEMA IF NOT EXISTS _ardent;
CREATE TABLE IF NOT EXISTS _ardent.applied_lsn (
	connector text PRIMARY KEY,
	lsn pg_lsn NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
)`

// fitGuardDDL is the function a guarded assignment (tableInfo.assign) calls
// when a value would be truncated or rounded by the destination column's
// typmod. It names the table and column, never the value (row data stays
// out of logs).
const fitGuardDDL = `CREATE FUNCTION _ardent.value_does_not_fit(sch text, tbl text, col text, typ text) RETURNS text
LANGUAGE plpgsql AS $f$
BEGIN
	RAISE EXCEPTION 'a value of column %.%.% does not fit the destination type % (it would be truncated or rounded)', sch, tbl, col, typ
		USING ERRCODE = '22001', SCHEMA = sch, TABLE = tbl, COLUMN = col,
		HINT = 'the source column was probably widened (ALTER TABLE ... ALTER COLUMN ... TYPE): widen the destination column the same way, then resume the connector';
END
$f$`

// ensureBookkeeping creates what streaming needs in the destination's
// _ardent schema, looking first (CREATE ... IF NOT EXISTS still needs the
// CREATE privilege, and two connectors may start at once).
func (s *Sink) ensureBookkeeping(ctx context.Context) error {
	var table, guard, hold, owned, states, shapes bool
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('_ardent.applied_lsn') IS NOT NULL,
		to_regprocedure('_ardent.value_does_not_fit(text,text,text,text)') IS NOT NULL,
		to_regclass('_ardent.verify_hold') IS NOT NULL,
		to_regclass('_ardent.owned_tables') IS NOT NULL,
		to_regclass('_ardent.table_state') IS NOT NULL AND EXISTS (SELECT 1 FROM pg_attribute
			WHERE attrelid = to_regclass('_ardent.applied_lsn') AND attname = 'stream_schemas' AND NOT attisdropped),
		to_regclass('_ardent.schema_history') IS NOT NULL`).Scan(&table, &guard, &hold, &owned, &states, &shapes); err != nil {
		return fmt.Errorf("look up _ardent bookkeeping: %w", err)
	}
	if !table {
		if _, err := s.pool.Exec(ctx, bookkeepingDDL); err != nil {
			return fmt.Errorf("create _ardent.applied_lsn: %w", err)
		}
	}
	if !hold {
		if _, err := s.pool.Exec(ctx, HoldTableDDL); err != nil && !isDuplicate(err) {
			return fmt.Errorf("create _ardent.verify_hold: %w", err)
		}
	}
	if !states {
		if _, err := s.pool.Exec(ctx, tableStateDDL); err != nil && !isDuplicate(err) {
			return fmt.Errorf("create _ardent.table_state: %w", err)
		}
	}
	if !owned {
		if _, err := s.pool.Exec(ctx, ownedTablesDDL); err != nil && !isDuplicate(err) {
			return fmt.Errorf("create _ardent.owned_tables: %w", err)
		}
	}
	if !shapes {
		if _, err := s.pool.Exec(ctx, shapeDDL); err != nil && !isDuplicate(err) {
			return fmt.Errorf("create _ardent.source_shape and _ardent.schema_history: %w", err)
		}
	}
	if !guard {
		_, err := s.pool.Exec(ctx, fitGuardDDL)
		if err != nil && !isDuplicate(err) {
			return fmt.Errorf("create _ardent.value_does_not_fit: %w", err)
		}
	}
	return nil
}

// isDuplicate: another session created the object meanwhile (CREATE ... IF
// NOT EXISTS can still fail on the catalog's unique index when two run at
// once).
func isDuplicate(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "42723" || pe.Code == "42P07" || pe.Code == "23505")
}

// Prepare creates the bookkeeping table and the destination tables, which
// it records as the connector's (Claim: a table another connector owns, or
// one holding rows Ardent did not write, is refused unless claimed for the
// connector before). It is idempotent: existing tables are kept as they are.
func (s *Sink) Prepare(ctx context.Context, connector string, tables []schema.Table) error {
	if err := s.Claim(ctx, sink.Owner{Connector: connector}, tables, nil); err != nil {
		return err
	}
	for _, src := range tables {
		t := s.target.Table(src)
		ddl := createTableSQL(t)
		if _, err := s.pool.Exec(ctx, ddl); err != nil {
			return fmt.Errorf("create destination table %s: %w", t.Ident(), err)
		}
		if len(t.KeyColumns) == 0 {
			if err := s.createAccessIndex(ctx, t); err != nil {
				return err
			}
		}
	}
	s.forget()
	s.log.Info("destination prepared", "connector", connector, "tables", len(tables))
	return nil
}

// createTableSQL builds CREATE SCHEMA + CREATE TABLE for one source table.
// Domains and enums are stored as their base type, so the destination needs
// none of the source's user-defined types; generated columns are plain
// columns because the source sends their values.
func createTableSQL(t schema.Table) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE SCHEMA IF NOT EXISTS %s;\n", schema.QuoteIdent(t.Schema))
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (", t.Ident())
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(schema.QuoteIdent(c.Name))
		b.WriteByte(' ')
		b.WriteString(destType(c))
		if c.NotNull {
			b.WriteString(" NOT NULL")
		}
	}
	if len(t.KeyColumns) > 0 {
		b.WriteString(", PRIMARY KEY (")
		for i, k := range t.KeyColumns {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(schema.QuoteIdent(k))
		}
		b.WriteByte(')')
	}
	b.WriteString(")")
	return b.String()
}

// destType is the type the destination column has.
func destType(c schema.Column) string {
	if c.BaseType != "" {
		return c.BaseType
	}
	return c.Type
}

// Truncate empties the connector's destination tables in one statement, so
// a restarted snapshot starts from nothing. It refuses (ErrNotOwned) when
// any of them is not recorded as the connector's: Ardent never empties a
// table another connector writes or rows it did not write.
func (s *Sink) Truncate(ctx context.Context, connector string, tables []schema.Table) error {
	if len(tables) == 0 {
		return nil
	}
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = s.target.Table(t).Ident()
	}
	if err := s.ensureBookkeeping(ctx); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The ownership check and the TRUNCATE in one transaction, with
		// claims locked out, so no claim can move a table in between.
		if _, err := tx.Exec(ctx, "LOCK TABLE _ardent.owned_tables IN SHARE MODE"); err != nil {
			return fmt.Errorf("truncate destination tables: lock ownership: %w", err)
		}
		if err := s.checkOwned(ctx, tx, connector, tables); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "TRUNCATE "+strings.Join(names, ", ")); err != nil {
			return fmt.Errorf("truncate %d destination tables: %w", len(tables), err)
		}
		for _, t := range tables {
			if err := s.reshape(ctx, tx, connector, t); err != nil {
				return err
			}
		}
		s.forget()
		return nil
	})
}

// CopyFrom streams COPY data into the table. The data's columns are the
// table's Columns, in order, including generated ones.
func (s *Sink) CopyFrom(ctx context.Context, src schema.Table, r io.Reader, binary bool) (int64, error) {
	table := s.target.Table(src)
	format := "text"
	if binary {
		format = "binary"
	}
	cols := make([]string, len(table.Columns))
	for i, c := range table.Columns {
		cols[i] = schema.QuoteIdent(c.Name)
	}
	sql := fmt.Sprintf("COPY %s (%s) FROM STDIN (FORMAT %s)", table.Ident(), strings.Join(cols, ", "), format)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("copy into %s: acquire connection: %w", table.Ident(), err)
	}
	defer conn.Release()
	tag, err := conn.Conn().PgConn().CopyFrom(ctx, r, sql)
	if err != nil {
		return 0, fmt.Errorf("copy into %s: %w", table.Ident(), err)
	}
	return tag.RowsAffected(), nil
}

// DurableLSN reads the connector's committed LSN (0 when none).
func (s *Sink) DurableLSN(ctx context.Context, connector string) (pglogrepl.LSN, error) {
	// The bookkeeping may not exist yet when the stream starts before any
	// Prepare (or against a fresh destination, or one an older version
	// prepared).
	if err := s.ensureBookkeeping(ctx); err != nil {
		return 0, err
	}
	var lsn pglogrepl.LSN
	err := s.pool.QueryRow(ctx, "SELECT lsn FROM _ardent.applied_lsn WHERE connector = $1", connector).Scan(&lsn)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read applied LSN of connector %q: %w", connector, err)
	}
	return lsn, nil
}
