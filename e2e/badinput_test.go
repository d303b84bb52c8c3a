package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
)

// cliCase is one bad invocation of bin/ardent and what the operator must
// see: the exit code of the contract (0 passed/success, 1 not passed or
// failed, 2 usage error) and words that say what is wrong or what to do.
type cliCase struct {
	name   string
	args   func(f *badFixture) []string
	env    []string // extra environment
	envf   func(t *testing.T, f *badFixture) []string
	code   int
	want   []string      // substrings of the output, case-insensitive
	within time.Duration // default 30 s
	check  func(t *testing.T, f *badFixture, out string)
}

func argv(a ...string) func(*badFixture) []string { return func(*badFixture) []string { return a } }

// preflightWith runs preflight against the role's URL mangled by mod.
func preflightWith(mod func(f *badFixture) string, extra ...string) func(*badFixture) []string {
	return func(f *badFixture) []string {
		return append([]string{"preflight", "--source", mod(f)}, extra...)
	}
}

func hostURL(format string) func(f *badFixture) string {
	return func(f *badFixture) string { return fmt.Sprintf(format, f.pw, f.port()) }
}

func goodURL(f *badFixture) string { return f.url("app") }

// cliCases are the CLI's corpus. No case skips: every command is
// registered, and a defect found here fails the suite until it is fixed.
var cliCases = []cliCase{
	// A control: the fixture's role passes, so every failure below is the
	// bad input's doing.
	{name: "preflight/control passes", args: preflightWith(goodURL, "--schema", "shop"), code: 0, want: []string{"PASSED"}},

	// Malformed URLs: usage errors, before anything connects.
	{name: "preflight/url without scheme", args: preflightWith(hostURL("ardent:%s@127.0.0.1:%d/app")), code: 2, want: []string{"postgres://"}},
	{name: "preflight/url wrong scheme", args: preflightWith(hostURL("mysql://ardent:%s@127.0.0.1:%d/app")), code: 2, want: []string{"scheme must be postgres://"}},
	{name: "preflight/url port not a number", args: preflightWith(hostURL("postgres://ardent:%s@127.0.0.1:port%d/app")), code: 2, want: []string{"port"}},
	{name: "preflight/url port out of range", args: preflightWith(hostURL("postgres://ardent:%s@127.0.0.1:9%d9/app")), code: 2, want: []string{"port"}},
	{name: "preflight/dsn unterminated quote", args: preflightWith(hostURL("host=127.0.0.1 user=ardent password='%s port=%d dbname=app")), code: 2, want: []string{"quote"}},
	{name: "preflight/url without host", args: preflightWith(hostURL("postgres://ardent:%s@:%d/app")), code: 2, want: []string{"host"}},
	{name: "preflight/url bad percent escape", args: preflightWith(hostURL("postgres://ardent:%s%%zz@127.0.0.1:%d/app")), code: 2, want: []string{"percent-encoded"}},
	{name: "preflight/url percent-escaped password is decoded, still wrong", args: preflightWith(hostURL("postgres://ardent:%s%%40x@127.0.0.1:%d/app")), code: 1,
		want: []string{"password authentication failed", "ardent sql --set-password"}},
	{name: "preflight/empty source", args: argv("preflight", "--source", ""), code: 2, want: []string{"--source"}},
	{name: "preflight/unquoted DSN leaves the password as a stray argument", args: func(f *badFixture) []string {
		return []string{"preflight", "--source", "host=127.0.0.1", "password=" + f.pw, fmt.Sprintf("port=%d", f.port()), "dbname=app"}
	}, code: 2, want: []string{"<redacted>", "quote a connection string"}},

	// Reachability and credentials: failed checks (exit 1) with a remedy.
	{name: "preflight/unknown host", args: preflightWith(hostURL("postgres://ardent:%s@db.no-such-host.invalid:%d/app")), code: 1,
		want: []string{"cannot resolve", "no-such-host.invalid", "check the host name"}},
	{name: "preflight/ipv6 literal host", args: preflightWith(hostURL("postgres://ardent:%s@[::1]:%d/app?sslmode=require")), code: 1,
		want: []string{"IPv6", "use the host's IPv4 address"}},
	{name: "preflight/ipv6 host in a DSN, JSON: the ipv4 check fails", args: func(f *badFixture) []string {
		return []string{"preflight", "--format", "json", "--source", fmt.Sprintf("host=::1 port=%d user=ardent password=%s dbname=app", f.port(), f.pw)}
	}, code: 1, want: []string{`"id": "ipv4"`}, check: func(t *testing.T, _ *badFixture, out string) {
		assert.Equal(t, "fail", jsonCheck(t, out, "ipv4").Status)
		assert.Contains(t, jsonCheck(t, out, "ipv4").Message, "IPv6")
	}},
	{name: "preflight/wrong password", args: preflightWith(hostURL("postgres://ardent:wrong-%s@127.0.0.1:%d/app")), code: 1,
		want: []string{"password authentication failed", "ardent sql --set-password"}},
	{name: "preflight/missing database", args: preflightWith(func(f *badFixture) string { return f.url("no_such_db") }), code: 1,
		want: []string{`database "no_such_db" does not exist`}},
	{name: "preflight/sslmode bogus", args: preflightWith(hostURL("postgres://ardent:%s@127.0.0.1:%d/app?sslmode=bogus")), code: 2, want: []string{"sslmode"}},
	{name: "preflight/connect_timeout not a number", args: preflightWith(hostURL("postgres://ardent:%s@127.0.0.1:%d/app?connect_timeout=soon")), code: 2,
		want: []string{"connect_timeout"}},
	{name: "preflight/sslmode disable against a TLS-only server", args: preflightWith(hostURL("postgres://ardent:%s@127.0.0.1:%d/app?sslmode=disable")), code: 1,
		want: []string{"pg_hba.conf", "reload"}},
	{name: "preflight/sslmode verify-full with a self-signed certificate", args: preflightWith(hostURL("postgres://ardent:%s@127.0.0.1:%d/app?sslmode=verify-full")), code: 1,
		want: []string{"certificate", "sslrootcert"}},
	{name: "preflight/unknown URL parameter", args: preflightWith(hostURL("postgres://ardent:%s@127.0.0.1:%d/app?frobnicate=1")), code: 1,
		want: []string{"frobnicate"}},
	{name: "preflight/closed port", args: preflightWith(func(f *badFixture) string { return fmt.Sprintf("postgres://ardent:%s@127.0.0.1:1/app", f.pw) }), code: 1,
		want: []string{"connection refused", "listen"}},

	// Selection: names that do not exist, or do not parse.
	{name: "preflight/schema does not exist", args: preflightWith(goodURL, "--schema", "no_such_schema"), code: 1,
		want: []string{"no_such_schema", "do not exist"}},
	{name: "preflight/table does not exist", args: preflightWith(goodURL, "--table", "shop.no_such_table"), code: 1,
		want: []string{"no_such_table", "do not exist"}},
	{name: "preflight/schema of 64 bytes", args: preflightWith(goodURL, "--schema", strings.Repeat("s", 64)), code: 1,
		want: []string{"do not exist"}},
	{name: "preflight/table with unterminated quote", args: preflightWith(goodURL, "--table", `"shop.items`), code: 2, want: []string{"unterminated quote"}},
	{name: "preflight/table with empty part", args: preflightWith(goodURL, "--table", "shop."), code: 2, want: []string{"empty name part"}},
	{name: "preflight/role that does not exist", args: preflightWith(goodURL, "--schema", "shop", "--role", `x"; DROP ROLE ardent; --`), code: 1,
		want: []string{`x"; DROP ROLE ardent; --`}},

	// Usage errors of the command line itself.
	{name: "preflight/unknown flag", args: preflightWith(goodURL, "--frobnicate"), code: 2, want: []string{"unknown flag", "--frobnicate"}},
	{name: "preflight/missing --source", args: argv("preflight", "--schema", "shop"), code: 2, want: []string{"--source is required"}},
	{name: "preflight/bad --format", args: preflightWith(goodURL, "--format", "xml"), code: 2, want: []string{"--format must be text or json"}},
	{name: "preflight/unknown --accept-unverified", args: preflightWith(goodURL, "--accept-unverified", "everything"), code: 2, want: []string{"not a check id"}},
	{name: "preflight/stray argument", args: preflightWith(goodURL, "extra"), code: 2, want: []string{"unknown command", "extra"}},

	// ardent sql: hostile role names are quoted, never interpolated.
	{name: "sql/role with quote and space", args: argv("sql", "--schema", "shop", "--role", `we"ird role`), code: 0, want: []string{`"we""ird role"`}},
	{name: "sql/role reserved word", args: argv("sql", "--schema", "shop", "--role", "select"), code: 0, want: []string{`ROLE "select"`}},
	{name: "sql/role unicode", args: argv("sql", "--schema", "shop", "--role", "рольü"), code: 0, want: []string{`"рольü"`}},
	{name: "sql/role of 63 bytes", args: argv("sql", "--schema", "shop", "--role", strings.Repeat("r", 63)), code: 0, want: []string{strings.Repeat("r", 63)}},
	{name: "sql/role of 64 bytes", args: argv("sql", "--schema", "shop", "--role", strings.Repeat("r", 64)), code: 2, want: []string{"63"}},
	{name: "sql/empty role", args: argv("sql", "--role", ""), code: 2, want: []string{"--role"}},
	{name: "sql/egress ip not an address", args: argv("sql", "--egress-ip", "not-an-ip"), code: 2, want: []string{"not an IP address"}},
	{name: "sql/source with wrong password", args: func(f *badFixture) []string {
		return []string{"sql", "--source", fmt.Sprintf("postgres://ardent:wrong-%s@127.0.0.1:%d/app", f.pw, f.port())}
	}, code: 1, want: []string{"password authentication failed", "ardent preflight"}},
	{name: "sql/source schema does not exist", args: func(f *badFixture) []string {
		return []string{"sql", "--source", f.url("app"), "--schema", "no_such_schema"}
	}, code: 1, want: []string{"no_such_schema", "not found"}},

	// onboard: every name and URL is checked before Temporal hears of it.
	{name: "onboard/name with slash", args: onboardArgs("--name", "shop/eu"), code: 2, want: []string{"--name", "shop/eu", "lower-case letters"}},
	{name: "onboard/name of 500 characters", args: onboardArgs("--name", strings.Repeat("a", 500)), code: 2, want: []string{"500 characters", "at most 40"},
		check: func(t *testing.T, _ *badFixture, out string) {
			assert.NotContains(t, out, strings.Repeat("a", 100), "the 500-character name is echoed")
		}},
	{name: "onboard/name upper-case and unicode", args: onboardArgs("--name", "Shöp"), code: 2, want: []string{"lower-case letters"}},
	{name: "onboard/missing required flags", args: argv("onboard", "--name", "shop"), code: 2, want: []string{"required flag", "source", "destination", "ardent onboard --help"}},
	{name: "onboard/unknown flag", args: onboardArgs("--frobnicate"), code: 2, want: []string{"unknown flag"}},
	{name: "onboard/malformed source", args: func(f *badFixture) []string {
		return onboardArgs("--source", fmt.Sprintf("postgres://ardent:%s@127.0.0.1:99999/app", f.pw))(f)
	}, code: 2, want: []string{"--source", "port"}},
	{name: "onboard/malformed destination", args: func(f *badFixture) []string {
		return onboardArgs("--destination", fmt.Sprintf("mysql://writer:%s@127.0.0.1/replica", f.pw))(f)
	}, code: 2, want: []string{"--destination: destination URL", "postgres://"}},
	{name: "onboard/source without host", args: func(f *badFixture) []string {
		return onboardArgs("--source", fmt.Sprintf("postgres://ardent:%s@/app", f.pw))(f)
	}, code: 2, want: []string{"--source", "host"}},
	{name: "onboard/negative backoff", args: onboardArgs("--backoff-initial", "-5s"), code: 2, want: []string{"--backoff-initial"}},
	{name: "onboard/duration not a duration", args: onboardArgs("--deadline", "forever"), code: 2, want: []string{"--deadline", "invalid"}},
	{name: "onboard/table with unterminated quote", args: onboardArgs("--table", `"shop.items`), code: 2, want: []string{"--table", "unterminated quote"}},

	// The other commands.
	{name: "status/name with slash", args: argv("status", "shop/eu"), code: 2, want: []string{"lower-case letters"}},
	{name: "status/name with slash, Temporal down", args: argv("status", "shop/eu"), env: []string{"ARDENT_TEMPORAL_ADDRESS=127.0.0.1:1"}, code: 2,
		want: []string{"lower-case letters"}, within: 10 * time.Second},
	{name: "status/bad --format", args: argv("status", "shop", "--format", "yaml"), code: 2, want: []string{"--format must be text or json"}},
	{name: "status/no such connector", args: argv("status", "nosuch"), code: 1, want: []string{`no connector named "nosuch"`, "ardent onboard"}},
	{name: "pause/name of 500 characters", args: argv("pause", strings.Repeat("p", 500)), code: 2, want: []string{"500 characters"}},
	{name: "drop/missing name", args: argv("drop"), code: 2, want: []string{"accepts 1 arg", "ardent drop --help"}},
	{name: "signal/unknown signal", args: argv("signal", "go-faster", "shop"), code: 2, want: []string{`unknown signal "go-faster"`, "sql-applied"}},
	{name: "signal/name with quote", args: argv("signal", "sql-applied", `shop"; drop`), code: 2, want: []string{"lower-case letters"}},
	{name: "signal/no such onboarding", args: argv("signal", "sql-applied", "nosuch"), code: 1, want: []string{"is the onboarding running"}},
	{name: "preflight/json report when the password is wrong", args: func(f *badFixture) []string {
		return []string{"preflight", "--format", "json", "--source", fmt.Sprintf("postgres://ardent:wrong-%s@127.0.0.1:%d/app", f.pw, f.port())}
	}, code: 1, want: []string{`"passed": false`}, check: func(t *testing.T, _ *badFixture, out string) {
		c := jsonCheck(t, out, "connect")
		assert.Equal(t, "fail", c.Status)
		assert.Contains(t, c.Message, "password authentication failed")
		assert.NotEmpty(t, c.Remedy)
	}},
	{name: "preflight/schema name with a line break", args: preflightWith(goodURL, "--schema", "x\n  ✓  wal_level  forged line"), code: 1,
		want: []string{"do not exist"},
		check: func(t *testing.T, _ *badFixture, out string) {
			assert.NotContains(t, out, "\n  ✓  wal_level  forged", "a line break in a name forged a report line")
		}},
	{name: "preflight/egress IP not an address", args: preflightWith(goodURL, "--schema", "shop"), env: []string{"ARDENT_EGRESS_IP=not-an-ip"}, code: 2,
		want: []string{"not-an-ip", "IP"}},
	{name: "sql/hostile schema from the source", args: func(f *badFixture) []string {
		return []string{"sql", "--source", f.url("app"), "--schema", `we"ird`, "--role", "ardent"}
	}, code: 0, want: []string{`SCHEMA "we""ird"`}},
	{name: "config/master key not base64", args: argv("status", "shop"), envf: func(_ *testing.T, f *badFixture) []string {
		return []string{"ARDENT_MASTER_KEY_FILE=", "ARDENT_MASTER_KEY=not-base64-" + f.pw}
	}, code: 2, want: []string{"master key"}},
	{name: "config/master key file readable by others", args: argv("status", "shop"), envf: func(t *testing.T, f *badFixture) []string {
		key, err := os.ReadFile(f.env("ARDENT_MASTER_KEY_FILE"))
		require.NoError(t, err)
		file := filepath.Join(t.TempDir(), "open.key")
		require.NoError(t, os.WriteFile(file, key, 0o644))
		require.NoError(t, os.Chmod(file, 0o644))
		return []string{"ARDENT_MASTER_KEY_FILE=" + file}
	}, code: 2, want: []string{"open.key", "chmod"}},
	{name: "config/invalid YAML file", args: func(f *badFixture) []string {
		file := filepath.Join(os.TempDir(), "ardent-badinput-bad.yaml")
		_ = os.WriteFile(file, []byte("temporal_address: [unclosed\n"), 0o600)
		return []string{"status", "shop", "--config", file}
	}, code: 2, want: []string{"ardent-badinput-bad.yaml"}},
	{name: "config/temporal address not host:port", args: argv("status", "shop"), env: []string{"ARDENT_TEMPORAL_ADDRESS=not a host"}, code: 2,
		want: []string{"not a host", "host:port"}},
	{name: "config/negative backoff from the environment", args: onboardArgs(), env: []string{"ARDENT_PREFLIGHT_BACKOFF_INITIAL=-30s"}, code: 2,
		want: []string{"ARDENT_PREFLIGHT_BACKOFF_INITIAL", "negative"}},
	{name: "config/duration from the environment not a duration", args: onboardArgs(), env: []string{"ARDENT_PREFLIGHT_DEADLINE=a week"}, code: 2,
		want: []string{"deadline"}},
	{name: "unknown command", args: argv("frobnicate"), code: 2, want: []string{`unknown command "frobnicate"`}},
	{name: "bad configuration file", args: argv("status", "shop", "--config", "/nonexistent/ardent.yaml"), code: 2, want: []string{"/nonexistent/ardent.yaml"}},
}

