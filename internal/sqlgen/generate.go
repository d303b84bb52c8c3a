package sqlgen

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/scram"
)

// Minimums Ardent needs on the source.
const (
	MinReplicationSlots = 10
	MinWalSenders       = 10
	// VerifySlot is the slot name the wal2json verification creates and drops.
	VerifySlot = "ardent_wal2json_check"
)

// Options describe the source the script is for. Everything discovered
// from the source is optional: without it the script stays generic.
type Options struct {
	// Database guards the script: it stops unless run in this database.
	// Empty: whatever database psql is connected to.
	Database string
	// Role is the role Ardent connects as (default "ardent").
	Role string
	// Schemas to grant (default "public").
	Schemas []string
	// Owners lists, per schema, the roles owning tables there; future
	// tables they create stay readable (ALTER DEFAULT PRIVILEGES FOR ROLE).
	// Nil means unknown (no source connection): the script then covers the
	// current user and, at run time, every role that owns a table there.
	Owners map[string][]string
	// Tables are the discovered tables; replica identity statements are
	// generated for those that need one.
	Tables []schema.Table
	// ReplicaIdentityFull names ("schema.table") the operator chose for FULL.
	ReplicaIdentityFull []string
	// EgressIP goes into the pg_hba.conf line (placeholder when empty).
	EgressIP string
	// Plugin to verify (default "wal2json").
	Plugin string
	// PasswordVerifier is the role's SCRAM-SHA-256 verifier (internal/scram),
	// embedded in the script. Empty: the script takes one from the psql
	// variable ardent_password, and refuses anything else there.
	PasswordVerifier string
	// SetPassword makes the script replace the password of a role that
	// already exists; otherwise only a role it creates gets one, so running
	// it for another database of the cluster changes nothing for the
	// connectors of the first.
	SetPassword bool
}

// PasswordVar is the psql variable a script without an embedded verifier
// takes one from.
const PasswordVar = "ardent_password"

// VerifierCommand is what makes a verifier for that variable.
const VerifierCommand = "ardent scram-verifier"

// Generate returns the script.
func Generate(o Options) (string, error) {
	if o.Role == "" {
		o.Role = "ardent"
	}
	if o.Plugin == "" {
		o.Plugin = "wal2json"
	}
	if len(o.Schemas) == 0 {
		o.Schemas = []string{schema.DefaultSchema}
	}
	if o.EgressIP != "" && net.ParseIP(o.EgressIP) == nil {
		return "", fmt.Errorf("egress IP %q: not an IP address", o.EgressIP)
	}
	full := map[string]bool{}
	for _, n := range o.ReplicaIdentityFull {
		q, err := schema.ParseQualified(n)
		if err != nil {
			return "", fmt.Errorf("replica identity full: %w", err)
		}
		full[q.String()] = true
	}
	if strings.ContainsAny(o.Role, "\x00") || o.Role == "" {
		return "", errors.New("role name: empty or contains NUL")
	}
	if o.PasswordVerifier != "" && !scram.IsVerifier(o.PasswordVerifier) {
		// Never embed what PostgreSQL would take for a clear password.
		return "", errors.New("password verifier: not a SCRAM-SHA-256 verifier")
	}
	w := &writer{}
	header(w, o)
	roleSection(w, o)
	grantSection(w, o)
	settingsSection(w)
	identitySection(w, o, full)
	hbaSection(w, o)
	verifySection(w, o)
	return w.String(), nil
}

type writer struct{ strings.Builder }

func (w *writer) line(format string, args ...any) {
	fmt.Fprintf(w, format, args...)
	w.WriteByte('\n')
}

// comment writes "-- text" lines; text is made safe for a comment.
func (w *writer) comment(format string, args ...any) {
	for _, l := range strings.Split(fmt.Sprintf(format, args...), "\n") {
		w.line("-- %s", l)
	}
}

