package sqlgen_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/preflight"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/scram"
	"github.com/ardent-cdc/ardent/internal/sqlgen"
)

// A password psql must pass through intact: quotes, backslash, colon,
// dollar signs and a space.
const password = `it's a "pa$$:w\rd"`

const (
	db        = `Shop "DB" ü`
	appSchema = `Sales "Dept".eu`
	long63    = "ééééééééééééééééééééééééééééééx" + "ééé" // 63 bytes
)

var fixture = `
CREATE ROLE "App Owner";
CREATE SCHEMA "Sales ""Dept"".eu" AUTHORIZATION "App Owner";
SET ROLE "App Owner";
CREATE TABLE "Sales ""Dept"".eu"."Order" (id serial PRIMARY KEY, "select" text);
CREATE TABLE "Sales ""Dept"".eu"."` + long63 + `" ("Key" int NOT NULL, v text);
CREATE UNIQUE INDEX "user" ON "Sales ""Dept"".eu"."` + long63 + `" ("Key");
CREATE TABLE "Sales ""Dept"".eu"."no key" (v text);
RESET ROLE;
CREATE TABLE public.plain (id int PRIMARY KEY);
`

func writeScript(t *testing.T, script string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ardent.sql")
	require.NoError(t, os.WriteFile(p, []byte(script), 0o644))
	return p
}

func psql(t *testing.T, c *pgtest.Cluster, file string, vars ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := []string{"-v", "ON_ERROR_STOP=1"}
	for _, v := range vars {
		args = append(args, "-v", v)
	}
	return c.Psql(ctx, db, append(args, "-f", file)...)
}

func verifier(t *testing.T, password string) string {
	t.Helper()
	v, err := scram.Verifier(password)
	require.NoError(t, err)
	return v
}

// canLogin tells whether role logs in to db with password over the
// cluster's password authentication (scram-sha-256 with PasswordAuth).
func canLogin(t *testing.T, c *pgtest.Cluster, role, password, db string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URLFor(role, password, db))
	if err != nil {
		return false
	}
	_ = conn.Close(ctx)
	return true
}

func serverLog(t *testing.T, c *pgtest.Cluster) string {
	t.Helper()
	b, err := os.ReadFile(c.LogFile)
	require.NoError(t, err)
	return string(b)
}

func roleExists(t *testing.T, c *pgtest.Cluster, role string) bool {
	t.Helper()
	var ok bool
	require.NoError(t, c.Connect(t, "postgres").QueryRow(context.Background(),
		"SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", role).Scan(&ok))
	return ok
}

func setting(t *testing.T, c *pgtest.Cluster, name string) string {
	t.Helper()
	var v string
	require.NoError(t, c.Connect(t, "postgres").QueryRow(context.Background(), "SELECT current_setting($1)", name).Scan(&v))
	return v
}

