package activities

import (
	"context"
	"errors"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/replication"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
	"github.com/ardent-cdc/ardent/internal/verify"
)

// site is where an error leaves an activity: which activity, for which
// connector, the passwords its text must not carry, and (Replicate only)
// the durable position the attempt reached.
type site struct {
	activity  string
	connector string
	metrics   *Metrics
	passwords []string
	lsn       string
}

// boundary turns an internal error into what leaves the activity: the
// message scrubbed of every password it might echo (driver and network
// errors can quote a connection string, and Temporal's worker logs activity
// errors verbatim), classified once as retryable or not, counted once in
// the metrics. The original error is not attached as a cause, because its
// text is exactly what must not leak; FailureDetails go instead.
func boundary(err error, at site) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		if at.activity == ReplicateName {
			at.metrics.forgetStage(at.connector)
		}
		return temporal.NewCanceledError()
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		return err // already classified by the caller
	}
	kind := classify(err, at.activity == ReplicateName)
	msg, remedy := describe(err, kind, at.connector)
	msg, remedy = pgurl.Scrub(msg, at.passwords...), pgurl.Scrub(remedy, at.passwords...)
	at.metrics.activityError(at.activity, at.connector, kind)
	if at.activity == ReplicateName {
		at.metrics.setStage(at.connector, workerStage(kind))
	}
	details := FailureDetails{Remedy: remedy, ConfirmedLSN: at.lsn}
	if retryable(kind) {
		return temporal.NewApplicationError(msg, kind, details)
	}
	return temporal.NewNonRetryableApplicationError(msg, kind, nil, details)
}

func retryable(kind string) bool { return kind == ErrTypeTransient || kind == ErrTypeStalled }

// classify names the permanent failures: retrying cannot fix them, the
// operator must. Everything else (network, restarts, timeouts, errors
// nobody foresaw) is retried, a bounded number of times (the replication
// workflow counts Replicate's attempts). applying says the error comes
// from the stream's apply path, where a bare SQLSTATE of the schema
// mismatch family is the destination refusing a change.
func classify(err error, applying bool) string {
	switch {
	case errors.Is(err, catalog.ErrNameTaken), errors.Is(err, catalog.ErrDuplicateSource),
		errors.As(err, new(*sink.ConflictError)), errors.Is(err, sink.ErrNotOwned):
		return ErrTypeConflict
	case errors.Is(err, catalog.ErrNotFound):
		return ErrTypePermanent
	case errors.Is(err, errInvalidInput), errors.As(err, new(*schema.NoColumnsError)),
		errors.As(err, new(*verify.UnknownTableError)):
		return ErrTypeInvalidInput
	case errors.Is(err, verify.ErrNoFreeSlot):
		return ErrTypeNoFreeSlot
	case errors.Is(err, verify.ErrApplyNotReached):
		return ErrTypeApplyNotReached
	case errors.Is(err, errSlotLost):
		return ErrTypeSlotLost
	case errors.Is(err, replication.ErrDestinationBehind):
		return ErrTypeDestinationBehind
	case errors.Is(err, errStalled):
		return ErrTypeStalled
	}
	if _, ok := schemaMismatch(err, applying); ok {
		return ErrTypeSchemaMismatch
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
		return ErrTypeTransient
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return ErrTypePermanent
	}
	return ErrTypeTransient
}

// describe is the message and the operator's remedy for an error of kind.
// Only the kinds whose remedy depends on what failed get one here; the
// workflow words the others.
func describe(err error, kind, connector string) (msg, remedy string) {
	var dc *sink.ConflictError
	if errors.As(err, &dc) {
		return err.Error(), dc.Remedy()
	}
	if errors.Is(err, sink.ErrNotOwned) {
		return err.Error(), "Ardent never empties a table another connector writes, nor rows it did not write without --replace-existing: " +
			"choose another destination schema with --target-schema, or drop the connector that owns the table"
	}
	switch kind {
	case ErrTypeSchemaMismatch:
		m, _ := schemaMismatch(err, true)
		return m.message(), m.remedy(connector)
	case ErrTypeDestinationBehind:
		return err.Error(), "the destination lost commits the source no longer keeps (restored from a backup?): " +
			"`ardent drop " + connector + "` and onboard again for a new snapshot"
	case ErrTypeNoFreeSlot:
		return err.Error(), "verify needs one free replication slot on the source for a temporary slot: raise max_replication_slots by one " +
			"(a restart of the source) or drop an unused slot, then `ardent verify " + connector + "` again"
	case ErrTypeApplyNotReached:
		return err.Error(), "verify needs the connector's stream running and close behind the source: check `ardent status " + connector +
			"` (stage streaming, small lag), then `ardent verify " + connector + "` again"
	}
	return err.Error(), ""
}

// workerStage is the connector's stage as this worker sees it when
// Replicate ends with an error of kind (the workflow decides the real
// stage: after its retry bound a retryable error is failed, not retrying).
func workerStage(kind string) string {
	switch kind {
	case ErrTypeTransient, ErrTypeStalled:
		return "retrying"
	case ErrTypeSchemaMismatch, ErrTypeDestinationBehind:
		return "attention"
	}
	return "failed"
}

var (
	errInvalidInput = errors.New("invalid input")
	errSlotLost     = errors.New("replication slot lost")
	errStalled      = errors.New("replication stalled")
)