// c makes a name safe inside a comment: no line breaks or other control
// characters that could end the comment and turn the rest into SQL.
func c(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' || r == '\u0085' {
			fmt.Fprintf(&b, `\x%02x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

var (
	ident = schema.QuoteIdent
	lit   = schema.QuoteLiteral
)

// dollarQuote quotes s with a dollar tag that does not occur in it.
func dollarQuote(s string) string {
	tag := "$ardent$"
	for i := 1; strings.Contains(s, tag); i++ {
		tag = fmt.Sprintf("$ardent%d$", i)
	}
	return tag + s + tag
}

// fail emits a psql-safe way to stop the script with message: a DO block
// (no psql variable inside) raising an exception, which ON_ERROR_STOP turns
// into psql's exit status 3.
func fail(w *writer, message string) {
	w.line("  DO %s;", dollarQuote("BEGIN RAISE EXCEPTION '%', "+lit(message)+"; END"))
}

func header(w *writer, o Options) {
	db := "the source database"
	if o.Database != "" {
		db = "database " + c(ident(o.Database))
	}
	w.comment("Ardent: source setup for %s, role %s.", db, c(ident(o.Role)))
	w.comment("Run as a superuser (or the owner of the schemas and tables), connected to %s:", db)
	target := "<database>"
	if o.Database != "" {
		target = "'" + strings.ReplaceAll(o.Database, "'", `'\''`) + "'"
	}
	if o.PasswordVerifier != "" {
		w.comment("  psql -v ON_ERROR_STOP=1 -d %s -f this-file.sql", c(target))
	} else {
		w.comment("  psql -v ON_ERROR_STOP=1 -v %s=\"$(%s)\" -d %s -f this-file.sql", PasswordVar, VerifierCommand, c(target))
	}
	w.comment("It is harmless to run twice. Do not run it with psql -1 (ALTER SYSTEM cannot run in a transaction).")
	w.comment("Ardent never runs this script or any DDL on your tables; it only reads them.")
	w.line(`\set ON_ERROR_STOP 1`)
	if o.PasswordVerifier != "" {
		w.line(`\if :{?%s}`, PasswordVar)
		w.line(`  \echo 'psql variable %s ignored: this script carries the SCRAM-SHA-256 verifier of role %s.'`, PasswordVar, psqlEcho(o.Role))
		w.line(`\endif`)
	} else {
		passwordCheck(w, o)
	}
	if o.Database != "" {
		w.line(`SELECT current_database() = %s AS ardent_right_database \gset`, lit(o.Database))
		w.line(`\if :ardent_right_database`)
		w.line(`\else`)
		fail(w, "connect to database "+o.Database+" to run this script (psql -d ...)")
		w.line(`\endif`)
	}
	w.line("")
}

// verifierPattern is what the shell check accepts: the shape PostgreSQL
// parses as a SCRAM-SHA-256 verifier (32-byte keys in base64) and stores
// as it is, instead of as a password to hash.
const verifierPattern = `SCRAM-SHA-256\$[0-9]+:[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=`

// passwordCheck makes sure the psql variable holds a verifier before
// anything is sent to the server: the check runs in psql's shell
// backquote (:'var' is quoted for the shell there), so a clear password
// given by mistake never reaches the server, its log or its statistics.
// Without the variable, the script stops if it has a role to create (or a
// password to set): the role must get a password.
func passwordCheck(w *writer, o Options) {
	v := PasswordVar
	w.line(`\if :{?%s}`, v)
	w.line(`  \set ardent_pw_ok false`)
	w.line("  \\set ardent_pw_ok `printf '%%s' :'%s' | grep -Eqx '%s' && echo true || echo false`", v, verifierPattern)
	w.line(`  \if :ardent_pw_ok`)
	w.line(`  \else`)
	w.line(`    \echo 'psql variable %s must hold a SCRAM-SHA-256 verifier, never the clear password (it would reach the server log).'`, v)
	w.line(`    \echo 'Make one with: %s  (it asks for the password; or --password-file FILE), then run'`, VerifierCommand)
	w.line(`    \echo '  psql -v %s="$(%s)" ...   or generate this script with: ardent sql --password-file FILE'`, v, VerifierCommand)
	fail(w, "psql variable "+v+" is not a SCRAM-SHA-256 verifier (make one with `"+VerifierCommand+"`)")
	w.line(`  \endif`)
	if !o.SetPassword {
		w.line(`\else`)
		w.line(`  SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s) AS ardent_role_exists \gset`, lit(o.Role))
		w.line(`  \if :ardent_role_exists`)
		w.line(`  \else`)
		missingPassword(w, o)
		w.line(`  \endif`)
	} else {
		w.line(`\else`)
		missingPassword(w, o)
	}
	w.line(`\endif`)
}

func missingPassword(w *writer, o Options) {
	w.line(`    \echo 'Role %s needs a password: psql -v %s="$(%s)" -f this-file.sql'`, psqlEcho(o.Role), PasswordVar, VerifierCommand)
	w.line(`    \echo '(or generate this script with: ardent sql --password-file FILE)'`)
	fail(w, "psql variable "+PasswordVar+" is not set")
}

// psqlEcho makes s safe inside a single-quoted psql \echo argument.
func psqlEcho(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`).Replace(s)
}

