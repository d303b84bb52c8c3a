package preflight

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ardent-cdc/ardent/internal/source"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func (r *runner) checkReplicationRole(ctx context.Context) {
	pctx, cancel := r.probeCtx(ctx)
	defer cancel()
	var exists, login, repl, super, rds bool
	err := r.conn.QueryRow(pctx, `
SELECT true, rolcanlogin, rolreplication, rolsuper,
       CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_replication')
            THEN pg_has_role(oid, 'rds_replication', 'MEMBER') ELSE false END
FROM pg_roles WHERE rolname = $1`, r.role).Scan(&exists, &login, &repl, &super, &rds)
	q := quoteIdent(r.role)
	switch {
	case err != nil && strings.Contains(err.Error(), "no rows"):
		r.set(CheckReplicationRole, StatusFail, fmt.Sprintf("role %q does not exist", r.role),
			"create it with the script of `ardent sql` (CREATE ROLE ... LOGIN REPLICATION)")
	case err != nil:
		r.set(CheckReplicationRole, StatusUnverified, "cannot read pg_roles: "+r.errText(err), "")
	case !login:
		r.set(CheckReplicationRole, StatusFail, fmt.Sprintf("role %q cannot log in", r.role), fmt.Sprintf("ALTER ROLE %s LOGIN;", q))
	case super:
		r.set(CheckReplicationRole, StatusPass, fmt.Sprintf("role %q is a superuser (a dedicated role with LOGIN REPLICATION is enough)", r.role), "")
	case repl:
		r.set(CheckReplicationRole, StatusPass, fmt.Sprintf("role %q has LOGIN and REPLICATION", r.role), "")
	case rds:
		r.set(CheckReplicationRole, StatusPass, fmt.Sprintf("role %q has LOGIN and is a member of rds_replication", r.role), "")
	default:
		r.set(CheckReplicationRole, StatusFail, fmt.Sprintf("role %q lacks REPLICATION", r.role),
			fmt.Sprintf("ALTER ROLE %s REPLICATION; (Amazon RDS: GRANT rds_replication TO %s;)", q, q))
	}
}

// checkReplicationConnection opens a real logical replication session,
// the only proof that pg_hba.conf admits the stream (design.md 4.4).
func (r *runner) checkReplicationConnection(ctx context.Context) {
	cfg := source.ReplicationConfig(&r.src.Config.Config, "ardent-preflight")
	cfg.ConnectTimeout = r.opts.ProbeTimeout
	pctx, cancel := r.probeCtx(ctx)
	defer cancel()
	conn, err := pgconn.ConnectConfig(pctx, cfg)
	if err != nil {
		var pgErr *pgconn.PgError
		switch {
		case errors.As(err, &pgErr) && pgErr.Code == "42501":
			r.set(CheckReplicationConnection, StatusFail, "replication session refused: "+pgErr.Message,
				fmt.Sprintf("ALTER ROLE %s REPLICATION;", quoteIdent(r.src.Config.User)))
		case errors.As(err, &pgErr) && pgErr.Code == "28000":
			r.set(CheckReplicationConnection, StatusFail, "pg_hba.conf rejects the replication session: "+pgErr.Message,
				"add this line to pg_hba.conf (a database line: logical replication does not use the \"replication\" keyword), then reload with SELECT pg_reload_conf();: "+r.hbaLine())
		default:
			msg, remedy := r.classifyConnectError(err, r.src.Config.User)
			r.set(CheckReplicationConnection, StatusFail, "replication session failed: "+msg, remedy)
		}
		return
	}
	defer conn.Close(context.Background())
	sys, err := source.IdentifySystem(pctx, conn)
	if err != nil {
		r.set(CheckReplicationConnection, StatusFail, r.errText(err), "")
		return
	}
	r.systemID = sys.ID
	r.set(CheckReplicationConnection, StatusPass,
		fmt.Sprintf("replication session opened; IDENTIFY_SYSTEM: system %d, timeline %d, database %s", sys.ID, sys.Timeline, sys.Database), "")
}

// checkWal2JSON creates a temporary logical slot with the plugin: it
// vanishes with the session whatever happens, and is dropped at once
// (design.md 4.6). Slot creation waits for running transactions, so the
// probe is bounded; anything inconclusive is unverified, not fail.
func (r *runner) checkWal2JSON(ctx context.Context) {
	plugin := r.opts.Plugin
	slot := "ardent_preflight_" + randomSuffix()
	// A session of its own: the temporary slot dies with it however the
	// probe ends, and a cancelled probe cannot spoil the main session.
	// statement_timeout bounds the wait on the server; the context, a
	// little longer, bounds it on our side if the cancel request is lost.
	cfg := r.src.Config.Copy()
	cfg.ConnectTimeout = r.opts.ProbeTimeout
	cfg.RuntimeParams["application_name"] = "ardent-preflight"
	cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(r.opts.ProbeTimeout.Milliseconds(), 10)
	pctx, cancel := context.WithTimeout(ctx, 2*r.opts.ProbeTimeout+time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(pctx, cfg)
	if err != nil {
		r.set(CheckWal2JSON, StatusUnverified, "cannot open the probe session: "+r.errText(err), "")
		return
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(pctx, "SELECT pg_create_logical_replication_slot($1, $2, true)", slot, plugin)
	if err == nil {
		if _, derr := conn.Exec(pctx, "SELECT pg_drop_replication_slot($1)", slot); derr != nil {
			r.opts.Logger.Warn("drop temporary probe slot; it goes away with the session", "slot", slot, "err", r.errText(derr))
		}
		r.set(CheckWal2JSON, StatusPass, fmt.Sprintf("a temporary logical slot with plugin %s was created and dropped", plugin), "")
		return
	}
	var pgErr *pgconn.PgError
	code := ""
	if errors.As(err, &pgErr) {
		code = pgErr.Code
	}
	switch {
	case code == "58P01" || strings.Contains(err.Error(), "could not access file"):
		r.set(CheckWal2JSON, StatusFail, fmt.Sprintf("the output plugin %s is not installed on the server", plugin),
			"install the package matching the server's major version (Debian/Ubuntu: postgresql-<major>-wal2json; RHEL: wal2json_<major>), or ask your provider to enable wal2json")
	case code == "42501":
		r.set(CheckWal2JSON, StatusUnverified, "cannot probe: permission denied to create a replication slot (the role needs REPLICATION)",
			fmt.Sprintf("ALTER ROLE %s REPLICATION; then run preflight again", quoteIdent(r.src.Config.User)))
	case code == "53400":
		r.set(CheckWal2JSON, StatusUnverified, "cannot probe: no free replication slot", "free or add a slot (see replication_slots)")
	case code == "57014" || errors.Is(err, context.DeadlineExceeded):
		r.set(CheckWal2JSON, StatusUnverified,
			fmt.Sprintf("probe timed out after %s: slot creation waits for long-running transactions", r.opts.ProbeTimeout),
			"run preflight again when long transactions have finished (pg_stat_activity), or accept with --accept-unverified wal2json")
	case code == "55000":
		r.set(CheckWal2JSON, StatusUnverified, "cannot probe: "+pgErr.Message, "fix wal_level first (see wal_level), then run preflight again")
	default:
		r.set(CheckWal2JSON, StatusUnverified, "probe inconclusive: "+r.errText(err),
			"verify with the statements at the end of `ardent sql`, or accept with --accept-unverified wal2json")
	}
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
