package preflight

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ardent-cdc/ardent/internal/naming"
	"github.com/ardent-cdc/ardent/internal/schema"
)

// BookkeepingSchema is Ardent's own schema in the source.
const BookkeepingSchema = naming.BookkeepingSchema

func (r *runner) checkBookkeeping(ctx context.Context) {
	pctx, cancel := r.probeCtx(ctx)
	defer cancel()
	var canCreate bool
	var owner *string
	var ownsIt bool
	err := r.conn.QueryRow(pctx, `
SELECT has_database_privilege($1::name, current_database(), 'CREATE'),
       (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $2),
       COALESCE((SELECT pg_has_role($1::name, nspowner, 'USAGE') FROM pg_namespace WHERE nspname = $2), false)`,
		r.role, BookkeepingSchema).Scan(&canCreate, &owner, &ownsIt)
	switch {
	case err != nil:
		r.set(CheckBookkeeping, StatusUnverified, fmt.Sprintf("cannot check privileges of role %q: %s", r.role, r.errText(err)), "")
	case owner != nil && ownsIt:
		r.set(CheckBookkeeping, StatusPass, fmt.Sprintf("schema %s exists and belongs to %s", BookkeepingSchema, *owner), "")
	case owner != nil:
		r.set(CheckBookkeeping, StatusFail, fmt.Sprintf("schema %s exists but belongs to %q, not %q", BookkeepingSchema, *owner, r.role),
			fmt.Sprintf("ALTER SCHEMA %s OWNER TO %s;", quoteIdent(BookkeepingSchema), quoteIdent(r.role)))
	case canCreate:
		r.set(CheckBookkeeping, StatusPass, fmt.Sprintf("role %q may create schema %s in database %s", r.role, BookkeepingSchema, r.facts.database), "")
	default:
		r.set(CheckBookkeeping, StatusFail, fmt.Sprintf("role %q may not create schema %s in database %s", r.role, BookkeepingSchema, r.facts.database),
			fmt.Sprintf("GRANT CREATE ON DATABASE %s TO %s;", quoteIdent(r.facts.database), quoteIdent(r.role)))
	}
}

// checkTables discovers the selection once and runs can_read_tables and
// replica_identity on it. It uses DiscoverAll, not Discover, so that a table
// Ardent cannot replicate is reported in the table list with its remedy
// rather than hiding every other table behind one discovery error.
func (r *runner) checkTables(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, 6*r.opts.ProbeTimeout)
	defer cancel()
	var tables []schema.Table
	var err error
	r.timed("discover", func() { tables, err = schema.DiscoverAll(pctx, r.conn, r.opts.Selection) })
	if err != nil {
		msg := "cannot discover the selected tables: " + r.errText(err)
		r.set(CheckCanReadTables, StatusUnverified, msg, "")
		r.set(CheckReplicaIdentity, StatusUnverified, msg, "")
		return
	}
	r.tables = tables
	r.timed("can_read_tables", func() { r.checkCanRead(pctx) })
	r.checkReplicaIdentity()
}

// privilegesQuery names what the role cannot read, set-based: schemas
// without USAGE, selected tables without SELECT, and sequences in those
// schemas without SELECT.
const privilegesQuery = `
WITH nsp AS (SELECT DISTINCT s FROM unnest($2::text[]) s WHERE EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = s))
SELECT 'schema', quote_ident(s) FROM nsp WHERE NOT has_schema_privilege($1::name, s, 'USAGE')
UNION ALL
(SELECT 'table', quote_ident(n.nspname) || '.' || quote_ident(c.relname)
 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid = ANY($3::oid[]) AND NOT has_table_privilege($1::name, c.oid, 'SELECT')
 ORDER BY 2)
UNION ALL
(SELECT 'sequence', quote_ident(n.nspname) || '.' || quote_ident(c.relname)
 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'S' AND n.nspname IN (SELECT s FROM nsp)
   -- CASE keeps the planner from calling it on a non-sequence first.
   AND CASE WHEN c.relkind = 'S' THEN NOT has_sequence_privilege($1::name, c.oid, 'SELECT') END
 ORDER BY 2)`

