package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/scram"
)

// writePasswordFile writes content to a file of mode perm.
func writePasswordFile(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pw")
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	require.NoError(t, os.Chmod(p, perm))
	return p
}

// fakeTerminal makes stdin a terminal that answers the prompts in order
// and records them; nil answers: stdin is not a terminal.
func fakeTerminal(t *testing.T, answers ...string) *[]string {
	t.Helper()
	var prompts []string
	old := askPassword
	t.Cleanup(func() { askPassword = old })
	askPassword = func(_ context.Context, _ io.Reader, out io.Writer, prompt string) (string, bool, error) {
		if answers == nil {
			return "", false, nil
		}
		prompts = append(prompts, prompt)
		fmt.Fprint(out, prompt)
		if len(prompts) > len(answers) {
			return "", true, io.EOF
		}
		return answers[len(prompts)-1], true, nil
	}
	return &prompts
}

// noPasswordEnv keeps the developer's PGPASSWORD and ~/.pgpass out.
func noPasswordEnv(t *testing.T) {
	t.Setenv("PGPASSWORD", "")
	t.Setenv("PGPASSFILE", filepath.Join(t.TempDir(), "none"))
}

func TestReadPasswordFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		perm          os.FileMode
		stdin         string
		want, err     string
	}{
		{name: "plain", content: cliPassword, perm: 0o600, want: cliPassword},
		{name: "final line break dropped", content: cliPassword + "\n", perm: 0o600, want: cliPassword},
		{name: "crlf", content: cliPassword + "\r\n", perm: 0o400, want: cliPassword},
		{name: "spaces kept", content: " " + cliPassword + " \n", perm: 0o600, want: " " + cliPassword + " "},
		{name: "group readable", content: cliPassword, perm: 0o640, err: "has mode 0640: group and others must have no access"},
		{name: "world readable", content: cliPassword, perm: 0o604, err: "(chmod 600 "},
		{name: "group writable", content: cliPassword, perm: 0o620, err: "mode 0620"},
		{name: "empty", content: "", perm: 0o600, err: "is empty"},
		{name: "only a line break", content: "\n", perm: 0o600, err: "is empty"},
		{name: "two lines", content: cliPassword + "\nsecond\n", perm: 0o600, err: "more than one line"},
		{name: "too large", content: strings.Repeat("x", maxPasswordFile+1), perm: 0o600, err: "more than 4096 bytes"},
		{name: "stdin", stdin: cliPassword + "\n", want: cliPassword},
		{name: "empty stdin", stdin: "", err: "test file on stdin is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := stdinFile
			if tt.perm != 0 {
				file = writePasswordFile(t, tt.content, tt.perm)
			}
			got, err := readPasswordFile("test file", file, strings.NewReader(tt.stdin))
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				assert.NotContains(t, err.Error(), cliPassword)
				assert.Equal(t, 2, err.(*exitError).code)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	_, err := readPasswordFile("test file", filepath.Join(dir, "missing"), nil)
	assert.ErrorContains(t, err, "no such file")
	_, err = readPasswordFile("test file", dir, nil)
	assert.ErrorContains(t, err, "is a directory")
}

// TestURLPasswordSources: a URL without a password gets one from the
// password file flag, then PGPASSWORD, then ~/.pgpass, then the terminal;
// whatever is found reads back intact from the URL it was written into.
func TestURLPasswordSources(t *testing.T) {
	const hostile = `p@ss:w/o?rd#'"\ %41 `
	pgpass := filepath.Join(t.TempDir(), "pgpass")
	require.NoError(t, os.WriteFile(pgpass, []byte("db.example.com:5432:app:ardent:from-pgpass\n"), 0o600))
	tests := []struct {
		name, url, file, env, passfile string
		answers                        []string // nil: no terminal
		want                           string   // the URL's password afterwards; "" none
		prompted                       string
		err                            string
	}{
		{name: "url has one", url: "postgres://ardent:in-url@db.example.com/app", env: "from-env", answers: []string{"typed"}, want: "in-url"},
		{name: "url has an empty one", url: "postgres://ardent:@db.example.com/app", answers: []string{"typed"}},
		{name: "url has one and a file", url: "postgres://ardent:in-url@db.example.com/app", file: "from-file", err: "has a password and a source password file is given too"},
		{name: "file first", url: "postgres://ardent@db.example.com/app", file: hostile, env: "from-env", passfile: pgpass, answers: []string{"typed"}, want: hostile},
		{name: "dsn, file", url: "host=db.example.com user=ardent dbname=app", file: hostile, want: hostile},
		{name: "dsn has one", url: "host=db.example.com user=ardent password=x dbname=app", env: "from-env", want: "x"},
		{name: "PGPASSWORD", url: "postgres://ardent@db.example.com/app", env: hostile, passfile: pgpass, answers: []string{"typed"}, want: hostile},
		{name: "pgpass", url: "postgres://ardent@db.example.com/app", passfile: pgpass, answers: []string{"typed"}, want: "from-pgpass"},
		{name: "prompt", url: "postgres://ardent@db.example.com/app?sslmode=disable", answers: []string{hostile}, want: hostile,
			prompted: "Password for ardent@db.example.com:5432/app (source): "},
		{name: "prompt, dsn", url: "host=db.example.com port=6543 user=ardent dbname=app", answers: []string{hostile}, want: hostile,
			prompted: "Password for ardent@db.example.com:6543/app (source): "},
		{name: "empty answer", url: "postgres://ardent@db.example.com/app", answers: []string{""}, err: "empty source password: refused"},
		{name: "nothing, no terminal", url: "postgres://ardent@db.example.com/app"},
		{name: "malformed left to the command", url: "postgres://ardent@db.example.com:x/app", file: "from-file", want: "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noPasswordEnv(t)
			if tt.env != "" {
				t.Setenv("PGPASSWORD", tt.env)
			}
			if tt.passfile != "" {
				t.Setenv("PGPASSFILE", tt.passfile)
			}
			prompts := fakeTerminal(t, tt.answers...)
			file := ""
			if tt.file != "" {
				file = writePasswordFile(t, tt.file+"\n", 0o600)
			}
			cmd := newRootCmd(newCLI(io.Discard, io.Discard))
			cmd.SetContext(context.Background())
			got, err := withPassword(cmd, newCLI(io.Discard, io.Discard), pgurl.SideSource, tt.url, file)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				assert.Equal(t, 2, err.(*exitError).code)
				return
			}
			require.NoError(t, err)
			if tt.want == "-" {
				assert.Equal(t, tt.url, got)
				return
			}
			// Read back without the environment's help.
			noPasswordEnv(t)
			conn, err := pgurl.ParseSource(got)
			require.NoError(t, err, got)
			assert.Equal(t, tt.want, conn.Password())
			assert.Equal(t, "ardent", conn.Config.User)
			if tt.prompted != "" {
				assert.Equal(t, []string{tt.prompted}, *prompts)
			} else if tt.answers != nil {
				assert.Empty(t, *prompts, "no prompt when the password was found elsewhere")
			}
		})
	}
}

