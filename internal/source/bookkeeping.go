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
// whether it existed (DROP SCHEMA IF EXISTS answers "DROP SCHEMA" either
// way, so that is asked first).
func DropBookkeeping(ctx context.Context, conn *pgx.Conn) (dropped bool, err error) {
	existed, err := bookkeepingExists(ctx, conn)
	if err != nil {
		return false, err
	}
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+bookkeeping+" CASCADE"); err != nil {
		return false, fmt.Errorf("drop bookkeeping schema %s: %w", naming.BookkeepingSchema, err)
	}
	return existed, nil
}

func bookkeepingExists(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", naming.BookkeepingSchema).Scan(&n); err != nil {
		return false, fmt.Errorf("look for bookkeeping schema %s: %w", naming.BookkeepingSchema, err)
	}
	return n > 0, nil
}