func roleSection(w *writer, o Options) {
	pw := ":'" + PasswordVar + "'"
	w.comment("1. The role Ardent connects as: LOGIN REPLICATION.")
	if o.PasswordVerifier != "" {
		pw = lit(o.PasswordVerifier)
		w.comment("   Its password is the SCRAM-SHA-256 verifier below, computed by `ardent sql` from the password you")
		w.comment("   gave it: the clear password never reaches the server (nor its log).")
	} else {
		w.comment("   Its password is the SCRAM-SHA-256 verifier in psql variable %s (checked above): the clear", PasswordVar)
		w.comment("   password never reaches the server (nor its log).")
	}
	if o.SetPassword {
		w.comment("   Created with that password when missing; an existing role's password is REPLACED too")
		w.comment("   (ardent sql --set-password): roles are cluster-wide, so every connector using role %s on any", c(ident(o.Role)))
		w.comment("   database of this cluster needs the new password.")
	} else {
		w.comment("   Created with that password when missing. An existing role KEEPS its password (roles are")
		w.comment("   cluster-wide: connectors of other databases may use it); `ardent sql --set-password` replaces it.")
	}
	w.comment("   (Amazon RDS: drop REPLICATION here and GRANT rds_replication TO %s;)", c(ident(o.Role)))
	if o.PasswordVerifier == "" && !o.SetPassword {
		// Without the variable the role exists (checked above), and psql
		// would send :'ardent_password' uninterpolated.
		w.line(`\if :{?%s}`, PasswordVar)
	}
	w.line(`SELECT format('CREATE ROLE %%I LOGIN REPLICATION PASSWORD %%L', %s, %s)`, lit(o.Role), pw)
	w.line(`  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = %s) \gexec`, lit(o.Role))
	if o.PasswordVerifier == "" && !o.SetPassword {
		w.line(`\endif`)
	}
	if o.SetPassword {
		w.line(`SELECT format('ALTER ROLE %%I LOGIN REPLICATION PASSWORD %%L', %s, %s) \gexec`, lit(o.Role), pw)
	} else {
		w.line(`SELECT format('ALTER ROLE %%I LOGIN REPLICATION', %s) \gexec`, lit(o.Role))
	}
	w.line("")
}