// runBigCase: preflight of a schema with 50,000 tables, none with a key,
// answers in reasonable time with a bounded text report.
func (f *badFixture) runBigCase(t *testing.T) {
	select {
	case r := <-f.bigDone:
		require.NoError(t, r.err, "create the 50,000 tables")
		t.Logf("%d tables created in the background in %s", bigTables, r.took.Round(time.Millisecond))
	case <-time.After(3 * time.Minute):
		t.Fatal("the 50,000 tables were not created within 3 minutes")
	}
	url := f.big.URLFor("ardent", f.pw, "big")
	began := time.Now()
	out, code := f.runCLI(t, nil, "preflight", "--source", url, "--schema", "many")
	took := time.Since(began)
	t.Logf("preflight of %d tables: exit %d in %s, %d lines", bigTables, code, took.Round(time.Millisecond), lineCount(out))
	assert.Equal(t, 1, code, head(out, 30))
	assert.Less(t, took, 60*time.Second)
	assert.Less(t, lineCount(out), 80, "the text report must stay bounded")
	containsAll(t, out, []string{"replica_identity", fmt.Sprintf("(%d of %d)", bigTables, bigTables),
		fmt.Sprintf("and %d more", bigTables-50), "--format json lists them all"})
	f.assertClean(t, out)
	f.assertBigUntouched(t)

	began = time.Now()
	out, code = f.runCLI(t, nil, "preflight", "--source", url, "--schema", "many", "--format", "json")
	t.Logf("the same as JSON: exit %d in %s, %d bytes", code, time.Since(began).Round(time.Millisecond), len(out))
	assert.Equal(t, 1, code)
	var rep struct{ Tables []struct{ Name string } }
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Len(t, rep.Tables, bigTables, "JSON lists every table")
	f.assertClean(t, out)
}

