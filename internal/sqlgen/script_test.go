package sqlgen_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/preflight"
	"github.com/ardent-cdc/ardent/internal/schema"
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

func setting(t *testing.T, c *pgtest.Cluster, name string) string {
	t.Helper()
	var v string
	require.NoError(t, c.Connect(t, "postgres").QueryRow(context.Background(), "SELECT current_setting($1)", name).Scan(&v))
	return v
}

// TestOperatorAppliesScript is the operator's path: generate the script
// from the source, apply it with real psql (twice), restart where it says
// so, and see preflight pass for the new role over a password-authenticated
// TLS connection.
func TestOperatorAppliesScript(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{SSL: true, PasswordAuth: true, WalLevel: "replica",
		MaxReplicationSlots: 3, MaxWalSenders: 20})
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
	script, err := sqlgen.Generate(sqlgen.Options{Database: db, Role: "ardent", Schemas: schemas, Owners: owners,
		Tables: tables, ReplicaIdentityFull: full, EgressIP: "127.0.0.1"})
	require.NoError(t, err)
	file := writeScript(t, script)

	// Without the password variable the script stops before doing anything.
	out, err := psql(t, c, file)
	require.Error(t, err, out)
	assert.Contains(t, out, "ardent_password is not set")

	for i := 0; i < 2; i++ {
		out, err = psql(t, c, file, "ardent_password="+password)
		require.NoError(t, err, "run %d:\n%s", i+1, out)
		assert.Contains(t, out, "RESTART REQUIRED", "run %d", i+1)
		assert.Contains(t, out, "wal2json verification skipped")
	}
	assert.Equal(t, "replica", setting(t, c, "wal_level"), "nothing applies before the restart")
	c.Restart(t)
	assert.Equal(t, "logical", setting(t, c, "wal_level"))
	assert.Equal(t, "10", setting(t, c, "max_replication_slots"), "raised to the minimum")
	assert.Equal(t, "20", setting(t, c, "max_wal_senders"), "a higher value is never lowered")

	out, err = psql(t, c, file, "ardent_password="+password)
	require.NoError(t, err, out)
	assert.NotContains(t, out, "RESTART REQUIRED")
	assert.Contains(t, out, "ardent_wal2json_check", "the verification slot was created")
	assert.True(t, strings.HasSuffix(strings.TrimSpace(out), "(0 rows)"), "cleanup query returns no rows:\n%s", out)

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
// grants what exists, and covers owners found when it runs.
func TestGenericScript(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	c.CreateDatabase(t, db)
	c.Exec(t, db, fixture)
	script, err := sqlgen.Generate(sqlgen.Options{Schemas: []string{appSchema}})
	require.NoError(t, err)
	file := writeScript(t, script)
	for i := 0; i < 2; i++ {
		out, err := psql(t, c, file, "ardent_password=x")
		require.NoError(t, err, out)
		assert.NotContains(t, out, "RESTART REQUIRED")
	}
	c.Exec(t, db, `SET ROLE "App Owner"; CREATE TABLE "Sales ""Dept"".eu".later (id int PRIMARY KEY); RESET ROLE;`)
	var canRead bool
	require.NoError(t, c.Connect(t, db).QueryRow(context.Background(),
		`SELECT has_table_privilege('ardent', '"Sales ""Dept"".eu".later', 'SELECT')`).Scan(&canRead))
	assert.True(t, canRead)
}

// TestHostileScript runs names built to break quoting, comments and psql
// meta-command parsing through real psql.
func TestHostileScript(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	evil := "x\\gexec\n:ardent_password \\! echo pwned\n'$ardent$\"; --"
	c.Exec(t, "postgres", `CREATE SCHEMA `+schema.QuoteIdent(evil)+`; CREATE TABLE `+
		schema.QuoteIdent(evil)+`.`+schema.QuoteIdent(evil)+` (v text)`)
	conn := c.Connect(t, "postgres")
	tables, err := schema.Discover(context.Background(), conn, schema.Selection{Schemas: []string{evil}})
	require.NoError(t, err)
	require.Len(t, tables, 1)
	script, err := sqlgen.Generate(sqlgen.Options{Database: "postgres", Role: evil, Schemas: []string{evil},
		Owners: map[string][]string{evil: {"postgres"}}, Tables: tables})
	require.NoError(t, err)
	file := writeScript(t, script)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		out, err := c.Psql(ctx, "postgres", "-v", "ON_ERROR_STOP=1", "-v", "ardent_password=x", "-f", file)
		require.NoError(t, err, out)
		assert.NotContains(t, out, "pwned")
	}
	var canRead bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT has_table_privilege($1, $2::regclass, 'SELECT')`,
		evil, tables[0].Ident()).Scan(&canRead))
	assert.True(t, canRead)
}
