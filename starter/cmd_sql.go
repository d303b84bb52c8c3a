package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sqlgen"
)

// sqlConnectTimeout bounds the read-only discovery `ardent sql` does.
const sqlConnectTimeout = 10 * time.Second

func newSQLCmd(c *cli) *cobra.Command {
	var (
		sel     selectionFlags
		role    string
		pwFile  string
		setPW   bool
		srcPass urlPasswords
	)
	cmd := &cobra.Command{
		Use:   "sql [--source URL]",
		Short: "Print the SQL script that prepares a source database for Ardent",
		Long: `Print one script that prepares the source: the role, grants, default privileges,
settings (raised only, never lowered), replica identity statements, pg_hba.conf lines and
a wal2json check. Apply it as a superuser or the owner, as often as needed:

  ardent sql --source URL --password-file FILE > ardent.sql
  psql -v ON_ERROR_STOP=1 -d DB -f ardent.sql

The role's password comes from --password-file (mode 600; - for stdin) or, on a terminal,
a prompt; the script carries only its SCRAM-SHA-256 verifier, never the clear password.
Without either, the script takes a verifier in psql's variable:
psql -v ardent_password="$(ardent scram-verifier)". A role that already exists keeps its
password (roles are cluster-wide: other databases' connectors may use it) unless
--set-password is given.

With --source it connects read-only to find table owners and replica identities;
without, it prints a generic script. Ardent never runs it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := sel.validate(false); err != nil {
				return err
			}
			if err := checkRoleName(role, false); err != nil {
				return err
			}
			if err := checkEgressIP(c.cfg.EgressIP); err != nil {
				return err
			}
			if pwFile == stdinFile && *srcPass.files[pgurl.SideSource] == stdinFile {
				return usageErr("only one password file can be stdin (-)")
			}
			if err := srcPass.fill(cmd, c, &sel.source); err != nil {
				return err
			}
			verifier, err := rolePassword(cmd, c, role, pwFile)
			if err != nil {
				return err
			}
			opts := sqlgen.Options{Role: role, Schemas: sel.schemas, ReplicaIdentityFull: sel.full, EgressIP: c.cfg.EgressIP,
				PasswordVerifier: verifier, SetPassword: setPW}
			if sel.source != "" {
				if err := discoverForSQL(cmd.Context(), sel, &opts); err != nil {
					return &exitError{code: 1, err: err}
				}
			} else if len(opts.Schemas) == 0 {
				opts.Schemas = schemasOf(sel.tables)
			}
			script, err := sqlgen.Generate(opts)
			if err != nil {
				return usageErr("%w", err)
			}
			_, err = fmt.Fprint(c.out, script)
			return err
		},
	}
	sel.register(cmd)
	srcPass.register(cmd, pgurl.SideSource)
	cmd.Flags().StringVar(&role, "role", "ardent", "role Ardent connects as")
	cmd.Flags().StringVar(&pwFile, "password-file", "",
		"file holding the role's new password (mode 600; - for stdin); without it, asked on a terminal")
	cmd.Flags().BoolVar(&setPW, "set-password", false,
		"also replace the password of a role that already exists (other connectors using the role need the new one)")
	return cmd
}

// rolePassword is the SCRAM-SHA-256 verifier the script gives the role:
// from the password in file, or asked twice on the terminal. Empty when
// neither: the script then takes a verifier from psql's variable.
func rolePassword(cmd *cobra.Command, c *cli, role, file string) (string, error) {
	var pw string
	var err error
	if file != "" {
		pw, err = readPasswordFile("password file", file, cmd.InOrStdin())
	} else {
		var ok bool
		pw, ok, err = askNewPassword(cmd, c, fmt.Sprintf("Password for role %s (only its SCRAM verifier goes into the script): ", role))
		if err == nil && !ok {
			fmt.Fprintf(c.errOut, "ardent: no --password-file and no terminal: the script takes the password of role %s as a SCRAM verifier: "+
				"psql -v %s=\"$(%s)\" ...\n", role, sqlgen.PasswordVar, sqlgen.VerifierCommand)
			return "", nil
		}
	}
	if err != nil {
		return "", err
	}
	return verifierOf(pw)
}

// schemasOf returns the selected schemas: the tables' schemas when only
// tables are named, nil (the default schema) otherwise.
func schemasOf(tables []string) []string {
	var out []string
	for _, t := range tables {
		q, err := schema.ParseQualified(t)
		if err == nil && !slices.Contains(out, q.Schema) {
			out = append(out, q.Schema)
		}
	}
	return out
}

// discoverForSQL reads, in a read-only session, what makes the script
// specific: the database name, the owners of each schema's tables and the
// tables' replica identities.
func discoverForSQL(ctx context.Context, sel selectionFlags, o *sqlgen.Options) error {
	src, err := pgurl.ParseSource(sel.source)
	if err != nil {
		return err
	}
	cfg := src.Config.Copy()
	cfg.ConnectTimeout = sqlConnectTimeout
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	cfg.RuntimeParams["application_name"] = "ardent-sql"
	ctx, cancel := context.WithTimeout(ctx, 6*sqlConnectTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to %s: %s (run `ardent preflight` for a diagnosis, or omit --source for a generic script)",
			src.Display(), pgurl.Scrub(err.Error(), src.Password()))
	}
	defer conn.Close(context.Background())
	missingSchemas, missingTables, err := schema.Missing(ctx, conn, sel.selection())
	if err != nil {
		return fmt.Errorf("look up the selection on %s: %s", src.Display(), pgurl.Scrub(err.Error(), src.Password()))
	}
	if len(missingSchemas)+len(missingTables) > 0 {
		return fmt.Errorf("not found on %s (names are case-sensitive): schemas %q, tables %q", src.Display(), missingSchemas, missingTables)
	}
	tables, err := schema.Discover(ctx, conn, sel.selection())
	if err != nil {
		return fmt.Errorf("discover tables on %s: %s", src.Display(), pgurl.Scrub(err.Error(), src.Password()))
	}
	schemas := slices.Clone(sel.schemas)
	if len(schemas) == 0 && len(sel.tables) == 0 {
		schemas = []string{schema.DefaultSchema}
	}
	for _, t := range tables {
		if !slices.Contains(schemas, t.Schema) {
			schemas = append(schemas, t.Schema)
		}
	}
	owners, err := schema.Owners(ctx, conn, schemas)
	if err != nil {
		return fmt.Errorf("look up owners on %s: %s", src.Display(), pgurl.Scrub(err.Error(), src.Password()))
	}
	o.Database = src.Config.Database
	o.Schemas = schemas
	o.Owners = owners
	o.Tables = tables
	return nil
}
