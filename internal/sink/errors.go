package sink

import (
	"fmt"
)

// ApplyError is a change the destination refused. It names the table the
// failing statement wrote to, so whoever classifies the failure (a schema
// mismatch the operator must fix, or something a retry may cure) can name
// the table and column without parsing SQL. Err keeps the driver's error
// (a *pgconn.PgError for PostgreSQL) for errors.As.
type ApplyError struct {
	Schema, Table string // the destination table
	Column        string // the column the value belongs to, when known
	// SourceSchema and SourceTable name the source table the change came
	// from (the destination's schema may be mapped: --target-schema).
	SourceSchema, SourceTable string
	Err                       error
}

func (e *ApplyError) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("apply to %s.%s (column %s): %v", e.Schema, e.Table, e.Column, e.Err)
	}
	return fmt.Sprintf("apply to %s.%s: %v", e.Schema, e.Table, e.Err)
}

func (e *ApplyError) Unwrap() error { return e.Err }
