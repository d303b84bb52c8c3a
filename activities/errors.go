package activities

import (
	"context"
	"errors"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/pgurl"
)

// boundary turns an internal error into what leaves the activity: the
// message scrubbed of every password it might echo (driver and network
// errors can quote a connection string, and Temporal's worker logs activity
// errors verbatim), classified once as retryable or not. The original error
// is not attached as a cause, because its text is exactly what must not leak.
func boundary(err error, m *Metrics, activityName string, passwords ...string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return temporal.NewCanceledError()
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return err // already classified by the caller
	}
	msg := pgurl.Scrub(err.Error(), passwords...)
	kind := classify(err)
	if m != nil {
		m.ActivityErrors.WithLabelValues(activityName, kindLabel(kind)).Inc()
	}
	if kind == "" {
		return temporal.NewApplicationError(msg, "Transient")
	}
	return temporal.NewNonRetryableApplicationError(msg, kind, nil)
}

func kindLabel(k string) string {
	if k == "" {
		return "transient"
	}
	return k
}

// classify names the permanent failures: retrying cannot fix them, the
// operator must. Everything else (network, restarts, timeouts) is retried.
func classify(err error) string {
	switch {
	case errors.Is(err, catalog.ErrNameTaken), errors.Is(err, catalog.ErrDuplicateSource):
		return ErrTypeConflict
	case errors.Is(err, catalog.ErrNotFound):
		return ErrTypePermanent
	case errors.Is(err, errInvalidInput):
		return ErrTypeInvalidInput
	case errors.Is(err, errSlotLost):
		return ErrTypeSlotLost
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "28P01", "28000", // bad password, no pg_hba entry
			"3D000",          // database does not exist
			"42501",          // insufficient privilege
			"42P01", "3F000", // undefined table / schema
			"55000": // object not in prerequisite state (e.g. wal_level)
			return ErrTypePermanent
		}
		return ""
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return ErrTypePermanent
	}
	return ""
}

var (
	errInvalidInput = errors.New("invalid input")
	errSlotLost     = errors.New("replication slot lost")
)