// hostileCases: legal but hostile identifiers (quotes, spaces, unicode,
// reserved words, 63 bytes) are selected exactly and pass preflight, as
// schemas and as quoted tables; onboard hands them to the workflow intact.
func hostileCases() []cliCase {
	var out []cliCase
	for _, n := range hostileNames {
		table := quoteFlag(n) + "." + quoteFlag(hostileTable(n))
		out = append(out,
			cliCase{name: fmt.Sprintf("preflight/hostile schema %.20q", n), args: preflightWith(goodURL, "--schema", n), code: 0,
				want: []string{"PASSED", "all 1 selected tables have a usable replica identity"}},
			cliCase{name: fmt.Sprintf("preflight/hostile table %.20q", n), args: preflightWith(goodURL, "--table", table), code: 0,
				want: []string{"PASSED"}})
	}
	names := append(append([]string{}, hostileNames...), "a,b")
	var tables []string
	for _, n := range names {
		tables = append(tables, quoteFlag(n)+"."+quoteFlag(hostileTable(n)))
	}
	out = append(out, cliCase{name: "onboard/hostile names reach the workflow intact", args: func(f *badFixture) []string {
		args := onboardArgs("--name", "hostile")(f)
		for i, n := range names {
			args = append(args, "--schema", n, "--exclude-table", tables[i])
		}
		return args
	}, code: 0, want: []string{"started onboarding hostile"}, check: func(t *testing.T, f *badFixture, _ string) {
		in := f.onboardingInput(t, "hostile")
		assert.Equal(t, names, in.Selection.Schemas)
		assert.Equal(t, tables, in.Selection.ExcludeTables)
		out, code := f.runCLI(t, nil, "drop", "hostile", "--yes")
		require.Equal(t, 0, code, out)
		f.waitFor(t, "hostile", "dropped", func(st badStatus) bool { return st.Stage == "dropped" })
	}})
	return out
}

