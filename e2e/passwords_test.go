package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/scram"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

const passwordsSeed = `
CREATE SCHEMA shop;
CREATE TABLE shop.items (id bigint PRIMARY KEY, note text);
INSERT INTO shop.items SELECT g, 'item ' || g FROM generate_series(1, 200) g;
`

// TestPasswordsEndToEnd: the passwords of issue 15 with real parts. On a
// source that logs every statement, the generated SQL (password from a
// file) leaves no clear password in the server log, and a clear password
// given by mistake in psql's variable is refused before the server sees
// it. Connector A onboards database app with its password in a file, not
// in the URL. The script generated for a second database of the cluster
// with a NEW password leaves the role's password alone, connector B
// onboards app2 with the FIRST password (from PGPASSWORD), and A keeps
// streaming. A group-readable password file is refused; --set-password
// replaces the password.
func TestPasswordsEndToEnd(t *testing.T) {
	s := newStack(t)
	s.src.Exec(t, "postgres", "ALTER SYSTEM SET log_statement = 'all'")
	s.src.Reload(t)
	s.src.CreateDatabase(t, "app2")
	for _, db := range []string{"app", "app2"} {
		s.src.Exec(t, db, passwordsSeed)
	}
	s.dst.CreateDatabase(t, "destination2")
	pw1, pw2, pw3 := randomPassword(t), randomPassword(t), randomPassword(t)
	file1, file2 := passwordFile(t, pw1), passwordFile(t, pw2)
	noPassword := func(db string) string { return s.src.URLFor("ardent", "", db) }

	// 1. The script for app, password from a file: it holds a verifier only.
	script := s.sqlScript("app", "--password-file", file1)
	body, err := os.ReadFile(script)
	require.NoError(t, err)
	require.NotContains(t, string(body), pw1)
	require.Contains(t, string(body), "SCRAM-SHA-256$4096:")
	s.psql(s.src.URL("app"), "-f", script)
	require.True(t, s.canLogin(pw1, "app"))

	// 2. A script without a verifier refuses a clear password in psql's
	// variable, naming the command that makes a verifier.
	generic := filepath.Join(t.TempDir(), "generic.sql")
	out, code := s.ardentStdout(generic, "sql", "--source", s.src.URL("app2"), "--schema", "shop", "--role", "ardent")
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "ardent_password=\"$(ardent scram-verifier)\"", "the note on stderr")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err = pgtest.Psql(ctx, s.src.URL("app2"), "-v", "ON_ERROR_STOP=1", "-v", "ardent_password="+pw3, "-f", generic)
	require.Error(t, err, out)
	require.Contains(t, out, "ardent scram-verifier")
	require.NotContains(t, out, pw3)

	// 3. Connector A on app: the password from --source-password-file.
	s.startWorker()
	out, code = s.ardent("onboard", "--name", "a", "--source", noPassword("app"), "--source-password-file", file1,
		"--destination", s.dst.URL("destination"), "--schema", "shop")
	require.Equal(t, 0, code, out)
	s.waitStage("a", "streaming", 2*time.Minute)

	// 4. The script for app2 made with a NEW password, without
	// --set-password: the role exists and keeps its password.
	script2 := s.sqlScript("app2", "--password-file", file2)
	body, err = os.ReadFile(script2)
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(body), "An existing role KEEPS its password"), "the script says what it does")
	s.psql(s.src.URL("app2"), "-f", script2)
	require.True(t, s.canLogin(pw1, "app2"), "the first password still logs in")
	require.False(t, s.canLogin(pw2, "app2"), "the second password was not set")

	// 5. Connector B on app2 with the FIRST password, from PGPASSWORD: onboard
	// puts it into the sealed URL, so the worker has it.
	out, code = s.RunEnv(t, []string{"PGPASSWORD=" + pw1}, "onboard", "--name", "b", "--source", noPassword("app2"),
		"--destination", s.dst.URL("destination2"), "--schema", "shop")
	require.Equal(t, 0, code, out)
	s.waitStage("b", "streaming", 2*time.Minute)

	// 6. Both stream: A was not broken by the second script.
	s.src.Exec(t, "app", "INSERT INTO shop.items VALUES (100001, 'after the second script')")
	s.src.Exec(t, "app2", "INSERT INTO shop.items VALUES (100002, 'connector b')")
	require.Eventually(t, func() bool {
		return sameRows(s.src.URL("app"), s.dst.URL("destination"), "shop.items") &&
			sameRows(s.src.URL("app2"), s.dst.URL("destination2"), "shop.items")
	}, time.Minute, time.Second, "a connector stopped streaming: %s", s.workerOutput())
	st, _ := s.status("a")
	require.Equal(t, "streaming", st.Stage)

	// 7. The server logged every statement, and no clear password.
	log, err := os.ReadFile(s.src.LogFile)
	require.NoError(t, err)
	require.True(t, bytes.Contains(log, []byte("statement: CREATE ROLE ardent LOGIN REPLICATION PASSWORD '")),
		"log_statement = all is in effect (%s)", s.src.LogFile)
	for i, pw := range []string{pw1, pw2, pw3} {
		require.False(t, bytes.Contains(log, []byte(pw)), "password %d is in the source's server log", i+1)
	}
	s.assertSecretAbsent(pw1, "a")

	// 8. Bad input: a password file group and others may read.
	// (Not under t.TempDir(): the CLI redacts arguments that contain
	// "password", as this test's name does.)
	openDir, err := os.MkdirTemp("", "ardent-e2e-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(openDir) })
	open := filepath.Join(openDir, "open")
	require.NoError(t, os.WriteFile(open, []byte(pw1+"\n"), 0o600))
	require.NoError(t, os.Chmod(open, 0o640))
	for _, args := range [][]string{
		{"sql", "--schema", "shop", "--password-file", open},
		{"preflight", "--source", noPassword("app"), "--source-password-file", open},
		{"onboard", "--name", "c", "--source", noPassword("app"), "--source-password-file", open,
			"--destination", s.dst.URL("destination"), "--schema", "shop"},
	} {
		out, code = s.ardent(args...)
		require.Equal(t, 2, code, "%s: %s", args[0], out)
		require.Contains(t, out, "has mode 0640: group and others must have no access", args[0])
		require.Contains(t, out, "chmod 600 "+open)
		require.NotContains(t, out, pw1)
	}
	_, ok := s.status("c")
	require.False(t, ok, "nothing was onboarded")

	// 9. --set-password replaces the password: the old one no longer logs in.
	s.psql(s.src.URL("app"), "-f", s.sqlScript("app", "--password-file", file2, "--set-password"))
	require.True(t, s.canLogin(pw2, "app"))
	require.False(t, s.canLogin(pw1, "app"), "the old password still logs in")
	log, err = os.ReadFile(s.src.LogFile)
	require.NoError(t, err)
	require.False(t, bytes.Contains(log, []byte(pw2)), "the new password is in the source's server log")
}