func grantSection(w *writer, o Options) {
	r := ident(o.Role)
	w.comment("2. CONNECT, and CREATE for Ardent's own bookkeeping schema %s (no write access to your schemas).", "_ardent")
	w.line(`SELECT format('GRANT CONNECT, CREATE ON DATABASE %%I TO %%I', current_database(), %s) \gexec`, lit(o.Role))
	w.line("")
	w.comment("3. Read access per schema, also to tables created later.")
	for _, s := range o.Schemas {
		q := ident(s)
		w.comment("Schema %s", c(q))
		w.line("GRANT USAGE ON SCHEMA %s TO %s;", q, r)
		w.line("GRANT SELECT ON ALL TABLES IN SCHEMA %s TO %s;", q, r)
		w.line("GRANT SELECT ON ALL SEQUENCES IN SCHEMA %s TO %s;", q, r)
		if o.Owners == nil {
			w.comment("Table owners unknown (generated without --source): default privileges for the")
			w.comment("current user, and for every role owning a table here when this script runs.")
			w.comment("Repeat with FOR ROLE <role> for any role that will create tables here later.")
			w.line("ALTER DEFAULT PRIVILEGES IN SCHEMA %s GRANT SELECT ON TABLES TO %s;", q, r)
			w.line("ALTER DEFAULT PRIVILEGES IN SCHEMA %s GRANT SELECT ON SEQUENCES TO %s;", q, r)
			w.line(`SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %%I IN SCHEMA %%I GRANT SELECT ON %%s TO %%I', o.owner, %s, k.kind, %s)`, lit(s), lit(o.Role))
			w.line(`  FROM (SELECT DISTINCT pg_get_userbyid(c.relowner) AS owner FROM pg_class c`)
			w.line(`        JOIN pg_namespace n ON n.oid = c.relnamespace`)
			w.line(`        WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'S')) o,`, lit(s))
			w.line(`       (VALUES ('TABLES'), ('SEQUENCES')) k(kind) ORDER BY 1 \gexec`)
			continue
		}
		owners := slices.Clone(o.Owners[s])
		sort.Strings(owners)
		owners = slices.Compact(owners)
		if len(owners) == 0 {
			w.comment("No tables yet: default privileges for the current user; repeat FOR ROLE <role> for whoever creates them.")
			w.line("ALTER DEFAULT PRIVILEGES IN SCHEMA %s GRANT SELECT ON TABLES TO %s;", q, r)
			w.line("ALTER DEFAULT PRIVILEGES IN SCHEMA %s GRANT SELECT ON SEQUENCES TO %s;", q, r)
		}
		for _, ow := range owners {
			w.line("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %s GRANT SELECT ON TABLES TO %s;", ident(ow), q, r)
			w.line("ALTER DEFAULT PRIVILEGES FOR ROLE %s IN SCHEMA %s GRANT SELECT ON SEQUENCES TO %s;", ident(ow), q, r)
		}
	}
	w.line("")
}

// settingGuard is true when a setting is below min both as running now and
// as configured for the next start (a pending ALTER SYSTEM), so a higher
// value someone already chose is never lowered. pg_file_settings is read
// only when the running value is too low (a CASE branch).
func settingGuard(name string, min int) string {
	return fmt.Sprintf(`CASE WHEN current_setting(%[1]s)::int >= %[2]d THEN false
  ELSE COALESCE((SELECT setting::int FROM pg_file_settings WHERE name = %[1]s AND error IS NULL ORDER BY seqno DESC LIMIT 1), 0) < %[2]d END`,
		lit(name), min)
}

func settingsSection(w *writer) {
	w.comment("4. Server settings, raised only where below Ardent's minimum, never lowered.")
	w.comment("   Changing them needs a restart; the script says so below when it does.")
	w.comment("   (Managed services: set them in the parameter group instead.)")
	w.line(`SELECT 'ALTER SYSTEM SET wal_level = logical'`)
	w.line(`  WHERE current_setting('wal_level') <> 'logical'`)
	w.line(`    AND COALESCE((SELECT setting FROM pg_file_settings WHERE name = 'wal_level' AND error IS NULL ORDER BY seqno DESC LIMIT 1), '') <> 'logical' \gexec`)
	for _, s := range []struct {
		name string
		min  int
	}{{"max_replication_slots", MinReplicationSlots}, {"max_wal_senders", MinWalSenders}} {
		w.line(`SELECT format('ALTER SYSTEM SET %%I = %%s', %s, %d)`, lit(s.name), s.min)
		w.line(`  WHERE %s \gexec`, settingGuard(s.name, s.min))
	}
	w.line(`SELECT current_setting('wal_level') <> 'logical'`)
	w.line(`    OR current_setting('max_replication_slots')::int < %d`, MinReplicationSlots)
	w.line(`    OR current_setting('max_wal_senders')::int < %d AS ardent_restart_needed \gset`, MinWalSenders)
	w.line(`\if :ardent_restart_needed`)
	w.line(`  \echo '*** RESTART REQUIRED: restart PostgreSQL for wal_level / max_replication_slots / max_wal_senders, then run this script again. ***'`)
	w.line(`\endif`)
	w.comment("Optional, recommended: bound the WAL a stalled slot may retain (size it below the free disk):")
	w.comment("  ALTER SYSTEM SET max_slot_wal_keep_size = '50GB'; SELECT pg_reload_conf();")
	w.line("")
}

