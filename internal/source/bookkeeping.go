package source

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/naming"
)

var bookkeeping = pgx.Identifier{naming.BookkeepingSchema}.Sanitize()

// CreateBookkeeping creates Ardent's schema in the source database (the
// heartbeat and future bookkeeping live there), if it is missing.
func CreateBookkeeping(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+bookkeeping); err != nil {
		return fmt.Errorf("create bookkeeping schema %s: %w", naming.BookkeepingSchema, err)
	}
	return nil
}

// DropBookkeeping drops Ardent's schema and everything in it; dropped says
// whether it existed.
func DropBookkeeping(ctx context.Context, conn *pgx.Conn) (dropped bool, err error) {
	tag, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+bookkeeping+" CASCADE")
	if err != nil {
		return false, fmt.Errorf("drop bookkeeping schema %s: %w", naming.BookkeepingSchema, err)
	}
	return tag.String() == "DROP SCHEMA", nil
}