// TestOperatorAppliesScript is the operator's path: generate the script
// from the source, apply it with real psql (twice), restart where it says
// so, and see preflight pass for the new role over a password-authenticated
// TLS connection. The server logs every statement, and its log never holds
// the clear password: not from the script Ardent embedded a verifier in,
// nor from a clear password given by mistake in psql's variable.
func TestOperatorAppliesScript(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{SSL: true, PasswordAuth: true, WalLevel: "replica",
		MaxReplicationSlots: 3, MaxWalSenders: 20, ExtraConf: []string{"log_statement = 'all'"}})
	c.CreateDatabase(t, db)
	c.Exec(t, db, fixture)
	schemas := []string{appSchema, "public"}
	full := []string{`"` + strings.ReplaceAll(appSchema, `"`, `""`) + `"."no key"`}

	// What `ardent sql --source` does: read-only discovery as the operator.
	conn := c.Connect(t, db)
	ctx := context.Background()
	tables, err := schema.Discover(ctx, conn, schema.Selection{Schemas: schemas})
	require.NoError(t, err)
	owners, err := schema.Owners(ctx, conn, schemas)
	require.NoError(t, err)
	assert.Equal(t, map[string][]string{appSchema: {"App Owner"}, "public": {"postgres"}}, owners)
	opts := sqlgen.Options{Database: db, Role: "ardent", Schemas: schemas, Owners: owners,
		Tables: tables, ReplicaIdentityFull: full, EgressIP: "127.0.0.1"}

	// Without an embedded verifier: the variable must hold one.
	generic, err := sqlgen.Generate(opts)
	require.NoError(t, err)
	genericFile := writeScript(t, generic)
	out, err := psql(t, c, genericFile)
	require.Error(t, err, out)
	assert.Contains(t, out, "ardent_password is not set")
	out, err = psql(t, c, genericFile, "ardent_password="+password)
	require.Error(t, err, out)
	assert.Contains(t, out, "must hold a SCRAM-SHA-256 verifier")
	assert.Contains(t, out, "ardent scram-verifier")
	assert.NotContains(t, out, password, "the refusal never echoes the value")
	assert.False(t, roleExists(t, c, "ardent"), "refused before doing anything")

	opts.PasswordVerifier = verifier(t, password)
	script, err := sqlgen.Generate(opts)
	require.NoError(t, err)
	assert.NotContains(t, script, password)
	file := writeScript(t, script)
	for i := 0; i < 2; i++ {
		out, err = psql(t, c, file)
		require.NoError(t, err, "run %d:\n%s", i+1, out)
		assert.Contains(t, out, "RESTART REQUIRED", "run %d", i+1)
		assert.Contains(t, out, "wal2json verification skipped")
	}
	assert.Equal(t, "replica", setting(t, c, "wal_level"), "nothing applies before the restart")
	c.Restart(t)
	assert.Equal(t, "logical", setting(t, c, "wal_level"))
	assert.Equal(t, "10", setting(t, c, "max_replication_slots"), "raised to the minimum")
	assert.Equal(t, "20", setting(t, c, "max_wal_senders"), "a higher value is never lowered")

	out, err = psql(t, c, file)
	require.NoError(t, err, out)
	assert.NotContains(t, out, "RESTART REQUIRED")
	assert.Contains(t, out, "ardent_wal2json_check", "the verification slot was created")
	assert.True(t, strings.HasSuffix(strings.TrimSpace(out), "(0 rows)"), "cleanup query returns no rows:\n%s", out)

	log := serverLog(t, c)
	require.True(t, strings.Contains(log, "statement: CREATE ROLE ardent LOGIN REPLICATION PASSWORD 'SCRAM-SHA-256$"),
		"the server logs every statement: %s", c.LogFile)
	for _, form := range []string{password, strings.ReplaceAll(password, "'", "''")} { // raw, and as a literal
		assert.False(t, strings.Contains(log, form), "the clear password is in the server log")
	}
	assert.False(t, strings.Contains(log, "pa$$"), "part of the clear password is in the server log")

	url := c.URLFor("ardent", password, db)
	require.Contains(t, url, "sslmode=require")
	rep := preflight.Run(ctx, preflight.Options{SourceURL: url, Selection: schema.Selection{Schemas: schemas},
		ReplicaIdentityFull: full, EgressIP: "127.0.0.1", ProbeTimeout: 5 * time.Second,
		KnownSource: func(context.Context, uint64, string) (string, bool, error) { return "", false, nil }})
	b, _ := json.MarshalIndent(rep, "", "  ")
	assert.NotContains(t, string(b), password)
	assert.NotContains(t, string(b), "pa$$")
	for _, ch := range rep.Checks {
		want := preflight.StatusPass
		if ch.ID == preflight.CheckWalRetention {
			want = preflight.StatusWarn
		}
		assert.Equalf(t, want, ch.Status, "%s: %s / %s", ch.ID, ch.Message, ch.Remedy)
	}
	require.True(t, rep.Passed, "%s", b)
	assert.Len(t, rep.Tables, 4)

	// Default privileges keep a table the owner creates later readable.
	c.Exec(t, db, `SET ROLE "App Owner"; CREATE TABLE "Sales ""Dept"".eu".later (id int PRIMARY KEY); RESET ROLE;`)
	var canRead bool
	require.NoError(t, c.Connect(t, db).QueryRow(ctx,
		`SELECT has_table_privilege('ardent', '"Sales ""Dept"".eu".later', 'SELECT')`).Scan(&canRead))
	assert.True(t, canRead)
}

// TestGenericScript: without a source connection the script still runs,
// grants what exists, and covers owners found when it runs; its password
// comes from psql's variable, as a verifier.
func TestGenericScript(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	c.CreateDatabase(t, db)
	c.Exec(t, db, fixture)
	script, err := sqlgen.Generate(sqlgen.Options{Schemas: []string{appSchema}})
	require.NoError(t, err)
	file := writeScript(t, script)
	for i := 0; i < 2; i++ {
		out, err := psql(t, c, file, "ardent_password="+verifier(t, "x"))
		require.NoError(t, err, out)
		assert.NotContains(t, out, "RESTART REQUIRED")
	}
	c.Exec(t, db, `SET ROLE "App Owner"; CREATE TABLE "Sales ""Dept"".eu".later (id int PRIMARY KEY); RESET ROLE;`)
	var canRead bool
	require.NoError(t, c.Connect(t, db).QueryRow(context.Background(),
		`SELECT has_table_privilege('ardent', '"Sales ""Dept"".eu".later', 'SELECT')`).Scan(&canRead))
	assert.True(t, canRead)
}

