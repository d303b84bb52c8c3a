package rowsum

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Settings are the session settings under which a row's text form depends
// only on the data, not on the server's or the session's defaults. It is one
// string of SET statements, usable with `psql -c` and with a simple-protocol
// Exec. lc_monetary matters for money; the others for bytea, dates and
// timestamps, intervals, floats and timestamptz.
const Settings = "SET bytea_output = hex; SET DateStyle = ISO; SET IntervalStyle = postgres; " +
	"SET extra_float_digits = 3; SET TimeZone = 'UTC'; SET lc_monetary = 'C'"

// Querier is what Of needs from a connection: *pgx.Conn, pgx.Tx,
// *pgxpool.Conn and *pgxpool.Pool satisfy it.
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// SQL returns a query that yields one text value, "count:md5", for the
// relation ident, which must already be quoted (e.g. schema.Table.Ident).
// Run it after Settings; Of does both.
func SQL(ident string) string {
	return `SELECT count(*) || ':' || coalesce(md5(string_agg(r, E'\n' ORDER BY r COLLATE "C")), '') ` +
		`FROM (SELECT md5(ROW(t.*)::text) AS r FROM ONLY ` + ident + ` t) s`
}

// Of applies Settings on q's session and returns the digest of ident.
//
// On a *pgx.Conn (or a Tx) the settings stay in effect for the rest of the
// session; that is harmless for a test connection and keeps Of usable inside
// a transaction the caller already opened (e.g. one that imported a
// snapshot). A *pgxpool.Pool would run the SETs and the query on different
// connections and leave the SETs behind on one of them, so Of runs both in
// one transaction on one connection and rolls it back, which undoes them.
func Of(ctx context.Context, q Querier, ident string) (string, error) {
	if p, ok := q.(*pgxpool.Pool); ok {
		tx, err := p.Begin(ctx)
		if err != nil {
			return "", fmt.Errorf("digest %s: begin: %w", ident, err)
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		q = tx
	}
	if _, err := q.Exec(ctx, Settings); err != nil {
		return "", fmt.Errorf("digest %s: apply settings: %w", ident, err)
	}
	var sum string
	if err := q.QueryRow(ctx, SQL(ident)).Scan(&sum); err != nil {
		return "", fmt.Errorf("digest %s: %w", ident, err)
	}
	return sum, nil
}
