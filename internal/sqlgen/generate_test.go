package sqlgen

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/scram"
)

// testVerifier is the verifier PostgreSQL made for "pencil".
const testVerifier = "SCRAM-SHA-256$4096:Ptt1DvCvFPHRFwCyC7jEmw==$abvxkJVetAWW3TIrLxqP+6kMwd6MFvfsk0hoYxwuJLU=:YRYsrnHaaP29YSxzXMcytb/Pbynwudtn4VSGP+drIyQ="

func TestGenerate(t *testing.T) {
	tables := []schema.Table{
		{Schema: "public", Name: "pk", Identity: schema.IdentityPrimaryKey},
		{Schema: "public", Name: "cand", Identity: schema.IdentityNone, CandidateIndex: "Cand Key"},
		{Schema: "public", Name: "keyless", Identity: schema.IdentityNone},
		{Schema: "Sales Dept", Name: "Order", Identity: schema.IdentityNone},
	}
	tests := []struct {
		name     string
		opts     Options
		contains []string
		absent   []string
	}{
		{
			name: "generic",
			opts: Options{},
			contains: []string{
				`\set ON_ERROR_STOP 1`,
				`\if :{?ardent_password}`,
				"`printf '%s' :'ardent_password' | grep -Eqx '" + verifierPattern + "' && echo true || echo false`",
				"make one with `ardent scram-verifier`",
				`SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ardent') AS ardent_role_exists \gset`,
				`SELECT format('CREATE ROLE %I LOGIN REPLICATION PASSWORD %L', 'ardent', :'ardent_password')`,
				`WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ardent') \gexec`,
				`SELECT format('ALTER ROLE %I LOGIN REPLICATION', 'ardent') \gexec`,
				"An existing role KEEPS its password",
				`GRANT USAGE ON SCHEMA "public" TO "ardent";`,
				`GRANT SELECT ON ALL SEQUENCES IN SCHEMA "public" TO "ardent";`,
				`-- Table owners unknown (generated without --source)`,
				`ALTER DEFAULT PRIVILEGES IN SCHEMA "public" GRANT SELECT ON TABLES TO "ardent";`,
				`SELECT 'ALTER SYSTEM SET wal_level = logical'`,
				`SELECT format('ALTER SYSTEM SET %I = %s', 'max_wal_senders', 10)`,
				`RESTART REQUIRED`,
				`hostssl <database> ardent <ardent-egress-ip>/32 scram-sha-256`,
				`pg_create_logical_replication_slot('ardent_wal2json_check', 'wal2json', true)`,
				`SELECT slot_name FROM pg_replication_slots WHERE slot_name = 'ardent_wal2json_check';`,
				"run `ardent preflight`",
			},
			absent: []string{"ardent_right_database", "FOR ROLE \"", "REPLICA IDENTITY", "LOGIN REPLICATION PASSWORD %L', 'ardent', 'SCRAM",
				`ALTER ROLE %I LOGIN REPLICATION PASSWORD`},
		},
		{
			name: "embedded verifier",
			opts: Options{PasswordVerifier: testVerifier},
			contains: []string{
				`--    Its password is the SCRAM-SHA-256 verifier below, computed by ` + "`ardent sql`",
				`SELECT format('CREATE ROLE %I LOGIN REPLICATION PASSWORD %L', 'ardent', '` + testVerifier + `')`,
				`SELECT format('ALTER ROLE %I LOGIN REPLICATION', 'ardent') \gexec`,
				"An existing role KEEPS its password",
				`\echo 'psql variable ardent_password ignored`,
			},
			absent: []string{":'ardent_password'", "ardent_pw_ok", "ardent_role_exists", `ALTER ROLE %I LOGIN REPLICATION PASSWORD`},
		},
		{
			name: "embedded verifier, --set-password",
			opts: Options{PasswordVerifier: testVerifier, SetPassword: true},
			contains: []string{
				`SELECT format('ALTER ROLE %I LOGIN REPLICATION PASSWORD %L', 'ardent', '` + testVerifier + `') \gexec`,
				"an existing role's password is REPLACED too",
			},
			absent: []string{":'ardent_password'", "KEEPS"},
		},
		{
			name: "variable, --set-password",
			opts: Options{SetPassword: true},
			contains: []string{
				`SELECT format('ALTER ROLE %I LOGIN REPLICATION PASSWORD %L', 'ardent', :'ardent_password') \gexec`,
				"psql variable ardent_password is not set",
			},
			absent: []string{"ardent_role_exists", "KEEPS"},
		},
		{
			name: "discovered",
			opts: Options{
				Database: "Shop", Role: "cdc", Schemas: []string{"public", "Sales Dept"},
				Owners: map[string][]string{"public": {"app", "app", "Admin"}, "Sales Dept": {}},
				Tables: tables, ReplicaIdentityFull: []string{`"Sales Dept"."Order"`}, EgressIP: "203.0.113.7",
			},
			contains: []string{
				`SELECT current_database() = 'Shop' AS ardent_right_database \gset`,
				`ALTER DEFAULT PRIVILEGES FOR ROLE "Admin" IN SCHEMA "public" GRANT SELECT ON TABLES TO "cdc";`,
				`ALTER DEFAULT PRIVILEGES FOR ROLE "app" IN SCHEMA "public" GRANT SELECT ON SEQUENCES TO "cdc";`,
				`ALTER DEFAULT PRIVILEGES IN SCHEMA "Sales Dept" GRANT SELECT ON TABLES TO "cdc";`,
				`GRANT SELECT ON ALL TABLES IN SCHEMA "Sales Dept" TO "cdc";`,
				`ALTER TABLE "public"."cand" REPLICA IDENTITY USING INDEX "Cand Key";`,
				`ALTER TABLE "Sales Dept"."Order" REPLICA IDENTITY FULL;`,
				`--   "public"."keyless"`,
				`hostssl "Shop" cdc 203.0.113.7/32 scram-sha-256`,
			},
			absent: []string{"Table owners unknown", `"public"."pk"`},
		},
		{
			name:     "ipv6 egress",
			opts:     Options{EgressIP: "2001:db8::7", Database: "all"},
			contains: []string{`hostssl "all" ardent 2001:db8::7/128 scram-sha-256`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Generate(tt.opts)
			require.NoError(t, err)
			for _, s := range tt.contains {
				assert.Contains(t, got, s)
			}
			for _, s := range tt.absent {
				assert.NotContains(t, got, s)
			}
			assert.Equal(t, 1, strings.Count(got, `FROM pg_create_logical_replication_slot`))
		})
	}
}