// TestExistingRoleKeepsItsPassword: roles are cluster-wide, so the script
// for a second database of the cluster, made with another password, leaves
// the role's password alone; --set-password replaces it, from an embedded
// verifier or from psql's variable.
func TestExistingRoleKeepsItsPassword(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{PasswordAuth: true})
	c.CreateDatabase(t, "app1")
	c.CreateDatabase(t, "app2")
	apply := func(database string, o sqlgen.Options, vars ...string) (string, error) {
		t.Helper()
		o.Database = database
		script, err := sqlgen.Generate(o)
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		args := []string{"-v", "ON_ERROR_STOP=1"}
		for _, v := range vars {
			args = append(args, "-v", v)
		}
		return c.Psql(ctx, database, append(args, "-f", writeScript(t, script))...)
	}
	must := func(out string, err error) {
		t.Helper()
		require.NoError(t, err, out)
	}
	logsInWith := func(want string, others ...string) {
		t.Helper()
		for _, d := range []string{"app1", "app2"} {
			assert.True(t, canLogin(t, c, "ardent", want, d), "password %q on %s", want, d)
			for _, o := range others {
				assert.False(t, canLogin(t, c, "ardent", o, d), "old or unused password %q on %s", o, d)
			}
		}
	}

	must(apply("app1", sqlgen.Options{PasswordVerifier: verifier(t, "first")}))
	must(apply("app2", sqlgen.Options{PasswordVerifier: verifier(t, "second")}))
	logsInWith("first", "second")
	// Through the variable: a verifier, or nothing at all for a role that exists.
	must(apply("app2", sqlgen.Options{}, "ardent_password="+verifier(t, "third")))
	must(apply("app2", sqlgen.Options{}))
	logsInWith("first", "second", "third")

	must(apply("app2", sqlgen.Options{PasswordVerifier: verifier(t, "second"), SetPassword: true}))
	logsInWith("second", "first")
	out, err := apply("app1", sqlgen.Options{SetPassword: true})
	require.Error(t, err, out)
	assert.Contains(t, out, "ardent_password is not set")
	must(apply("app1", sqlgen.Options{SetPassword: true}, "ardent_password="+verifier(t, "third")))
	logsInWith("third", "first", "second")
}

// TestHostileScript runs names built to break quoting, comments and psql
// meta-command parsing through real psql, with the verifier embedded and
// through the variable; a variable built to break out of the shell check
// is refused without running anything.
func TestHostileScript(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	// The shell commands print "pwned"; the names themselves never hold it.
	evil := "\\gexec\n:ardent_pw_ok\\! echo pwn''ed\n'$ardent$\";--`echo pwn''ed`" // 63 bytes
	c.Exec(t, "postgres", `CREATE SCHEMA `+schema.QuoteIdent(evil)+`; CREATE TABLE `+
		schema.QuoteIdent(evil)+`.`+schema.QuoteIdent(evil)+` (v text)`)
	conn := c.Connect(t, "postgres")
	tables, err := schema.Discover(context.Background(), conn, schema.Selection{Schemas: []string{evil}})
	require.NoError(t, err)
	require.Len(t, tables, 1)
	ctx := context.Background()
	run := func(o sqlgen.Options, vars ...string) (string, error) {
		t.Helper()
		script, err := sqlgen.Generate(o)
		require.NoError(t, err)
		args := []string{"-v", "ON_ERROR_STOP=1"}
		for _, v := range vars {
			args = append(args, "-v", v)
		}
		out, err := c.Psql(ctx, "postgres", append(args, "-f", writeScript(t, script))...)
		assert.NotContains(t, out, "pwned")
		return out, err
	}
	base := sqlgen.Options{Database: "postgres", Role: evil, Schemas: []string{evil},
		Owners: map[string][]string{evil: {"postgres"}}, Tables: tables}
	for i := 0; i < 2; i++ {
		out, err := run(base, "ardent_password="+verifier(t, "x"))
		require.NoError(t, err, out)
		embedded := base
		embedded.PasswordVerifier = verifier(t, "y")
		out, err = run(embedded, "ardent_password=ignored")
		require.NoError(t, err, out)
		assert.Contains(t, out, "ardent_password ignored")
	}
	var canRead bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT has_table_privilege($1, $2::regclass, 'SELECT')`,
		evil, tables[0].Ident()).Scan(&canRead))
	assert.True(t, canRead)

	for _, v := range []string{
		`x'; \! echo pwn''ed; '`, "$(echo pwn''ed)", "`echo pwn''ed`", `" ; echo pwn''ed ; "`,
		verifier(t, "z") + "'; echo pwn''ed; '",
	} {
		out, err := run(base, "ardent_password="+v)
		require.Error(t, err, out)
		assert.Contains(t, out, "must hold a SCRAM-SHA-256 verifier", v)
	}
}
