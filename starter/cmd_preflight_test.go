package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/preflight"
	"github.com/ardent-cdc/ardent/internal/schema"
)

const cliPassword = "cli-Secret'42"

// runSourceCLI runs the CLI in-process the way main's run does, exit code
// included.
func runSourceCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	t.Setenv("ARDENT_CATALOG_URL", "")
	var out, errOut bytes.Buffer
	c := newCLI(&out, &errOut)
	root := newRootCmd(c)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	var ee *exitError
	switch {
	case err == nil:
		code = 0
	case errors.As(err, &ee):
		code = ee.code
		if ee.err != nil {
			errOut.WriteString(ee.err.Error())
		}
	case isUsageError(err):
		code = 2
		errOut.WriteString(err.Error())
	default:
		code = 1
		errOut.WriteString(err.Error())
	}
	assert.NotContains(t, out.String()+errOut.String(), cliPassword)
	return out.String(), errOut.String(), code
}

func TestPreflightUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no source", []string{"preflight"}, "--source is required"},
		{"malformed url", []string{"preflight", "--source", "postgres://u:" + cliPassword + "@h:port/db"}, "--source"},
		{"not a url", []string{"preflight", "--source", cliPassword}, "--source"},
		{"bad format", []string{"preflight", "--source", "postgres://u@h/db", "--format", "xml"}, "--format"},
		{"bad accept", []string{"preflight", "--source", "postgres://u@h/db", "--accept-unverified", "nope"}, "not a check id"},
		{"bad table", []string{"preflight", "--source", "postgres://u@h/db", "--table", "a.b.c"}, "--table"},
		{"unknown flag", []string{"preflight", "--nope"}, "unknown flag"},
		{"sql bad egress", []string{"sql", "--egress-ip", "x.y"}, "egress IP"},
		{"sql malformed url", []string{"sql", "--source", "mysql://u:" + cliPassword + "@h/db"}, "--source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := runSourceCLI(t, "", tt.args...)
			assert.Equal(t, 2, code, stderr)
			assert.Contains(t, stderr, tt.want)
		})
	}
}

func TestPreflightCommand(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{SSL: true, PasswordAuth: true, ExtraConf: []string{"max_slot_wal_keep_size = 1GB"}})
	c.Exec(t, "postgres", `CREATE ROLE ardent LOGIN REPLICATION PASSWORD 'cli-Secret''42';
GRANT CREATE ON DATABASE postgres TO ardent;
CREATE TABLE public.items (id int PRIMARY KEY);
CREATE TABLE public.logs (line text);
GRANT SELECT ON ALL TABLES IN SCHEMA public TO ardent;`)
	url := c.URLFor("ardent", cliPassword, "postgres")

	// A keyless table: not passed, exit 1, with the choices spelled out.
	stdout, stderr, code := runSourceCLI(t, "", "preflight", "--source", url)
	assert.Equal(t, 1, code, stderr)
	assert.Contains(t, stdout, "✗  replica_identity")
	assert.Contains(t, stdout, "--exclude-table public.logs")
	assert.Contains(t, stdout, "NOT PASSED")
	assert.Contains(t, stdout, "!  duplicate_source") // no catalog configured

	// Excluded: passes, exit 0.
	stdout, stderr, code = runSourceCLI(t, "", "preflight", "--source", url, "--exclude-table", "public.logs")
	assert.Equal(t, 0, code, stdout+stderr)
	assert.Contains(t, stdout, "✓  connect")
	assert.Contains(t, stdout, "PASSED (16 passed, 0 failed, 0 unverified, 1 warnings)")

	// JSON: exactly the contract's keys.
	stdout, _, code = runSourceCLI(t, "", "preflight", "--source", url, "--format", "json", "--replica-identity-full", "public.logs")
	assert.Equal(t, 1, code)
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &raw))
	assert.ElementsMatch(t, []string{"passed", "checks", "tables"}, keys(raw))
	check := raw["checks"].([]any)[0].(map[string]any)
	assert.ElementsMatch(t, []string{"id", "status", "message", "remedy"}, keys(check))
	tables := raw["tables"].([]any)
	require.Len(t, tables, 2)
	assert.ElementsMatch(t, []string{"schema", "name", "identity", "remedy"}, keys(tables[0].(map[string]any)))
	var rep preflight.Report
	require.NoError(t, json.Unmarshal([]byte(stdout), &rep))
	assert.Equal(t, preflight.TableReport{Schema: "public", Name: "logs", Identity: schema.IdentityNone,
		Remedy: `ALTER TABLE "public"."logs" REPLICA IDENTITY FULL;`}, rep.Tables[1])

	// Unreachable host: a failed connect check, exit 1, not a crash.
	stdout, _, code = runSourceCLI(t, "", "preflight", "--source", "postgres://ardent:"+cliPassword+"@127.0.0.1:1/postgres")
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "✗  connect")
	assert.Contains(t, stdout, "connection refused")
}

func TestPreflightPrompt(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	c.Exec(t, "postgres", `CREATE TABLE a (x int); CREATE TABLE b (x int); CREATE TABLE "C d" (x int)`)
	old := interactive
	interactive = func(io.Reader, io.Writer) bool { return true }
	t.Cleanup(func() { interactive = old })
	stdout, _, code := runSourceCLI(t, "e\nbogus\nf\nk\n", "preflight", "--source", c.URL("postgres"))
	// Tables come in catalog order: "C d", a, b.
	assert.Equal(t, 1, code, "table b still has no key")
	assert.Contains(t, stdout, `"public"."C d": [e]xclude it`)
	assert.Equal(t, 2, strings.Count(stdout, `"public"."a": [e]xclude it`), "a bogus answer asks again")
	assert.Contains(t, stdout, `To repeat these choices without prompts: --exclude-table 'public.C d' --replica-identity-full public.a`)
	assert.Contains(t, stdout, `"public"."a"  none  ALTER TABLE "public"."a" REPLICA IDENTITY FULL;`)
	assert.NotContains(t, stdout, `"public"."C d"  none`)
	assert.Contains(t, stdout, `--exclude-table public.b`)
}

func TestPromptIdentity(t *testing.T) {
	none := func(s, n string) preflight.TableReport {
		return preflight.TableReport{Schema: s, Name: n, Identity: schema.IdentityNone, Remedy: "no primary key ..."}
	}
	tables := []preflight.TableReport{
		none("public", "a"),
		{Schema: "public", Name: "cand", Identity: schema.IdentityNone, Remedy: "ALTER TABLE x REPLICA IDENTITY USING INDEX y;"},
		none("my.schema", `q"t`),
		none("public", "c"),
	}
	var out bytes.Buffer
	exclude, full := promptIdentity(strings.NewReader("full\nE\n"), &out, tables)
	assert.Equal(t, []string{`"my.schema"."q""t"`}, exclude)
	assert.Equal(t, []string{"public.a"}, full)
	assert.Contains(t, out.String(), "3 table(s)")
	q, err := schema.ParseQualified(exclude[0])
	require.NoError(t, err)
	assert.Equal(t, schema.QualifiedName{Schema: "my.schema", Name: `q"t`}, q)
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
