package activities

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ardent-cdc/ardent/internal/sink"
)

// mismatchKind is one SQLSTATE with which the destination refuses a change
// because its table no longer has the source's shape: the source DDL that
// most often causes it, and the destination change that matches it again.
type mismatchKind struct {
	cause string
	fix   func(table, column string) string
}

func alterType(table, column string) string {
	return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE <type as on the source>", table, column)
}

var (
	typeChanged = mismatchKind{"a column's type was changed on the source (ALTER TABLE … ALTER COLUMN … TYPE)", alterType}
	widened     = mismatchKind{"a column was widened on the source (ALTER TABLE … ALTER COLUMN … TYPE)", alterType}
	dateChanged = mismatchKind{"a date/time column's type was changed on the source (ALTER TABLE … ALTER COLUMN … TYPE)", alterType}
)

var mismatchCodes = map[string]mismatchKind{
	"42703": {"a column was added on the source (ALTER TABLE … ADD COLUMN) or renamed (ALTER TABLE … RENAME COLUMN)",
		func(t, c string) string {
			return fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s <type as on the source>", t, c)
		}},
	"42P01": {"the table was created or renamed on the source, or dropped from the destination",
		func(t, _ string) string { return fmt.Sprintf("CREATE TABLE %s (…) with the source's columns", t) }},
	"23502": {"a column was dropped or made nullable on the source (ALTER TABLE … DROP COLUMN, or ALTER COLUMN … DROP NOT NULL)",
		func(t, c string) string { return fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL", t, c) }},
	// unique_violation while applying: the destination holds a row the
	// source does not (a table replaced under its name on the source, rows
	// written into the destination by hand). The table is copied again.
	"23505": {"the destination table holds a row with this key that the source table does not (a table replaced under the same name on the source, or rows written into the destination by hand)",
		func(t, _ string) string { return "nothing: " + t + " is copied again from the source" }},
	"42804": typeChanged, // datatype_mismatch
	"42846": typeChanged, // cannot_coerce
	"22P02": typeChanged, // invalid_text_representation
	"22001": widened,     // string_data_right_truncation: value too long
	"22003": widened,     // numeric_value_out_of_range
	"22007": dateChanged, // invalid_datetime_format
	"22008": dateChanged, // datetime_field_overflow
}

// mismatch is a change the destination refused for its shape.
type mismatch struct {
	kind                  mismatchKind
	schema, table, column string
	pg                    *pgconn.PgError
}

// schemaMismatch finds a schema mismatch in err: a PostgreSQL error of the
// family above, inside a sink.ApplyError (which names the table and maybe
// the column), or bare when applying (the stream's apply path).
func schemaMismatch(err error, applying bool) (mismatch, bool) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return mismatch{}, false
	}
	k, ok := mismatchCodes[pe.Code]
	if !ok {
		return mismatch{}, false
	}
	m := mismatch{kind: k, pg: pe, schema: pe.SchemaName, table: pe.TableName, column: pe.ColumnName}
	var ae *sink.ApplyError
	if errors.As(err, &ae) {
		if ae.Table != "" {
			m.schema, m.table = ae.Schema, ae.Table
		}
		if ae.Column != "" {
			m.column = ae.Column
		}
	} else if !applying {
		return mismatch{}, false
	}
	switch pe.Code {
	case "42703":
		if m.column == "" {
			m.column = columnIn(pe.Message)
		}
	case "42P01":
		if m.table == "" {
			m.schema, m.table = relationIn(pe.Message)
		}
	}
	return m, true
}

var (
	quotedColumn   = regexp.MustCompile(`column "((?:[^"]|"")+)"`)
	bareColumn     = regexp.MustCompile(`column ([^\s"]+) does not exist`)
	quotedRelation = regexp.MustCompile(`relation "((?:[^"]|"")+)"`)
)

// columnIn reads the column out of an undefined_column message:
// `column "c" of relation "t" does not exist`, `column t.c does not exist`.
func columnIn(msg string) string {
	if m := quotedColumn.FindStringSubmatch(msg); m != nil {
		return strings.ReplaceAll(m[1], `""`, `"`)
	}
	if m := bareColumn.FindStringSubmatch(msg); m != nil {
		return m[1][strings.LastIndex(m[1], ".")+1:]
	}
	return ""
}

// relationIn reads the table out of `relation "s.t" does not exist`.
func relationIn(msg string) (schema, table string) {
	m := quotedRelation.FindStringSubmatch(msg)
	if m == nil {
		return "", ""
	}
	name := strings.ReplaceAll(m[1], `""`, `"`)
	if i := strings.Index(name, "."); i > 0 {
		return name[:i], name[i+1:]
	}
	return "", name
}

func (m mismatch) tableIdent() string {
	switch {
	case m.table == "":
		return "a destination table"
	case m.schema == "":
		return pgx.Identifier{m.table}.Sanitize()
	}
	return pgx.Identifier{m.schema, m.table}.Sanitize()
}

func (m mismatch) columnIdent() string {
	if m.column == "" {
		return "<column>"
	}
	return pgx.Identifier{m.column}.Sanitize()
}

// message names the table, the column and the likely source DDL. The
// PostgreSQL message is kept (not its DETAIL, which quotes row values).
func (m mismatch) message() string {
	var b strings.Builder
	fmt.Fprintf(&b, "schema mismatch: the destination refused a change to %s", m.tableIdent())
	if m.column != "" {
		fmt.Fprintf(&b, " (column %s)", m.columnIdent())
	}
	fmt.Fprintf(&b, ": %s (SQLSTATE %s); likely cause: %s", m.pg.Message, m.pg.Code, m.kind.cause)
	return b.String()
}

func (m mismatch) remedy(connector string) string {
	return fmt.Sprintf("make the destination table match the source (e.g. %s), then `ardent resume %s`; "+
		"or `ardent drop %s` and onboard again", m.kind.fix(m.tableIdent(), m.columnIdent()), connector, connector)
}
