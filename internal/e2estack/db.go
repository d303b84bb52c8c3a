package e2estack

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/rowsum"
)

// Checksum is table's whole-row digest, "count:md5" (see internal/rowsum),
// read through url on a connection of its own.
func Checksum(ctx context.Context, url, table string) (string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return rowsum.Of(ctx, conn, table)
}

// Query runs sql with psql (ON_ERROR_STOP, unaligned, tuples only) through
// url and returns its output, trimmed.
func Query(ctx context.Context, url, sql string) (string, error) {
	out, err := pgtest.Psql(ctx, url, "-v", "ON_ERROR_STOP=1", "-Atc", sql)
	return strings.TrimSpace(out), err
}