// TestPreflightPasswordSources runs preflight against a real cluster that
// demands scram-sha-256, with the password never in --source.
func TestPreflightPasswordSources(t *testing.T) {
	noPasswordEnv(t)
	c := pgtest.Start(t, pgtest.Options{PasswordAuth: true})
	v, err := scram.Verifier(cliPassword)
	require.NoError(t, err)
	c.Exec(t, "postgres", `CREATE ROLE ardent LOGIN REPLICATION PASSWORD '`+v+`'`)
	url := c.URLFor("ardent", "", "postgres")
	connect := func(stdin string, args ...string) (string, int) {
		t.Helper()
		stdout, stderr, code := runSourceCLI(t, stdin, append([]string{"preflight", "--format", "json", "--source", url}, args...)...)
		m := regexp.MustCompile(`"id": "connect",\s*"status": "(\w+)"`).FindStringSubmatch(stdout)
		if m == nil {
			return stderr, code
		}
		return m[1], code
	}
	status, _ := connect("")
	assert.Equal(t, "fail", status, "no password anywhere: the connect check fails")

	good := writePasswordFile(t, cliPassword+"\n", 0o600)
	status, _ = connect("", "--source-password-file", good)
	assert.Equal(t, "pass", status)
	status, _ = connect(cliPassword+"\n", "--source-password-file", "-")
	assert.Equal(t, "pass", status, "from stdin")

	wrong := writePasswordFile(t, "wrong\n", 0o600)
	status, _ = connect("", "--source-password-file", wrong)
	assert.Equal(t, "fail", status)

	out, code := connect("", "--source-password-file", writePasswordFile(t, cliPassword, 0o640))
	assert.Equal(t, 2, code)
	assert.Contains(t, out, "source password file")
	assert.Contains(t, out, "mode 0640")

	t.Setenv("PGPASSWORD", cliPassword)
	status, _ = connect("")
	assert.Equal(t, "pass", status, "PGPASSWORD")
	noPasswordEnv(t)

	fakeTerminal(t, cliPassword)
	status, _ = connect("")
	assert.Equal(t, "pass", status, "typed on the terminal")
	fakeTerminal(t, "")
	out, code = connect("")
	assert.Equal(t, 2, code)
	assert.Contains(t, out, "empty source password")
}