// quoteFlag spells a name for --table: double-quoted when it needs it.
func quoteFlag(n string) string {
	if strings.ContainsAny(n, `."`) || strings.ToLower(n) != n {
		return `"` + strings.ReplaceAll(n, `"`, `""`) + `"`
	}
	return n
}

// onboardArgs is a valid onboard invocation (its source fails preflight, so
// nothing could be created even if it started) with some flags replaced or
// added.
func onboardArgs(over ...string) func(*badFixture) []string {
	return func(f *badFixture) []string {
		flags := map[string]string{
			"--name":        "badinput",
			"--source":      fmt.Sprintf("postgres://ardent:wrong-%s@127.0.0.1:%d/app", f.pw, f.port()),
			"--destination": f.s.dst.URL("destination"),
		}
		order := []string{"--name", "--source", "--destination"}
		var extra []string
		for i := 0; i+1 < len(over); i += 2 {
			if _, ok := flags[over[i]]; ok {
				flags[over[i]] = over[i+1]
			} else {
				extra = append(extra, over[i], over[i+1])
			}
		}
		if len(over)%2 == 1 {
			extra = append(extra, over[len(over)-1])
		}
		args := []string{"onboard"}
		for _, k := range order {
			args = append(args, k, flags[k])
		}
		return append(args, extra...)
	}
}