// canLogin tells whether role ardent logs in to db with password.
func (s *stack) canLogin(password, db string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.src.URLFor("ardent", password, db))
	if err != nil {
		return false
	}
	_ = conn.Close(ctx)
	return true
}

// ardentStdout runs the CLI with its stdout into file and returns its
// stderr and exit code.
func (s *stack) ardentStdout(file string, args ...string) (string, int) {
	s.t.Helper()
	bin, _ := temporaltest.BuildBinaries(s.t)
	f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	require.NoError(s.t, err)
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = temporaltest.Environ(s.Env...)
	cmd.Stdout, cmd.Stderr = f, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stderr.String(), ee.ExitCode()
	}
	require.NoError(s.t, err)
	return stderr.String(), 0
}

// TestPasswordPrompts drives the real binary through a pseudo-terminal
// (util-linux `script`): the prompts appear, what is typed is never echoed,
// the two answers must agree, and an empty answer is refused (exit 2).
func TestPasswordPrompts(t *testing.T) {
	bin, _ := temporaltest.BuildBinaries(t)
	if _, err := exec.LookPath("script"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("script (util-linux) is needed for the terminal tests")
		}
		t.Skip("script (util-linux) is not installed")
	}
	const secret = "Typed-s3cret'$"

	tty := startTerminal(t, bin, "scram-verifier")
	tty.answer("Password: ", secret)
	tty.answer("Again: ", secret)
	out, code := tty.wait()
	require.Equal(t, 0, code, out)
	v := regexp.MustCompile(`SCRAM-SHA-256\$\S+`).FindString(out)
	require.True(t, scram.Matches(v, secret), out)
	require.NotContains(t, out, "s3cret", "the password was echoed")

	tty = startTerminal(t, bin, "scram-verifier")
	tty.answer("Password: ", secret)
	tty.answer("Again: ", secret+"x")
	out, code = tty.wait()
	require.Equal(t, 2, code, out)
	require.Contains(t, out, "the two passwords differ")
	require.NotContains(t, out, "s3cret")

	tty = startTerminal(t, bin, "preflight", "--source", "postgres://ardent@127.0.0.1:1/app?sslmode=disable")
	tty.answer("Password for ardent@127.0.0.1:1/app (source): ", "")
	out, code = tty.wait()
	require.Equal(t, 2, code, out)
	require.Contains(t, out, "empty source password: refused")
}

