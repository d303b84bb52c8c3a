package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/schema"
)

// tablesSourceTimeout bounds `tables add`'s look at the source: the
// connection and its catalog queries.
const tablesSourceTimeout = 15 * time.Second

// checkAddOnSource checks, with connector name's stored source
// credentials, that each table can be replicated: it exists, has a usable
// replica identity, and the connector's role may read it. A refusal exits
// 1 and names the fix; no password is ever in what it says.
func (c *cli) checkAddOnSource(ctx context.Context, name string, tables []schema.QualifiedName) error {
	kr, err := c.keyring()
	if err != nil {
		return usageErr("%w", err)
	}
	cat, err := c.catalog(ctx)
	if err != nil {
		return err
	}
	conn, err := cat.Get(ctx, name)
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		return &exitError{code: 1, err: fmt.Errorf("no connector named %q in Ardent's catalog (is ARDENT_CATALOG_URL the worker's?)", name)}
	case err != nil:
		return err
	case conn.DroppedAt != nil:
		return &exitError{code: 1, err: fmt.Errorf("connector %s was dropped: it has no tables any more", name)}
	}
	raw, err := cat.SourceURL(ctx, name, kr)
	if err != nil {
		return err
	}
	src, err := pgurl.ParseSource(raw)
	if err != nil {
		return fmt.Errorf("the stored source URL of connector %s: %s", name, pgurl.Scrub(err.Error()))
	}
	if err := checkAddSource(ctx, src, name, tables); err != nil {
		var ee *exitError
		if errors.As(err, &ee) && ee.err != nil {
			return &exitError{code: ee.code, err: errors.New(pgurl.Scrub(ee.err.Error(), src.Password()))}
		}
		return errors.New(pgurl.Scrub(err.Error(), src.Password()))
	}
	return nil
}

// relation is what `tables add` needs to know of one relation on the source.
type relation struct {
	name     string // schema.table, unquoted
	ident    string // quoted, for the remedies' SQL
	nspIdent string // its schema, quoted
	kind     string // pg_class.relkind
	unlogged bool
	usage    bool // the role has USAGE on its schema
	read     bool // the role has SELECT on it
}

// relationsQuery reads the relations named (any kind, so a view is named
// as one), with the connecting role's privileges on them.
const relationsQuery = `
SELECT n.nspname || '.' || c.relname, quote_ident(n.nspname) || '.' || quote_ident(c.relname), quote_ident(n.nspname),
       c.relkind::text, c.relpersistence = 'u',
       has_schema_privilege(n.oid, 'USAGE'), has_table_privilege(c.oid, 'SELECT')
FROM unnest($1::text[], $2::text[]) s(nsp, rel)
JOIN pg_namespace n ON n.nspname = s.nsp
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.rel`

// nearQuery finds tables whose names differ only in case from those asked.
const nearQuery = `
SELECT s.nsp || '.' || s.rel, n.nspname || '.' || c.relname
FROM unnest($1::text[], $2::text[]) s(nsp, rel)
JOIN pg_namespace n ON lower(n.nspname) = lower(s.nsp)
JOIN pg_class c ON c.relnamespace = n.oid AND lower(c.relname) = lower(s.rel) AND c.relkind IN ('r', 'p')
ORDER BY 2`

// checkAddSource connects to src (read-only, as ardent-tables) and checks
// the tables for connector name.
func checkAddSource(ctx context.Context, src *pgurl.Conn, name string, tables []schema.QualifiedName) error {
	ctx, cancel := context.WithTimeout(ctx, tablesSourceTimeout)
	defer cancel()
	cfg := src.Config.Copy()
	cfg.ConnectTimeout = tablesSourceTimeout
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = "ardent-tables"
	cfg.RuntimeParams["default_transaction_read_only"] = "on"
	cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(tablesSourceTimeout.Milliseconds(), 10)
	db, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return checkFailed(connectProblem(src, "", err))
	}
	defer db.Close(context.WithoutCancel(ctx))

	names := make([]string, len(tables))
	for i, q := range tables {
		names[i] = qualifiedArg(q)
	}
	found, err := schema.DiscoverAll(ctx, db, schema.Selection{Tables: names})
	if err != nil {
		return fmt.Errorf("look up %s on %s: %w", strings.Join(names, ", "), src.Display(), err)
	}
	// The named tables and their partitions (a backfill reads the
	// partitions, which have privileges of their own).
	var nsps, rels []string
	for _, q := range tables {
		nsps, rels = append(nsps, q.Schema), append(rels, q.Name)
	}
	for _, t := range found {
		nsps, rels = append(nsps, t.Schema), append(rels, t.Name)
	}
	rows, err := db.Query(ctx, relationsQuery, nsps, rels)
	if err != nil {
		return fmt.Errorf("look up %s on %s: %w", strings.Join(names, ", "), src.Display(), err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (relation, error) {
		var x relation
		err := r.Scan(&x.name, &x.ident, &x.nspIdent, &x.kind, &x.unlogged, &x.usage, &x.read)
		return x, err
	})
	if err != nil {
		return fmt.Errorf("look up %s on %s: %w", strings.Join(names, ", "), src.Display(), err)
	}
	byName := make(map[string]relation, len(list))
	for _, r := range list {
		byName[r.name] = r
	}
	var missN, missR []string
	for _, q := range tables {
		if _, ok := byName[q.String()]; !ok {
			missN, missR = append(missN, q.Schema), append(missR, q.Name)
		}
	}
	near := nearNames(ctx, db, missN, missR)
	problems := addProblems(src.Display(), src.Config.User, tables, byName, found, near)
	if len(problems) == 0 {
		return nil
	}
	n := len(problems)
	head := fmt.Sprintf("cannot add %s to connector %s:", plural(n, "table"), name)
	return &exitError{code: 1, err: fmt.Errorf("%s\n%s\nnothing was sent", head, strings.Join(problems, "\n"))}
}