func TestGenerateRejects(t *testing.T) {
	_, err := Generate(Options{EgressIP: "not-an-ip"})
	assert.ErrorContains(t, err, "egress IP")
	_, err = Generate(Options{ReplicaIdentityFull: []string{"a.b.c"}})
	assert.ErrorContains(t, err, "replica identity full")
	// A clear password is never embedded, whatever the caller passes.
	for _, pw := range []string{"hunter2", "SCRAM-SHA-256$hunter2", testVerifier + "x"} {
		_, err = Generate(Options{PasswordVerifier: pw})
		require.ErrorContains(t, err, "not a SCRAM-SHA-256 verifier")
		assert.NotContains(t, err.Error(), pw)
	}
}

// TestVerifierPattern: the shell check accepts every verifier Ardent makes
// and nothing PostgreSQL would take for a clear password. (Go's RE2 and
// POSIX ERE agree on this pattern: classes, bounded repeats, anchors.)
func TestVerifierPattern(t *testing.T) {
	re := regexp.MustCompile(`^(?:` + verifierPattern + `)$`)
	for i := 0; i < 200; i++ {
		v, err := scram.Verifier(fmt.Sprintf("pw %d", i))
		require.NoError(t, err)
		require.True(t, re.MatchString(v), v)
	}
	assert.True(t, re.MatchString(testVerifier))
	for _, bad := range []string{
		"pencil", "", "SCRAM-SHA-256$", "SCRAM-SHA-256$4096:c2FsdA==$x:y",
		"scram-sha-256" + testVerifier[len("SCRAM-SHA-256"):],
		testVerifier[:len(testVerifier)-2] + "=",
		"md5" + strings.Repeat("a", 32),
		"x" + testVerifier, testVerifier + "\nx",
	} {
		assert.False(t, re.MatchString(bad), "%q", bad)
		assert.False(t, scram.IsVerifier(bad), "%q", bad)
	}
}

// A name can never end a comment line and smuggle SQL into the script.
func TestCommentInjection(t *testing.T) {
	evil := "x\nDROP TABLE important; --"
	got, err := Generate(Options{Database: evil, Schemas: []string{evil}, Role: evil,
		Tables: []schema.Table{{Schema: evil, Name: evil, Identity: schema.IdentityNone}}})
	require.NoError(t, err)
	// Inside quoted identifiers and literals a newline is data; after a
	// comment it would be SQL. psql runs the real thing in TestHostileScript.
	lines := strings.Split(got, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "DROP TABLE") {
			assert.False(t, strings.HasPrefix(lines[i-1], "--"), "comment leaks into SQL: %q", lines[i-1])
		}
	}
	assert.Contains(t, got, `x\x0aDROP TABLE`)
}

func TestDollarQuote(t *testing.T) {
	assert.Equal(t, "$ardent$x$ardent$", dollarQuote("x"))
	assert.Equal(t, "$ardent1$a$ardent$b$ardent1$", dollarQuote("a$ardent$b"))
}

func ExampleGenerate() {
	script, _ := Generate(Options{Database: "shop", Schemas: []string{"public"},
		Owners: map[string][]string{"public": {"app"}}, EgressIP: "203.0.113.7"})
	for _, l := range strings.Split(script, "\n") {
		if strings.HasPrefix(l, "GRANT") || strings.HasPrefix(l, "ALTER DEFAULT") || strings.Contains(l, "hostssl") {
			fmt.Println(l)
		}
	}
	// Output:
	// GRANT USAGE ON SCHEMA "public" TO "ardent";
	// GRANT SELECT ON ALL TABLES IN SCHEMA "public" TO "ardent";
	// GRANT SELECT ON ALL SEQUENCES IN SCHEMA "public" TO "ardent";
	// ALTER DEFAULT PRIVILEGES FOR ROLE "app" IN SCHEMA "public" GRANT SELECT ON TABLES TO "ardent";
	// ALTER DEFAULT PRIVILEGES FOR ROLE "app" IN SCHEMA "public" GRANT SELECT ON SEQUENCES TO "ardent";
	// --      hostssl shop ardent 203.0.113.7/32 scram-sha-256
}