// TestBadInput is the bad-input corpus of issue 9: every case gets a clear
// error and its exit code, no panic, no secret echoed, nothing created on
// the source. One stack serves the whole table: CLI cases, then workflow
// inputs, then signals.
func TestBadInput(t *testing.T) {
	f := newBadFixture(t)
	start := time.Now()
	for _, c := range append(cliCases, hostileCases()...) {
		t.Run("cli/"+c.name, func(t *testing.T) { f.runCLICase(t, c) })
	}
	t.Logf("cli cases: %s", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	for _, c := range workflowInputCases {
		t.Run("workflow-input/"+c.name, func(t *testing.T) { f.runWorkflowInputCase(t, c) })
	}
	t.Logf("workflow input cases: %s", time.Since(start).Round(time.Millisecond))

	t.Run("cli/preflight/50000 keyless tables: bounded report, in time", func(t *testing.T) { f.runBigCase(t) })

	t.Run("workflow-input/replication of an unknown connector", func(t *testing.T) { f.runGhostReplication(t) })
	t.Run("workflow-input/status of an onboarding whose input never decoded", func(t *testing.T) { f.runGarbledStatus(t) })

	start = time.Now()
	t.Run("signal", func(t *testing.T) { f.runSignalCases(t) })
	t.Logf("signal cases: %s", time.Since(start).Round(time.Millisecond))

	assert.NotRegexp(t, `(?i)panic`, f.workerLogs(), "a worker panicked")
	assert.NotContains(t, f.workerLogs(), f.pw, "a worker logged the password")
}

func (f *badFixture) runCLICase(t *testing.T, c cliCase) {
	args := c.args(f)
	within := c.within
	if within == 0 {
		within = 30 * time.Second
	}
	began := time.Now()
	env := c.env
	if c.envf != nil {
		env = append(append([]string{}, env...), c.envf(t, f)...)
	}
	out, code := f.runCLI(t, env, args...)
	took := time.Since(began)
	t.Logf("exit %d in %s: %s", code, took.Round(time.Millisecond), firstProblem(out))
	f.assertClean(t, out)
	assert.Less(t, took, within, "took too long")
	if args[0] == "onboard" && code != 0 {
		_, err := f.tc.DescribeWorkflowExecution(context.Background(), "onboarding-badinput", "")
		var nf *serviceerror.NotFound
		assert.True(t, errors.As(err, &nf), "a refused onboard started a workflow (describe: %v)", err)
	}
	assert.Equal(t, c.code, code, "exit code; output:\n%s", out)
	containsAll(t, out, c.want)
	if c.code != 0 && !strings.HasPrefix(out, "{") {
		assert.Less(t, lineCount(out), 80, "an error should be short:\n%s", out)
	}
	if c.check != nil {
		c.check(t, f, out)
	}
}

func head(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// firstProblem is the line of out that says what is wrong: the first failed
// or unverified check of a preflight report, else the first line.
func firstProblem(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if t := strings.TrimSpace(l); strings.HasPrefix(t, "✗") || strings.HasPrefix(t, "?") {
			return t
		}
	}
	return head(out, 1)
}

type reportCheck struct{ ID, Status, Message, Remedy string }

// jsonCheck decodes a `preflight --format json` report (the whole output
// must be the report) and returns check id.
func jsonCheck(t *testing.T, out, id string) reportCheck {
	t.Helper()
	var rep struct {
		Passed bool
		Checks []reportCheck
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), "the output must be the JSON report alone:\n%s", out)
	for _, c := range rep.Checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no check %q in the report", id)
	return reportCheck{}
}