// nearNames maps each "schema.table" asked for to the tables whose names
// differ from it only in case: a hint, so a failed lookup is no error.
func nearNames(ctx context.Context, db *pgx.Conn, nsps, rels []string) map[string][]string {
	near := map[string][]string{}
	if len(nsps) == 0 {
		return near
	}
	rows, err := db.Query(ctx, nearQuery, nsps, rels)
	if err != nil {
		return near
	}
	pairs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (p [2]string, err error) {
		err = r.Scan(&p[0], &p[1])
		return p, err
	})
	if err != nil {
		return near
	}
	for _, p := range pairs {
		near[p[0]] = append(near[p[0]], p[1])
	}
	return near
}

// addProblems is one entry per table that cannot be added (its lines
// indented under it), in the order asked: where is the source's
// host:port/db, role the connector's source role.
func addProblems(where, role string, tables []schema.QualifiedName, rels map[string]relation,
	found []schema.Table, near map[string][]string) []string {
	var out []string
	for _, q := range tables {
		var lines []string
		add := func(format string, a ...any) { lines = append(lines, fmt.Sprintf(format, a...)) }
		r, ok := rels[q.String()]
		switch {
		case !ok:
			msg := fmt.Sprintf("not found on %s (names are case-sensitive", where)
			if n := near[q.String()]; len(n) > 0 {
				msg += "; did you mean " + strings.Join(n, " or ") + "?"
			}
			add("%s)", msg)
		case r.kind != "r" && r.kind != "p":
			add("is %s on %s, not a table: only tables and partitioned tables are replicated", relkindWord(r.kind), where)
		default:
			var parts []schema.Table
			for _, t := range found {
				if t.FullName() == q.String() || t.Parent == q.String() {
					parts = append(parts, t)
				}
			}
			lines = append(lines, tableProblems(role, r, parts, rels)...)
		}
		if len(lines) > 0 {
			out = append(out, "  "+q.String()+": "+strings.Join(lines, "\n    "))
		}
	}
	return out
}

// tableProblems is what keeps table r (with its leaf tables parts: itself,
// or a partitioned table's partitions) from being replicated. Each entry is
// a problem, then its remedy on a line of its own.
func tableProblems(role string, r relation, parts []schema.Table, rels map[string]relation) []string {
	var lines []string
	roleIdent := schema.QuoteIdent(role)
	about := func(name, ident string) string {
		if name == r.name {
			return ""
		}
		return "partition " + ident + ": "
	}
	check := []relation{r}
	for _, p := range parts {
		if pr, ok := rels[p.FullName()]; ok && p.FullName() != r.name {
			check = append(check, pr)
		}
	}
	var noUsage []string
	for _, x := range check {
		if !x.usage && !slices.Contains(noUsage, x.nspIdent) {
			noUsage = append(noUsage, x.nspIdent)
			lines = append(lines, fmt.Sprintf("role %s has no USAGE on schema %s\n→ GRANT USAGE ON SCHEMA %s TO %s;", role, x.nspIdent, x.nspIdent, roleIdent))
		}
	}
	for _, x := range check {
		if !x.read {
			lines = append(lines, fmt.Sprintf("%srole %s may not read it\n→ GRANT SELECT ON %s TO %s;", about(x.name, x.ident), role, x.ident, roleIdent))
		}
	}
	for _, x := range check {
		if x.unlogged {
			lines = append(lines, fmt.Sprintf("%sUNLOGGED: its changes are not written to WAL, so none would stream\n→ ALTER TABLE %s SET LOGGED;",
				about(x.name, x.ident), x.ident))
		}
	}
	const maxKeyless = 3
	keyless := 0
	for _, p := range parts {
		switch {
		case p.NoColumns():
			lines = append(lines, fmt.Sprintf("%sno columns: Ardent can neither copy nor key it\n→ %s", about(p.FullName(), p.Ident()), schema.NoColumnsRemedy(p)))
		case p.Identity == schema.IdentityNone:
			keyless++
			if keyless <= maxKeyless {
				lines = append(lines, fmt.Sprintf("%sno usable replica identity: its UPDATEs and DELETEs would reach the stream without a key\n→ %s",
					about(p.FullName(), p.Ident()), identityRemedy(p)))
			}
		}
	}
	if keyless > maxKeyless {
		lines = append(lines, fmt.Sprintf("… and %d more partitions without a usable replica identity", keyless-maxKeyless))
	}
	// A remedy line is indented under its problem.
	for i, l := range lines {
		lines[i] = strings.ReplaceAll(l, "\n→", "\n      →")
	}
	return lines
}

// identityRemedy is the statement that gives t a usable replica identity,
// as preflight words it: selecting its candidate index, else a primary key
// or FULL (the operator's choice).
func identityRemedy(t schema.Table) string {
	if stmt := schema.IdentityStatement(t, false); stmt != "" {
		return stmt + " (its unique NOT NULL index becomes the identity)"
	}
	return "add a primary key, or " + schema.IdentityStatement(t, true) + " (each change then carries the whole old row)"
}

func relkindWord(k string) string {
	switch k {
	case "v":
		return "a view"
	case "m":
		return "a materialized view"
	case "f":
		return "a foreign table"
	case "S":
		return "a sequence"
	case "i", "I":
		return "an index"
	case "c":
		return "a composite type"
	}
	return "relation kind " + k
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
