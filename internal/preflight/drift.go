package preflight

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/schema"
)

// The drift guard (contract.DriftCheckIDs) runs again, on a live
// connector's source, the checks of this package that cost one catalog
// read each: wal_level, replication_role, replica_identity (over the
// connector's current selection, so new tables are judged too) and
// wal_retention, with preflight's own messages and remedies, plus what
// only matters once a slot exists: the role's password validity, the
// slot's wal_status and room before invalidation, and PostgreSQL 18's
// idle_replication_slot_timeout. It opens no replication session and
// creates nothing.

// Defaults of DriftOptions' zero fields.
const (
	// DefaultExpiryWarning: a password that expires within this fails
	// role_valid, so there is time to act before the connector cannot
	// reconnect.
	DefaultExpiryWarning = 7 * 24 * time.Hour
	// DefaultSafeWALFraction: the slot check fails once less than this
	// fraction of max_slot_wal_keep_size is left before invalidation.
	DefaultSafeWALFraction = 0.25
)

// ErrDriftNotRun: the drift checks could not run at all (the source did
// not answer); nothing is known, so nothing regressed.
var ErrDriftNotRun = errors.New("drift checks could not run")

// DriftOptions configure Drift.
type DriftOptions struct {
	// Connector names the connector in remedies.
	Connector string
	// Source is the connector's source, with its credentials.
	Source    *pgurl.Conn
	Selection schema.Selection
	Slot      string
	// ExpiryWarning and SafeWALFraction: see the defaults above.
	ExpiryWarning   time.Duration
	SafeWALFraction float64
	ProbeTimeout    time.Duration
	Logger          *slog.Logger
}