// terminal is a CLI run on a pseudo-terminal of its own.
type terminal struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin interface{ Write([]byte) (int, error) }
	out   *lockedOutput
	tty   string // the pseudo-terminal's device, for stty
	seen  int    // output already matched
}

type lockedOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *lockedOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *lockedOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func startTerminal(t *testing.T, bin string, args ...string) *terminal {
	t.Helper()
	dir := t.TempDir()
	ttyFile := filepath.Join(dir, "tty")
	line := "tty >" + shellQuote(ttyFile) + "; exec " + shellQuote(bin)
	for _, a := range args {
		line += " " + shellQuote(a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, "script", "-qfec", line, "/dev/null")
	cmd.Env = append(temporaltest.Environ("ARDENT_CATALOG_URL="), "PGPASSWORD=", "PGPASSFILE="+filepath.Join(dir, "none"))
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	out := &lockedOutput{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	term := &terminal{t: t, cmd: cmd, stdin: stdin, out: out}
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(ttyFile)
		term.tty = strings.TrimSpace(string(b))
		return err == nil && strings.HasPrefix(term.tty, "/dev/")
	}, 10*time.Second, 20*time.Millisecond, "no terminal: %s", out.String())
	return term
}

// answer waits for prompt and for the terminal's echo to be off, then
// types text and Enter.
func (tt *terminal) answer(prompt, text string) {
	tt.t.Helper()
	require.Eventually(tt.t, func() bool {
		i := strings.Index(tt.out.String()[tt.seen:], prompt)
		if i < 0 {
			return false
		}
		st, err := exec.Command("stty", "-F", tt.tty, "-a").Output()
		if err != nil || !regexp.MustCompile(`(^|\s)-echo(\s|$)`).Match(st) {
			return false
		}
		tt.seen += i + len(prompt)
		return true
	}, 20*time.Second, 20*time.Millisecond, "no prompt %q with echo off: %s", prompt, tt.out.String())
	_, err := tt.stdin.Write([]byte(text + "\r"))
	require.NoError(tt.t, err)
}

// wait returns the run's output and exit code.
func (tt *terminal) wait() (string, int) {
	tt.t.Helper()
	err := tt.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return tt.out.String(), ee.ExitCode()
	}
	require.NoError(tt.t, err, tt.out.String())
	return tt.out.String(), 0
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
