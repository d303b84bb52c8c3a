package replication

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
)

// shapeContent starts the content of a shape message: Ardent's own
// transactional logical message (prefix HeartbeatPrefix) carrying a
// table's shape as the catalog had it when the message was written. The
// catalog poll emits one for each table whose catalog shape differs from
// the one the destination recorded, so DDL that no data change follows
// reaches the destination in stream order (design note 4.12).
const shapeContent = "shape:"

// ShapeMessage is a shape message's JSON.
type ShapeMessage struct {
	Connector string        `json:"connector"`
	Schema    string        `json:"schema"`
	Table     string        `json:"table"`
	Columns   []ShapeColumn `json:"columns"`
	// PK names the primary key's columns (empty: none).
	PK []string `json:"pk"`
}

// ShapeColumn is one column of a ShapeMessage.
type ShapeColumn struct {
	Pos     int    `json:"pos"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	TypeOID uint32 `json:"type_oid"`
	NotNull bool   `json:"not_null,omitempty"`
}

// EmitShape writes t's shape into the WAL, in a transaction that holds an
// ACCESS SHARE lock on the table while it reads the catalog, so no ALTER
// TABLE can commit between the read and the message: the message's LSN
// orders it exactly among the table's changes. The lock is given up at
// once (lock_timeout) when a migration holds the table: the next poll
// tries again. It reports false when it gave up or the table is gone.
func EmitShape(ctx context.Context, conn *pgx.Conn, connector string, table schema.Table) (bool, error) {
	emitted := false
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '200ms'"); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "LOCK TABLE "+table.Ident()+" IN ACCESS SHARE MODE"); err != nil {
			if isLockTimeout(err) || isUndefinedTable(err) {
				return errGiveUp
			}
			return err
		}
		rows, err := tx.Query(ctx, `SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.atttypid, a.attnotnull
			FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, table.Ident())
		if err != nil {
			return err
		}
		msg := ShapeMessage{Connector: connector, Schema: table.Schema, Table: table.Name}
		for rows.Next() {
			var c ShapeColumn
			if err := rows.Scan(&c.Pos, &c.Name, &c.Type, &c.TypeOID, &c.NotNull); err != nil {
				return err
			}
			msg.Columns = append(msg.Columns, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		msg.PK = []string{}
		if err := tx.QueryRow(ctx, PrimaryKeySQL, table.Ident()).Scan(&msg.PK); err != nil {
			return err
		}
		raw, err := json.Marshal(msg)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SELECT pg_logical_emit_message(true, $1, $2)", HeartbeatPrefix, shapeContent+string(raw)); err != nil {
			return err
		}
		emitted = true
		return nil
	})
	if errors.Is(err, errGiveUp) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("emit the shape of %s: %w", table.FullName(), err)
	}
	return emitted, nil
}

var errGiveUp = errors.New("gave up")

// PrimaryKeySQL reads a table's ($1, its quoted name) primary key columns
// as discovery counts them (schema.Table.PK): a valid, immediate primary
// key; an empty array when there is none.
const PrimaryKeySQL = `SELECT coalesce((SELECT array_agg(a.attname::text ORDER BY k.ord) FROM pg_index i
	CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
	JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
	WHERE i.indrelid = $1::regclass AND i.indisprimary AND i.indisvalid AND i.indimmediate AND k.ord <= i.indnkeyatts), '{}')`

// shapeChange turns a shape message for connector into a change; ok is
// false for other messages (heartbeats, other connectors' shapes).
func shapeChange(content, connector string) (sink.Change, bool) {
	body, ok := strings.CutPrefix(content, shapeContent)
	if !ok {
		return sink.Change{}, false
	}
	var m ShapeMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil || m.Connector != sink.BaseConnector(connector) || len(m.Columns) == 0 {
		return sink.Change{}, false
	}
	c := sink.Change{Op: sink.OpShape, Schema: m.Schema, Table: m.Table, Columns: make([]sink.Value, len(m.Columns)), PK: m.PK}
	if c.PK == nil {
		c.PK = []string{}
	}
	for i, col := range m.Columns {
		c.Columns[i] = sink.Value{Name: col.Name, Type: col.Type, TypeOID: col.TypeOID, NotNull: col.NotNull, Pos: col.Pos, Null: true}
	}
	return c, true
}

func isLockTimeout(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "55P03"
}

func isUndefinedTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42P01"
}

// streams tells whether the stream receives the table's changes (its
// add-tables filter): a shape message reaches every slot of the database,
// and a backfill's stream must not follow the other tables'.
func (o Options) streams(sch, table string) bool {
	if slices.Contains(o.Schemas, sch) {
		return true
	}
	return slices.ContainsFunc(o.Tables, func(t schema.Table) bool { return t.Schema == sch && t.Name == table })
}