// Drift runs the drift checks. A source that refuses the role's login is a
// failed role_valid (the report says how to fix it); a source that cannot
// be reached at all is ErrDriftNotRun.
func Drift(ctx context.Context, o DriftOptions) (contract.DriftReport, error) {
	if o.ExpiryWarning <= 0 {
		o.ExpiryWarning = DefaultExpiryWarning
	}
	if o.SafeWALFraction <= 0 {
		o.SafeWALFraction = DefaultSafeWALFraction
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	opts := Options{Selection: o.Selection, ProbeTimeout: o.ProbeTimeout, Logger: o.Logger}.withDefaults()
	r := &runner{opts: opts, checks: map[string]Check{}, src: o.Source, role: o.Source.Config.User}
	d := &drifter{runner: r, o: o}
	defer func() {
		if r.conn != nil {
			_ = r.conn.Close(context.WithoutCancel(ctx))
		}
	}()
	if err := d.run(ctx); err != nil {
		return contract.DriftReport{}, err
	}
	rep := contract.DriftReport{CheckedAt: time.Now().UTC(), Slot: d.slot}
	for _, id := range contract.DriftCheckIDs {
		c, ok := r.checks[id]
		if !ok {
			c = Check{Status: StatusUnverified, Message: "not checked"}
		}
		c.ID, c.Message, c.Remedy = id, r.scrub(c.Message), r.scrub(c.Remedy)
		rep.Checks = append(rep.Checks, c)
	}
	return rep, nil
}

type drifter struct {
	*runner
	o    DriftOptions
	slot *contract.SlotState
}

func (d *drifter) run(ctx context.Context) error {
	if err := d.connectDrift(ctx); err != nil {
		msg, remedy := d.classifyConnectError(err, d.role)
		if !isLoginError(err) {
			return fmt.Errorf("%w: %s", ErrDriftNotRun, d.scrub(msg))
		}
		d.set(contract.CheckRoleValid, StatusFail, "the source refuses the connector's login: "+msg+
			" (an expired password, VALID UNTIL, reads the same as a wrong one)", d.loginRemedy(remedy))
		d.skipDrift("not checked: the connector cannot log in")
		return nil
	}
	if err := d.readFacts(ctx); err != nil {
		return fmt.Errorf("%w: %s", ErrDriftNotRun, d.errText(err))
	}
	d.checkRoleValid(ctx)
	d.timed("replication_role", func() { d.checkReplicationRole(ctx) })
	d.checkWalLevel()
	d.timed("replica_identity", func() { d.checkIdentities(ctx) })
	d.checkSlot(ctx)
	d.checkWalRetention()
	d.checkIdleSlotTimeout(ctx)
	return nil
}

// connectDrift opens the session the checks use, as the connector's role.
func (d *drifter) connectDrift(ctx context.Context) error {
	cfg := d.src.Config.Copy()
	cfg.ConnectTimeout = d.opts.ProbeTimeout
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = "ardent-drift"
	pctx, cancel := d.probeCtx(ctx)
	defer cancel()
	conn, err := pgx.ConnectConfig(pctx, cfg)
	if err != nil {
		return err
	}
	d.conn = conn
	return nil
}

func (d *drifter) loginRemedy(connect string) string {
	q := quoteIdent(d.role)
	lit := quoteLiteral(d.role)
	return fmt.Sprintf("as a superuser, look at the role: SELECT rolvaliduntil, rolcanlogin FROM pg_roles WHERE rolname = %s; "+
		"an expired password: ALTER ROLE %s VALID UNTIL 'infinity'; (or a later date); a changed one: `ardent credentials set %s` with the new password; %s",
		lit, q, d.o.Connector, connect)
}

func (d *drifter) skipDrift(why string) {
	for _, id := range contract.DriftCheckIDs {
		if _, ok := d.checks[id]; !ok {
			d.set(id, StatusUnverified, why, "")
		}
	}
}

// checkRoleValid reads the role's VALID UNTIL: past or close is a failure.
func (d *drifter) checkRoleValid(ctx context.Context) {
	pctx, cancel := d.probeCtx(ctx)
	defer cancel()
	var until *time.Time // NULL: no VALID UNTIL, or 'infinity'
	err := d.conn.QueryRow(pctx, `SELECT CASE WHEN isfinite(rolvaliduntil) THEN rolvaliduntil END
FROM pg_roles WHERE rolname = current_user`).Scan(&until)
	q := quoteIdent(d.role)
	switch {
	case err != nil:
		d.set(contract.CheckRoleValid, StatusUnverified, "cannot read pg_roles: "+d.errText(err), "")
	case until == nil:
		d.set(contract.CheckRoleValid, StatusPass, fmt.Sprintf("role %q has no expiry (VALID UNTIL)", d.role), "")
	case !until.After(time.Now()):
		d.set(contract.CheckRoleValid, StatusFail,
			fmt.Sprintf("role %q expired at %s (VALID UNTIL): the connector cannot reconnect with a password", d.role, until.UTC().Format(time.RFC3339)),
			fmt.Sprintf("as a superuser or a role with CREATEROLE: ALTER ROLE %s VALID UNTIL 'infinity'; (or a later date)", q))
	case time.Until(*until) < d.o.ExpiryWarning:
		d.set(contract.CheckRoleValid, StatusFail,
			fmt.Sprintf("role %q expires at %s (VALID UNTIL), in %s: after that the connector cannot reconnect, and a stream that restarts stops",
				d.role, until.UTC().Format(time.RFC3339), time.Until(*until).Round(time.Minute)),
			fmt.Sprintf("as a superuser or a role with CREATEROLE: ALTER ROLE %s VALID UNTIL 'infinity'; (or a later date)", q))
	default:
		d.set(contract.CheckRoleValid, StatusPass, fmt.Sprintf("role %q is valid until %s", d.role, until.UTC().Format(time.RFC3339)), "")
	}
}

// checkIdentities judges the replica identity of every table the
// connector's selection holds now, new tables included.
func (d *drifter) checkIdentities(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, 6*d.opts.ProbeTimeout)
	defer cancel()
	tables, err := schema.DiscoverAll(pctx, d.conn, d.opts.Selection)
	if err != nil {
		d.set(CheckReplicaIdentity, StatusUnverified, "cannot discover the selected tables: "+d.errText(err), "")
		return
	}
	var bad, remedies []string
	for _, t := range tables {
		if remedy := IdentityRemedy(t, false); remedy != "" {
			bad = append(bad, t.Ident())
			if len(remedies) < 5 {
				remedies = append(remedies, remedy)
			}
		}
	}
	if len(bad) == 0 {
		d.set(CheckReplicaIdentity, StatusPass, fmt.Sprintf("all %d selected tables have a usable replica identity", len(tables)), "")
		return
	}
	d.set(CheckReplicaIdentity, StatusFail,
		fmt.Sprintf("%d of %d selected tables lack a usable replica identity (wal2json would send their UPDATEs and DELETEs without the row they change): %s",
			len(bad), len(tables), firstFew(bad, 5)),
		strings.Join(remedies, " ")+fmt.Sprintf(" (or stop replicating a table: `ardent tables remove %s TABLE`)", d.o.Connector))
}

