package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/spf13/cobra"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/naming"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/internal/source"
)

// credentialsCheckTimeout bounds each connection the checks open.
const credentialsCheckTimeout = 15 * time.Second

// newCredentialsCmd groups the commands on a connector's stored credentials.
func newCredentialsCmd(c *cli) *cobra.Command {
	creds := &cobra.Command{
		Use:   "credentials",
		Short: "Change a connector's stored source or destination credentials",
	}
	creds.AddCommand(newCredentialsSetCmd(c))
	return creds
}

// credentialsFlags are `credentials set`'s flags: per side, a new URL, a
// file with a new password, or both.
type credentialsFlags struct {
	source, destination         string
	sourceFile, destinationFile string
}

// validate checks the flags before anything connects: nothing to change,
// or a URL that does not parse, is a usage error.
func (f *credentialsFlags) validate() error {
	if f.source == "" && f.destination == "" && f.sourceFile == "" && f.destinationFile == "" {
		return usageErr("nothing to change: give --source, --destination, --source-password-file or --destination-password-file")
	}
	if f.sourceFile == stdinFile && f.destinationFile == stdinFile {
		return usageErr("only one password file can be stdin (-)")
	}
	if f.source != "" {
		if _, err := pgurl.ParseSource(f.source); err != nil {
			return usageErr("--source: %w", err)
		}
	}
	if f.destination != "" {
		if _, err := pgurl.ParseDestination(f.destination); err != nil {
			return usageErr("--destination: %w", err)
		}
	}
	return nil
}