func identitySection(w *writer, o Options, full map[string]bool) {
	w.comment("5. Replica identity: how each replicated table's rows are identified in WAL.")
	if o.Tables == nil {
		w.comment("   Generated without --source: run `ardent preflight` for the statements your tables need.")
		w.line("")
		return
	}
	var stmts, undecided []string
	for _, t := range o.Tables {
		if s := schema.IdentityStatement(t, full[t.FullName()]); s != "" {
			stmts = append(stmts, s)
		} else if t.Identity == schema.IdentityNone && !full[t.FullName()] {
			undecided = append(undecided, t.Ident())
		}
	}
	if len(stmts) == 0 && len(undecided) == 0 {
		w.comment("   Every selected table already has one.")
	}
	for _, s := range stmts {
		w.line("%s", s)
	}
	if len(undecided) > 0 {
		w.comment("These tables have no primary key and no unique NOT NULL index. For each, choose: exclude it")
		w.comment("(--exclude-table), add a primary key, or REPLICA IDENTITY FULL (--replica-identity-full):")
		for _, t := range undecided {
			w.comment("  %s", c(t))
		}
	}
	w.line("")
}

// HBALine is the pg_hba.conf line that admits Ardent's SQL sessions and its
// logical replication stream alike (design.md 4.4: logical replication
// matches database lines, not the "replication" keyword). An empty db or
// egress IP becomes a placeholder.
func HBALine(db, role, egressIP string) string {
	addr := "<ardent-egress-ip>/32"
	if ip := net.ParseIP(egressIP); ip != nil {
		if ip.To4() != nil {
			addr = ip.String() + "/32"
		} else {
			addr = ip.String() + "/128"
		}
	}
	if db == "" {
		db = "<database>"
	} else {
		db = hbaName(db)
	}
	return fmt.Sprintf("hostssl %s %s %s scram-sha-256", db, hbaName(role), addr)
}

func hbaSection(w *writer, o Options) {
	line := HBALine(o.Database, o.Role, o.EgressIP)
	from := "Ardent's egress IP"
	if o.EgressIP != "" {
		from = o.EgressIP
	}
	w.comment("6. pg_hba.conf (not SQL: edit the file). Ardent connects from %s over TLS (ssl = on).", c(from))
	w.comment("   One database line admits both its SQL sessions and its logical replication stream;")
	w.comment("   the \"replication\" keyword is for physical replication only and is not needed:")
	w.comment("     %s", c(line))
	w.comment("   Then reload (no restart needed): SELECT pg_reload_conf();  or  pg_ctl reload -D <datadir>")
	w.line("")
}

// hbaName quotes a pg_hba.conf name unless it is a plain lowercase word.
func hbaName(s string) string {
	plain := s != "" && !slices.Contains([]string{"all", "sameuser", "samerole", "samegroup", "replication"}, s)
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			plain = false
		}
	}
	if plain {
		return s
	}
	return `"` + s + `"`
}

func verifySection(w *writer, o Options) {
	slot := lit(VerifySlot)
	w.comment("7. Verify the %s output plugin: create and drop a logical slot. Creation waits for running", c(o.Plugin))
	w.comment("   transactions to finish. The slot is temporary (it goes away with this session), but if it")
	w.comment("   is ever left behind, drop it by hand: an unconsumed slot retains WAL until the disk is full:")
	w.comment("     SELECT pg_drop_replication_slot(%s);", c(slot))
	w.line(`SELECT current_setting('wal_level') = 'logical' AS ardent_logical \gset`)
	w.line(`\if :ardent_logical`)
	w.line(`SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = %s AND NOT active;`, slot)
	w.line(`SELECT slot_name AS created FROM pg_create_logical_replication_slot(%s, %s, true);`, slot, lit(o.Plugin))
	w.line(`SELECT pg_drop_replication_slot(%s);`, slot)
	w.line(`\else`)
	w.line(`  \echo 'wal2json verification skipped: wal_level is not logical until the restart.'`)
	w.line(`\endif`)
	w.comment("Cleanup check: must return no rows.")
	w.line(`SELECT slot_name FROM pg_replication_slots WHERE slot_name = %s;`, slot)
}