const driftSlotQuery = `SELECT coalesce(confirmed_flush_lsn::text, ''), coalesce(restart_lsn::text, ''),
	coalesce((pg_current_wal_lsn() - restart_lsn)::bigint, 0), coalesce(wal_status, ''), safe_wal_size, active,
	pg_size_bytes(current_setting('max_slot_wal_keep_size'))
FROM pg_replication_slots WHERE slot_name = $1`

// checkSlot reads the connector's slot: it must exist, not be lost or
// unreserved, and have room before max_slot_wal_keep_size invalidates it.
func (d *drifter) checkSlot(ctx context.Context) {
	pctx, cancel := d.probeCtx(ctx)
	defer cancel()
	var st contract.SlotState
	var keep int64
	err := d.conn.QueryRow(pctx, driftSlotQuery, d.o.Slot).Scan(&st.ConfirmedLSN, &st.RestartLSN, &st.RetainedBytes,
		&st.WALStatus, &st.SafeWALSize, &st.Active, &keep)
	name := d.o.Connector
	lost := fmt.Sprintf("changes since the destination's checkpoint are gone from the source: `ardent drop %s` and onboard again "+
		"for a new snapshot (Ardent never re-snapshots by itself); raise max_slot_wal_keep_size so it does not recur", name)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		d.set(contract.CheckSlot, StatusFail, fmt.Sprintf("replication slot %q does not exist on the source: it was dropped behind Ardent's back", d.o.Slot), lost)
		return
	case err != nil:
		d.set(contract.CheckSlot, StatusUnverified, fmt.Sprintf("cannot read replication slot %q: %s", d.o.Slot, d.errText(err)), "")
		return
	}
	st.CheckedAt = time.Now().UTC()
	d.slot = &st
	retained := humanBytes(float64(st.RetainedBytes))
	catchUp := fmt.Sprintf("let the connector catch up (`ardent status %s`; `ardent resume %s` if it is paused or stopped), "+
		"or give the slot more room: ALTER SYSTEM SET max_slot_wal_keep_size = '%s'; SELECT pg_reload_conf();",
		name, name, keepSuggestion(keep, st.RetainedBytes))
	switch {
	case st.WALStatus == "lost":
		d.set(contract.CheckSlot, StatusFail, fmt.Sprintf("replication slot %q was invalidated (wal_status lost)", d.o.Slot), lost)
	case st.WALStatus == "unreserved":
		d.set(contract.CheckSlot, StatusFail, fmt.Sprintf("replication slot %q retains %s, more than max_wal_size: wal_status unreserved, "+
			"it is invalidated at the next checkpoint that finds it beyond max_slot_wal_keep_size", d.o.Slot, retained), catchUp)
	case st.SafeWALSize != nil && keep > 0 && float64(*st.SafeWALSize) < d.o.SafeWALFraction*float64(keep):
		d.set(contract.CheckSlot, StatusFail, fmt.Sprintf("replication slot %q retains %s of max_slot_wal_keep_size = %s: "+
			"%s more WAL and it is invalidated (safe_wal_size)", d.o.Slot, retained, humanBytes(float64(keep)),
			humanBytes(float64(max(*st.SafeWALSize, 0)))), catchUp)
	default:
		msg := fmt.Sprintf("replication slot %q: wal_status %s, retains %s", d.o.Slot, st.WALStatus, retained)
		if st.SafeWALSize != nil {
			msg += fmt.Sprintf(", %s more before invalidation (safe_wal_size)", humanBytes(float64(*st.SafeWALSize)))
		}
		d.set(contract.CheckSlot, StatusPass, msg, "")
	}
}