func newCredentialsSetCmd(c *cli) *cobra.Command {
	var f credentialsFlags
	cmd := &cobra.Command{
		Use:   "set NAME [--source URL] [--destination URL] [--source-password-file F] [--destination-password-file F]",
		Short: "Replace a connector's source or destination credentials, checked first, without a new snapshot",
		Long: `Replace a connector's source or destination credentials: after the source
role's password was rotated, or to move to another role or host name.

  ardent credentials set shop --source-password-file new.pw

keeps the stored source URL (user, host, database) and changes only its
password; --source URL gives a whole new URL, whose password comes from the
URL, --source-password-file, PGPASSWORD, ~/.pgpass or a prompt. The same
holds for the destination.

Nothing is stored until the new credentials are shown to work: the source
accepts them, is the same database (system identifier and name) and opens a
replication session; the destination accepts them and holds this
connector's checkpoint (_ardent.applied_lsn). They are stored sealed; a
running stream ends its session within seconds and starts a new one with
them, from the destination's checkpoint: nothing is copied again, nothing
is lost. Neither the old nor the new password is ever printed.

Exit status: 0 changed (or already these), 1 a check failed or no such
connector (nothing changed), 2 usage error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := naming.ValidateName(name); err != nil {
				return usageErr("%w", err)
			}
			if err := f.validate(); err != nil {
				return err
			}
			return c.setCredentials(cmd, name, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.source, "source", "", "new source URL (default: the stored one, with the password of --source-password-file)")
	fl.StringVar(&f.destination, "destination", "", "new destination URL (default: the stored one, with the password of --destination-password-file)")
	fl.StringVar(&f.sourceFile, "source-password-file", "", "file holding the new source password (mode 600; - for stdin)")
	fl.StringVar(&f.destinationFile, "destination-password-file", "", "file holding the new destination password (mode 600; - for stdin)")
	return cmd
}

// setCredentials resolves the new URLs, checks them and stores them.
func (c *cli) setCredentials(cmd *cobra.Command, name string, f credentialsFlags) error {
	ctx := cmd.Context()
	kr, err := c.keyring()
	if err != nil {
		return err
	}
	cat, err := c.catalog(ctx)
	if err != nil {
		return err
	}
	conn, err := cat.Get(ctx, name)
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		return &exitError{code: 1, err: fmt.Errorf("no connector named %q: its credentials are stored once its onboarding has created it "+
			"(`ardent status %s`); before that, drop the onboarding and run `ardent onboard` again with the new ones", name, name)}
	case err != nil:
		return err
	case conn.DroppedAt != nil:
		return &exitError{code: 1, err: fmt.Errorf("connector %s was dropped: its credentials are no longer used", name)}
	}
	// passwords are every password this command handles, old and new, for
	// scrubbing whatever a driver error might echo.
	var passwords []string
	scrub := func(err error) error {
		var ee *exitError
		if errors.As(err, &ee) && ee.err != nil {
			return &exitError{code: ee.code, err: errors.New(pgurl.Scrub(ee.err.Error(), passwords...))}
		}
		return errors.New(pgurl.Scrub(err.Error(), passwords...))
	}

	var newSrc, newDst *pgurl.Conn
	var changed []string
	if f.source != "" || f.sourceFile != "" {
		old, err := cat.SourceURL(ctx, name, kr)
		if err != nil {
			return err
		}
		raw, err := c.newURL(cmd, pgurl.SideSource, old, f.source, f.sourceFile, &passwords)
		if err != nil {
			return scrub(err)
		}
		if raw != old {
			if newSrc, err = pgurl.ParseSource(raw); err != nil {
				return scrub(usageErr("new source URL: %w", err))
			}
			if err := checkSource(ctx, newSrc, conn); err != nil {
				return scrub(err)
			}
			fmt.Fprintf(c.out, "source %s: password accepted, same database (system identifier %d, database %s), replication session opened\n",
				who(newSrc), conn.SystemIdentifier, conn.Database)
			changed = append(changed, "source")
		} else {
			fmt.Fprintf(c.out, "source: the stored credentials are already these\n")
		}
	}
	if f.destination != "" || f.destinationFile != "" {
		old, err := cat.DestinationURL(ctx, name, kr)
		if err != nil {
			return err
		}
		raw, err := c.newURL(cmd, pgurl.SideDestination, old, f.destination, f.destinationFile, &passwords)
		if err != nil {
			return scrub(err)
		}
		if raw != old {
			if newDst, err = pgurl.ParseDestination(raw); err != nil {
				return scrub(usageErr("new destination URL: %w", err))
			}
			if err := checkDestination(ctx, newDst, name); err != nil {
				return scrub(err)
			}
			fmt.Fprintf(c.out, "destination %s: password accepted, holds the checkpoint of connector %s\n", who(newDst), name)
			changed = append(changed, "destination")
		} else {
			fmt.Fprintf(c.out, "destination: the stored credentials are already these\n")
		}
	}
	if len(changed) == 0 {
		fmt.Fprintf(c.out, "nothing changed for connector %s\n", name)
		return nil
	}
	var src, dst secrets.Secret
	if newSrc != nil {
		src = secrets.Secret(newSrc.ConnString())
	}
	if newDst != nil {
		dst = secrets.Secret(newDst.ConnString())
	}
	version, err := cat.SetCredentials(ctx, name, src, dst, kr)
	if err != nil {
		return scrub(err)
	}
	fmt.Fprintf(c.out, "stored the new %s credentials of connector %s, sealed (credentials version %d): a running stream starts a new session with them within seconds, without a new snapshot\n",
		strings.Join(changed, " and "), name, version)
	// A stream that had to log in again between the password change on
	// the server and this command failed with the old password: it waits
	// for the operator, who now has the new one in place.
	fmt.Fprintf(c.out, "if the connector failed to log in before this (`ardent status %s` says failed), resume it: `ardent resume %s`\n", name, name)
	return nil
}

// newURL is the side's new URL: given is the --SIDE flag (a whole new URL,
// its password from the flag's file, PGPASSWORD, ~/.pgpass or a prompt),
// else the stored URL old with the password of file in place of its own.
// Every password it sees is added to passwords.
func (c *cli) newURL(cmd *cobra.Command, side, old, given, file string, passwords *[]string) (string, error) {
	if o, err := pgurl.Parse(side, old); err == nil {
		*passwords = append(*passwords, o.Password())
	}
	raw := given
	if raw == "" {
		var err error
		if raw, err = pgurl.WithoutPassword(old); err != nil {
			return "", fmt.Errorf("the stored %s URL cannot take a new password: give the whole URL with --%s", side, side)
		}
	}
	raw, err := withPassword(cmd, c, side, raw, file)
	if err != nil {
		return "", err
	}
	if n, err := pgurl.Parse(side, raw); err == nil {
		*passwords = append(*passwords, n.Password())
	}
	return raw, nil
}

// who is user@host:port/db: what a message may name of a connection.
func who(c *pgurl.Conn) string { return c.Config.User + "@" + c.Display() }

// checkSource shows the new source credentials work for connector conn:
// they log in, on a primary, open a replication session (what the stream
// opens), and reach the same database. Every failure exits 1.
func checkSource(ctx context.Context, src *pgurl.Conn, conn catalog.Connector) error {
	ctx, cancel := context.WithTimeout(ctx, credentialsCheckTimeout)
	defer cancel()
	cfg := src.Config.Copy()
	cfg.ConnectTimeout = credentialsCheckTimeout
	db, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return checkFailed(connectProblem(src, "", err))
	}
	defer db.Close(context.WithoutCancel(ctx))
	var standby bool
	if err := db.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&standby); err != nil {
		return checkFailed(fmt.Errorf("source %s: %w", who(src), err))
	}
	if standby {
		// A standby has its primary's system identifier, but no logical
		// slot can be used there (PostgreSQL 15).
		return checkFailed(fmt.Errorf("source %s is a standby (in recovery): the stream reads the connector's slot on the primary", who(src)))
	}
	rcfg := source.ReplicationConfig(&cfg.Config, "ardent-credentials")
	rconn, err := pgconn.ConnectConfig(ctx, rcfg)
	if err != nil {
		return checkFailed(connectProblem(src, "replication ", err))
	}
	defer rconn.Close(context.WithoutCancel(ctx))
	sys, err := source.IdentifySystem(ctx, rconn)
	if err != nil {
		return checkFailed(fmt.Errorf("source %s: %w", who(src), unwrapConnect(err)))
	}
	if sys.ID != conn.SystemIdentifier || sys.Database != conn.Database {
		return checkFailed(fmt.Errorf("source %s is not the database connector %s replicates: it is system identifier %d, database %q; "+
			"the connector's is system identifier %d, database %q (%s)",
			who(src), conn.Name, sys.ID, sys.Database, conn.SystemIdentifier, conn.Database, conn.SourceDisplay))
	}
	return nil
}

// checkDestination shows the new destination credentials work for
// connector name: they log in, and the database holds the connector's
// checkpoint, which the role may update.
func checkDestination(ctx context.Context, dst *pgurl.Conn, name string) error {
	ctx, cancel := context.WithTimeout(ctx, credentialsCheckTimeout)
	defer cancel()
	cfg := dst.Config.Copy()
	cfg.ConnectTimeout = credentialsCheckTimeout
	db, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return checkFailed(connectProblem(dst, "", err))
	}
	defer db.Close(context.WithoutCancel(ctx))
	var lsn string
	var canUpdate bool
	err = db.QueryRow(ctx, `SELECT lsn::text, has_table_privilege('_ardent.applied_lsn', 'UPDATE')
FROM _ardent.applied_lsn WHERE connector = $1`, name).Scan(&lsn, &canUpdate)
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows), errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000"):
		return checkFailed(fmt.Errorf("destination %s holds no checkpoint of connector %s (_ardent.applied_lsn): "+
			"it is not this connector's destination, or its snapshot has not finished", who(dst), name))
	case err != nil:
		return checkFailed(fmt.Errorf("destination %s: read the checkpoint of connector %s: %w", who(dst), name, err))
	case !canUpdate:
		return checkFailed(fmt.Errorf("destination %s: role %s may not update _ardent.applied_lsn, so it could not apply changes",
			who(dst), dst.Config.User))
	}
	return nil
}

func checkFailed(err error) error { return &exitError{code: 1, err: err} }

// connectProblem words a failed connection of kind ("" or "replication ")
// to c, never with its password.
func connectProblem(c *pgurl.Conn, kind string, err error) error {
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "28P01":
		return fmt.Errorf("password authentication failed for %s: nothing was changed", who(c))
	case errors.As(err, &pgErr) && pgErr.Code == "42501" && kind != "":
		return fmt.Errorf("%s %s refused a replication session: %s (the role needs REPLICATION: ALTER ROLE %s REPLICATION;)",
			c.Side, who(c), pgErr.Message, c.Config.User)
	case errors.As(err, &pgErr) && pgErr.Code == "28000":
		return fmt.Errorf("%s %s rejected the %ssession: %s (pg_hba.conf)", c.Side, who(c), kind, pgErr.Message)
	}
	return fmt.Errorf("cannot open a %ssession to %s %s: %w", kind, c.Side, who(c), unwrapConnect(err))
}

// unwrapConnect drops the connection details pgconn puts in front of a
// connect error.
func unwrapConnect(err error) error {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) && ce.Unwrap() != nil {
		return ce.Unwrap()
	}
	return err
}