func (r *runner) checkCanRead(ctx context.Context) {
	var missingSchemas, missingTables []string
	var err error
	r.timed("missing", func() { missingSchemas, missingTables, err = schema.Missing(ctx, r.conn, r.opts.Selection) })
	if err != nil {
		r.set(CheckCanReadTables, StatusUnverified, "cannot look up the selection: "+r.errText(err), "")
		return
	}
	schemas := append([]string(nil), r.opts.Selection.Schemas...)
	if len(schemas) == 0 && len(r.opts.Selection.Tables) == 0 {
		schemas = []string{schema.DefaultSchema}
	}
	oids := make([]uint32, len(r.tables))
	for i, t := range r.tables {
		oids[i] = t.OID
		if !slices.Contains(schemas, t.Schema) {
			schemas = append(schemas, t.Schema)
		}
	}
	rows, err := r.conn.Query(ctx, privilegesQuery, r.role, schemas, oids)
	if err != nil {
		r.set(CheckCanReadTables, StatusUnverified, fmt.Sprintf("cannot check privileges of role %q: %s", r.role, r.errText(err)), "")
		return
	}
	var noUsage, noTable, noSeq []string
	for rows.Next() {
		var kind, name string
		if err := rows.Scan(&kind, &name); err != nil {
			rows.Close()
			r.set(CheckCanReadTables, StatusUnverified, "cannot check privileges: "+r.errText(err), "")
			return
		}
		switch kind {
		case "schema":
			noUsage = append(noUsage, name)
		case "table":
			noTable = append(noTable, name)
		default:
			noSeq = append(noSeq, name)
		}
	}
	if err := rows.Err(); err != nil {
		r.set(CheckCanReadTables, StatusUnverified, fmt.Sprintf("cannot check privileges of role %q: %s", r.role, r.errText(err)), "")
		return
	}
	var problems []string
	if len(missingSchemas) > 0 {
		problems = append(problems, "selected schemas do not exist: "+firstFew(missingSchemas, 5))
	}
	if len(missingTables) > 0 {
		problems = append(problems, "selected tables do not exist: "+firstFew(missingTables, 5))
	}
	if len(noUsage) > 0 {
		problems = append(problems, "no USAGE on schemas "+firstFew(noUsage, 5))
	}
	if len(noTable) > 0 {
		problems = append(problems, fmt.Sprintf("no SELECT on %d tables: %s", len(noTable), firstFew(noTable, 5)))
	}
	if len(noSeq) > 0 {
		problems = append(problems, fmt.Sprintf("no SELECT on %d sequences: %s", len(noSeq), firstFew(noSeq, 5)))
	}
	if len(problems) > 0 {
		remedy := "run the grants of `ardent sql` as the owner or a superuser"
		if len(missingSchemas)+len(missingTables) > 0 {
			remedy = "fix --schema/--table (names are case-sensitive, as in the catalog), then " + remedy
		}
		r.set(CheckCanReadTables, StatusFail, fmt.Sprintf("role %q: %s", r.role, strings.Join(problems, "; ")), remedy)
		return
	}
	if len(r.tables) == 0 {
		msg, remedy := "the selection contains no tables", "select schemas with --schema or tables with --table"
		if len(r.opts.Selection.Schemas) > 0 {
			// An empty schema is a fine start: tables created there later
			// are found and copied as they appear.
			msg, remedy = "the selected schemas have no tables yet: tables created there later are copied and streamed as they appear", ""
		}
		r.set(CheckCanReadTables, StatusWarn, msg, remedy)
		return
	}
	r.set(CheckCanReadTables, StatusPass, fmt.Sprintf("role %q can read all %d selected tables and their schemas' sequences", r.role, len(r.tables)), "")
}

