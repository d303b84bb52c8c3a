package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/preflight"
	"github.com/ardent-cdc/ardent/internal/schema"
)

// selectionFlags are shared by preflight and sql.
type selectionFlags struct {
	source  string
	schemas []string
	tables  []string
	exclude []string
	full    []string
}

func (f *selectionFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.source, "source", "", "source database URL (postgres://USER:PASSWORD@HOST:PORT/DB or key=value)")
	fl.StringArrayVar(&f.schemas, "schema", nil, "schema to replicate (repeatable; default public)")
	fl.StringArrayVar(&f.tables, "table", nil, "table SCHEMA.TABLE to replicate (repeatable)")
	fl.StringArrayVar(&f.exclude, "exclude-table", nil, "table SCHEMA.TABLE to leave out (repeatable)")
	fl.StringArrayVar(&f.full, "replica-identity-full", nil, "table SCHEMA.TABLE to replicate with REPLICA IDENTITY FULL (repeatable)")
}

// validate checks every name before anything connects: a malformed name
// or URL is a usage error (exit 2), never a failed check.
func (f *selectionFlags) validate(needSource bool) error {
	if f.source == "" && needSource {
		return usageErr("--source is required")
	}
	if f.source != "" {
		if _, err := pgurl.ParseSource(f.source); err != nil {
			return usageErr("--source: %w", err)
		}
	}
	for flag, names := range map[string][]string{"--table": f.tables, "--exclude-table": f.exclude, "--replica-identity-full": f.full} {
		for _, n := range names {
			if _, err := schema.ParseQualified(n); err != nil {
				return usageErr("%s: %w", flag, err)
			}
		}
	}
	for _, s := range f.schemas {
		if s == "" {
			return usageErr("--schema: empty name")
		}
	}
	return nil
}

func (f *selectionFlags) selection() schema.Selection {
	return schema.Selection{Schemas: f.schemas, Tables: f.tables, Exclude: f.exclude}
}

// interactive reports whether the operator can answer prompts; a test
// seam, as the test binary's stdin is never a terminal.
var interactive = func(in io.Reader, out io.Writer) bool {
	fi, ok1 := in.(*os.File)
	fo, ok2 := out.(*os.File)
	return ok1 && ok2 && term.IsTerminal(int(fi.Fd())) && term.IsTerminal(int(fo.Fd()))
}

// maxPrompts bounds the interactive questions; beyond it the flags are the
// only sane interface.
const maxPrompts = 20