// keepSuggestion is a max_slot_wal_keep_size with room: twice what is
// retained or twice the current bound, rounded up to whole GB.
func keepSuggestion(keep, retained int64) string {
	gb := math.Ceil(2 * float64(max(keep, retained, 1<<30)) / (1 << 30))
	return fmt.Sprintf("%.0fGB", gb)
}

// checkIdleSlotTimeout: PostgreSQL 18 invalidates a slot idle for
// idle_replication_slot_timeout. A warning while the timeout is set; a
// failure once the connector's slot has been idle for half of it.
func (d *drifter) checkIdleSlotTimeout(ctx context.Context) {
	pctx, cancel := d.probeCtx(ctx)
	defer cancel()
	var setting string
	if err := d.conn.QueryRow(pctx, `SELECT coalesce(current_setting('idle_replication_slot_timeout', true), '')`).Scan(&setting); err != nil {
		d.set(contract.CheckIdleSlotTimeout, StatusUnverified, "cannot read idle_replication_slot_timeout: "+d.errText(err), "")
		return
	}
	if setting == "" {
		d.set(contract.CheckIdleSlotTimeout, StatusPass, "idle_replication_slot_timeout does not exist on this server (PostgreSQL < 18)", "")
		return
	}
	var timeout, idle float64
	err := d.conn.QueryRow(pctx, `SELECT extract(epoch FROM current_setting('idle_replication_slot_timeout')::interval)::float8,
	coalesce((SELECT extract(epoch FROM now() - inactive_since)::float8 FROM pg_replication_slots WHERE slot_name = $1 AND NOT active), 0)`,
		d.o.Slot).Scan(&timeout, &idle)
	if err != nil {
		d.set(contract.CheckIdleSlotTimeout, StatusUnverified, "cannot read the slot's idle time: "+d.errText(err), "")
		return
	}
	if timeout <= 0 {
		d.set(contract.CheckIdleSlotTimeout, StatusPass, "idle_replication_slot_timeout is off (0)", "")
		return
	}
	limit := time.Duration(timeout) * time.Second
	remedy := fmt.Sprintf("resume the connector within it (`ardent resume %s`), or turn it off: ALTER SYSTEM SET idle_replication_slot_timeout = 0; SELECT pg_reload_conf();",
		d.o.Connector)
	if idle >= timeout/2 {
		d.set(contract.CheckIdleSlotTimeout, StatusFail, fmt.Sprintf("replication slot %q has been idle for %s of idle_replication_slot_timeout = %s: "+
			"the source invalidates it once the timeout passes", d.o.Slot, (time.Duration(idle)*time.Second).Round(time.Minute), limit), remedy)
		return
	}
	d.set(contract.CheckIdleSlotTimeout, StatusWarn, fmt.Sprintf("idle_replication_slot_timeout = %s: a connector paused or stopped for longer loses its slot "+
		"(and needs a new snapshot)", limit), remedy)
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// isLoginError reports whether err is the server refusing the role's
// login (SQLSTATE class 28, or 42501 for a role without LOGIN).
func isLoginError(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "28") || pgErr.Code == "42501")
}