func (r *runner) checkReplicaIdentity() {
	full := map[string]bool{}
	for _, n := range r.opts.ReplicaIdentityFull {
		if q, err := schema.ParseQualified(n); err == nil {
			full[q.String()] = true
		}
	}
	var noKey, noColumns []string
	r.tableRep = make([]TableReport, 0, len(r.tables))
	for _, t := range r.tables {
		remedy := IdentityRemedy(t, full[t.FullName()])
		r.tableRep = append(r.tableRep, TableReport{Schema: t.Schema, Name: t.Name, Identity: t.Identity, Remedy: remedy})
		switch {
		case t.NoColumns():
			noColumns = append(noColumns, t.Ident())
		case remedy != "":
			noKey = append(noKey, t.Ident())
		}
	}
	var problems, remedies []string
	if len(noColumns) > 0 {
		// Whatever its identity: even FULL identifies nothing without columns.
		problems = append(problems, fmt.Sprintf("%d of %d tables have no columns and cannot be replicated: %s",
			len(noColumns), len(r.tables), firstFew(noColumns, 5)))
		remedies = append(remedies, "add a column with a primary key to each table without columns, or exclude it with --exclude-table")
	}
	if len(noKey) > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d tables lack a usable replica identity: %s",
			len(noKey), len(r.tables), firstFew(noKey, 5)))
		remedies = append(remedies, "run the ALTER TABLE statements (also in `ardent sql`), or exclude the table with --exclude-table")
	}
	if len(problems) > 0 {
		r.set(CheckReplicaIdentity, StatusFail, strings.Join(problems, "; "), "see each table's remedy: "+strings.Join(remedies, "; "))
		return
	}
	r.set(CheckReplicaIdentity, StatusPass, fmt.Sprintf("all %d selected tables have a usable replica identity", len(r.tables)), "")
}

// IdentityRemedy is what makes t replicable ("" when it already is):
// selecting its candidate index, the FULL the operator chose, or the choice
// the operator still has to make. Ardent never runs these statements. A
// table without columns has one remedy whatever its identity: no statement
// about identity makes it replicable.
func IdentityRemedy(t schema.Table, chooseFull bool) string {
	if t.NoColumns() {
		return "no columns: Ardent can neither copy nor key it; " + schema.NoColumnsRemedy(t)
	}
	if stmt := schema.IdentityStatement(t, chooseFull); stmt != "" {
		return stmt
	}
	if t.Identity != schema.IdentityNone || chooseFull {
		return ""
	}
	return fmt.Sprintf("no primary key or unique NOT NULL index: exclude the table (--exclude-table %s), add a primary key, or choose REPLICA IDENTITY FULL (--replica-identity-full %s)",
		t.FlagName(), t.FlagName())
}

func (r *runner) checkDuplicateSource(ctx context.Context) {
	if r.opts.KnownSource == nil {
		r.set(CheckDuplicateSource, StatusWarn, "not checked: no Ardent catalog configured (ARDENT_CATALOG_URL)", "")
		return
	}
	pctx, cancel := r.probeCtx(ctx)
	defer cancel()
	if r.systemID == 0 {
		var id int64
		if err := r.conn.QueryRow(pctx, "SELECT system_identifier FROM pg_control_system()").Scan(&id); err != nil {
			r.set(CheckDuplicateSource, StatusUnverified, "cannot read the system identifier: "+r.errText(err),
				"fix replication_connection (IDENTIFY_SYSTEM reports it), then run preflight again")
			return
		}
		r.systemID = uint64(id)
	}
	name, found, err := r.opts.KnownSource(pctx, r.systemID, r.facts.database)
	switch {
	case err != nil:
		r.set(CheckDuplicateSource, StatusUnverified, "cannot look the source up in Ardent's catalog: "+r.errText(err), "")
	case found:
		r.set(CheckDuplicateSource, StatusFail,
			fmt.Sprintf("this database (system %d, database %s) is already connected to Ardent as connector %q", r.systemID, r.facts.database, name),
			fmt.Sprintf("use the existing connector, or drop it first: ardent drop %s", name))
	default:
		r.set(CheckDuplicateSource, StatusPass,
			fmt.Sprintf("no connector uses this database yet (system %d, database %s)", r.systemID, r.facts.database), "")
	}
}