// TestSQLRolePassword: `ardent sql` embeds the verifier of the password it
// is given, never the password; without one (and no terminal) the script
// takes a verifier from psql's variable.
func TestSQLRolePassword(t *testing.T) {
	noPasswordEnv(t)
	embedded := regexp.MustCompile(`PASSWORD %L', 'ardent', '(SCRAM-SHA-256\$[^']+)'\)`)
	file := writePasswordFile(t, cliPassword+"\n", 0o600)

	stdout, stderr, code := runSourceCLI(t, "", "sql", "--password-file", file)
	require.Equal(t, 0, code, stderr)
	m := embedded.FindStringSubmatch(stdout)
	require.NotNil(t, m, stdout)
	assert.True(t, scram.Matches(m[1], cliPassword), "the verifier is the file's password's")
	assert.Contains(t, stdout, `SELECT format('ALTER ROLE %I LOGIN REPLICATION', 'ardent') \gexec`)
	assert.NotContains(t, stdout, ":'ardent_password'")

	stdout, _, code = runSourceCLI(t, cliPassword, "sql", "--password-file", "-", "--set-password")
	require.Equal(t, 0, code)
	assert.Regexp(t, `SELECT format\('ALTER ROLE %I LOGIN REPLICATION PASSWORD %L', 'ardent', 'SCRAM-SHA-256\$`, stdout)
	assert.Contains(t, stdout, "REPLACED")

	// No file, no terminal: the verifier comes through psql's variable.
	stdout, stderr, code = runSourceCLI(t, "", "sql")
	require.Equal(t, 0, code, stderr)
	assert.NotRegexp(t, embedded, stdout)
	assert.Contains(t, stdout, ":'ardent_password'")
	assert.Contains(t, stderr, `psql -v ardent_password="$(ardent scram-verifier)"`)

	// On a terminal: asked twice, without echo (see e2e for the real one).
	prompts := fakeTerminal(t, cliPassword, cliPassword)
	stdout, stderr, code = runSourceCLI(t, "", "sql", "--role", "cdc")
	require.Equal(t, 0, code, stderr)
	m = regexp.MustCompile(`'cdc', '(SCRAM-SHA-256\$[^']+)'\)`).FindStringSubmatch(stdout)
	require.NotNil(t, m, stdout)
	assert.True(t, scram.Matches(m[1], cliPassword))
	assert.Equal(t, []string{"Password for role cdc (only its SCRAM verifier goes into the script): ", "Again: "}, *prompts)

	for _, tt := range []struct {
		answers []string
		args    []string
		want    string
	}{
		{[]string{cliPassword, cliPassword + "x"}, nil, "the two passwords differ"},
		{[]string{""}, nil, "empty password"},
		{[]string{"\ufb01ne", "\ufb01ne"}, nil, "SASLprep"},
		{nil, []string{"--password-file", writePasswordFile(t, cliPassword, 0o644)}, "password file"},
		{nil, []string{"--password-file", "-", "--source", "postgres://u@h/db", "--source-password-file", "-"}, "only one password file can be stdin"},
	} {
		fakeTerminal(t, tt.answers...)
		stdout, stderr, code = runSourceCLI(t, "", append([]string{"sql"}, tt.args...)...)
		assert.Equal(t, 2, code, stderr)
		assert.Contains(t, stderr, tt.want)
		assert.Empty(t, stdout, "no script")
	}
}

func TestScramVerifierCommand(t *testing.T) {
	for _, tt := range []struct {
		name, stdin string
		args        []string
		answers     []string
	}{
		{name: "stdin", stdin: cliPassword + "\n"},
		{name: "file", args: []string{"--password-file", writePasswordFile(t, cliPassword, 0o600)}},
		{name: "file on stdin", stdin: cliPassword, args: []string{"--password-file", "-"}},
		{name: "terminal", answers: []string{cliPassword, cliPassword}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fakeTerminal(t, tt.answers...)
			stdout, stderr, code := runSourceCLI(t, tt.stdin, append([]string{"scram-verifier"}, tt.args...)...)
			require.Equal(t, 0, code, stderr)
			v := strings.TrimSuffix(stdout, "\n")
			assert.True(t, scram.IsVerifier(v), v)
			assert.True(t, scram.Matches(v, cliPassword))
		})
	}
	_, stderr, code := runSourceCLI(t, "", "scram-verifier")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "password on stdin is empty")
	fakeTerminal(t, "a", "b")
	_, stderr, code = runSourceCLI(t, "", "scram-verifier")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "the two passwords differ")
}
