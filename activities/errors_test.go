package activities

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/replication"
	"github.com/ardent-cdc/ardent/internal/schema"
)

func TestBoundaryClassifiesAndScrubs(t *testing.T) {
	const pw = "s3cr3t-Pa55"
	tests := []struct {
		name      string
		err       error
		wantType  string
		retryable bool
	}{
		{"bad password", &pgconn.PgError{Code: "28P01", Message: "password authentication failed"}, ErrTypePermanent, false},
		{"no pg_hba entry", &pgconn.PgError{Code: "28000"}, ErrTypePermanent, false},
		{"missing database", fmt.Errorf("connect: %w", &pgconn.PgError{Code: "3D000"}), ErrTypePermanent, false},
		{"permission denied", &pgconn.PgError{Code: "42501"}, ErrTypePermanent, false},
		{"wal_level", &pgconn.PgError{Code: "55000"}, ErrTypePermanent, false},
		{"admin shutdown", &pgconn.PgError{Code: "57P01"}, "Transient", true},
		{"unknown SQLSTATE", &pgconn.PgError{Code: "XX000", Message: "internal error"}, "Transient", true},
		{"missing table outside apply", &pgconn.PgError{Code: "42P01"}, ErrTypePermanent, false},
		{"type error outside apply", &pgconn.PgError{Code: "22P02"}, "Transient", true},
		{"destination behind", fmt.Errorf("resume: %w", replication.ErrDestinationBehind), ErrTypeDestinationBehind, false},
		{"stalled", fmt.Errorf("%w: nothing applied", errStalled), ErrTypeStalled, true},
		{"network", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, "Transient", true},
		{"unknown host", &net.DNSError{Name: "db.invalid", IsNotFound: true}, ErrTypePermanent, false},
		{"name taken", fmt.Errorf("store: %w", catalog.ErrNameTaken), ErrTypeConflict, false},
		{"duplicate source", catalog.ErrDuplicateSource, ErrTypeConflict, false},
		{"slot lost", fmt.Errorf("%w: gone", errSlotLost), ErrTypeSlotLost, false},
		{"invalid input", fmt.Errorf("%w: bad url", errInvalidInput), ErrTypeInvalidInput, false},
		{"table without columns", fmt.Errorf("discover: %w", &schema.NoColumnsError{}), ErrTypeInvalidInput, false},
		{"echoes a URL", fmt.Errorf("connect postgres://ardent:%s@db:5432/app: refused", pw), "Transient", true},
		{"echoes a DSN", fmt.Errorf("parse host=db password=%s user=x: bad", pw), "Transient", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := boundary(tt.err, site{activity: "Test", connector: "c", passwords: []string{pw}})
			var app *temporal.ApplicationError
			require.ErrorAs(t, out, &app)
			require.Equal(t, tt.wantType, app.Type())
			require.Equal(t, tt.retryable, !app.NonRetryable())
			require.NotContains(t, out.Error(), pw)
			require.Nil(t, errors.Unwrap(app), "the raw cause (which may hold secrets) must not travel")
		})
	}
}

func TestBoundaryPassesThrough(t *testing.T) {
	require.NoError(t, boundary(nil, site{activity: "Test"}))
	var canceled *temporal.CanceledError
	require.ErrorAs(t, boundary(fmt.Errorf("stop: %w", context.Canceled), site{activity: "Test"}), &canceled)
	already := temporal.NewNonRetryableApplicationError("x", ErrTypeConflict, nil)
	require.Same(t, already, boundary(already, site{activity: "Test"}))
}