func newPreflightCmd(c *cli) *cobra.Command {
	var (
		sel    selectionFlags
		accept []string
		format string
		role   string
		dest   destinationFlags
		dstURL string
		name   string
		pw     urlPasswords
	)
	cmd := &cobra.Command{
		Use:   "preflight --source URL",
		Short: "Check a source database before onboarding (read-only; stores nothing)",
		Long: `Check a source database before onboarding it: connectivity, TLS, version, primary,
wal_level, the role, the replication connection, free slots and WAL senders, wal2json,
privileges, replica identity, duplicates and WAL retention. Every check that does not
pass comes with a remedy; ` + "`ardent sql`" + ` generates the statements.

Exit status: 0 passed, 1 not passed, 2 usage error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return usageErr("--format must be text or json, not %q", format)
			}
			if err := sel.validate(true); err != nil {
				return err
			}
			if err := checkEgressIP(c.cfg.EgressIP); err != nil {
				return err
			}
			if err := checkRoleName(role, true); err != nil {
				return err
			}
			for _, id := range accept {
				if !slices.Contains(preflight.CheckIDs, id) {
					return usageErr("--accept-unverified %q: not a check id (%s)", id, strings.Join(preflight.CheckIDs, ", "))
				}
			}
			if err := pw.fill(cmd, c, &sel.source, &dstURL); err != nil {
				return err
			}
			opts := preflight.Options{
				SourceURL: sel.source, Selection: sel.selection(), ReplicaIdentityFull: sel.full,
				EgressIP: c.cfg.EgressIP, Role: role, KnownSource: c.knownSource,
				AcceptUnverified: accept, Logger: c.log,
			}
			if d, err := dest.options(); err != nil {
				return err
			} else if dstURL != "" {
				if _, err := pgurl.ParseDestination(dstURL); err != nil {
					return usageErr("--destination: %w", err)
				}
				opts.Destination = &preflight.Destination{URL: dstURL, Connector: name, Target: d.TargetSchema,
					Replace: d.ReplaceExisting, Live: c.liveConnector()}
			} else if d.TargetSchema != "" || d.ReplaceExisting {
				return usageErr("--target-schema and --replace-existing need --destination")
			}
			rep := preflight.Run(cmd.Context(), opts)
			if format == "text" && interactive(cmd.InOrStdin(), c.out) {
				if exclude, full := promptIdentity(cmd.InOrStdin(), c.out, rep.Tables); len(exclude)+len(full) > 0 {
					opts.ExcludeTables = append(opts.ExcludeTables, exclude...)
					opts.ReplicaIdentityFull = append(opts.ReplicaIdentityFull, full...)
					rep = preflight.Run(cmd.Context(), opts)
					fmt.Fprintf(c.out, "\nTo repeat these choices without prompts:%s\n\n", choiceFlags(exclude, full))
				}
			}
			if format == "json" {
				if err := writeJSON(c.out, rep); err != nil {
					return err
				}
			} else {
				renderPreflight(c.out, "Preflight of "+displayOf(sel.source), &rep, false,
					"Apply the remedies (`ardent sql` generates the SQL) and run preflight again.")
			}
			if !rep.Passed {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	sel.register(cmd)
	fl := cmd.Flags()
	fl.StringArrayVar(&accept, "accept-unverified", nil, "check id whose unverified status you accept (repeatable)")
	fl.StringVar(&format, "format", "text", "output format: text or json")
	fl.StringVar(&role, "role", "", "role Ardent will use (default: the URL's user)")
	fl.StringVar(&dstURL, "destination", "", "also check the destination database: it connects, is not the source, and its tables are free for this connector")
	fl.StringVar(&name, "name", "", "the connector's name, with --destination: tables it already owns are its own")
	dest.register(cmd, false)
	pw.register(cmd, pgurl.SideSource, pgurl.SideDestination)
	return cmd
}

// keyless are the tables whose fix is the operator's choice.
func keyless(tables []preflight.TableReport) []preflight.TableReport {
	var out []preflight.TableReport
	for _, t := range tables {
		if t.Identity == schema.IdentityNone && t.Remedy != "" && !strings.HasPrefix(t.Remedy, "ALTER TABLE") {
			out = append(out, t)
		}
	}
	return out
}

// promptIdentity asks, for each table without a usable key, whether to
// exclude it, add a key (the operator's job) or use REPLICA IDENTITY FULL.
func promptIdentity(in io.Reader, out io.Writer, tables []preflight.TableReport) (exclude, full []string) {
	todo := keyless(tables)
	if len(todo) == 0 {
		return nil, nil
	}
	if len(todo) > maxPrompts {
		fmt.Fprintf(out, "%d tables have no usable key; choose with --exclude-table / --replica-identity-full.\n", len(todo))
		return nil, nil
	}
	r := bufio.NewReader(in)
	fmt.Fprintf(out, "%d table(s) have no primary key and no unique NOT NULL index. Ardent never changes them itself.\n", len(todo))
	for _, t := range todo {
		name := flagTable(t.Schema, t.Name)
		for {
			fmt.Fprintf(out, "  %s: [e]xclude it, add a [k]ey yourself, or REPLICA IDENTITY [f]ull? ", schema.Table{Schema: t.Schema, Name: t.Name}.Ident())
			line, err := r.ReadString('\n')
			switch strings.ToLower(strings.TrimSpace(line)) {
			case "e", "exclude":
				exclude = append(exclude, name)
			case "f", "full":
				full = append(full, name)
			case "k", "key":
			default:
				if err == nil {
					continue
				}
			}
			if err != nil {
				fmt.Fprintln(out)
				return exclude, full
			}
			break
		}
	}
	return exclude, full
}

// flagTable spells a table so schema.ParseQualified reads it back.
func flagTable(s, n string) string {
	q := func(p string) string {
		if strings.ContainsAny(p, `."`) {
			return `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
		}
		return p
	}
	return q(s) + "." + q(n)
}

func choiceFlags(exclude, full []string) string {
	var b strings.Builder
	for _, e := range exclude {
		fmt.Fprintf(&b, " --exclude-table %s", shellQuote(e))
	}
	for _, f := range full {
		fmt.Fprintf(&b, " --replica-identity-full %s", shellQuote(f))
	}
	return b.String()
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
