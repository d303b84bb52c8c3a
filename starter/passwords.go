package main

// Passwords the CLI takes without anyone typing them into a URL (where
// `ps` and the shell history would show them):
//
//   - A connection URL without a password gets one from the command's
//     --source-password-file / --destination-password-file, then from
//     PGPASSWORD, then from the password or service file libpq and pgx read
//     (~/.pgpass, PGPASSFILE), then from a prompt when stdin is a terminal.
//     Otherwise it stays without one, and a failed connect check says so.
//     The password found is written into the URL before anything uses it,
//     so `onboard` seals it with the URL and the worker gets it.
//   - The password of the role `ardent sql` creates comes from
//     --password-file or a prompt (asked twice); only its SCRAM-SHA-256
//     verifier leaves this process.
//
// A password file, like libpq's .pgpass, is refused when group or others
// may access it; "-" reads it from stdin. An empty password is refused.
// No password is ever printed, not even in an error.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/scram"
)

// maxPasswordFile bounds what a password file may hold: it is a password,
// not a document.
const maxPasswordFile = 4096

// stdinFile names stdin as a password file.
const stdinFile = "-"

// readPasswordFile reads the password in file (stdinFile: from in). what
// names the file in errors ("source password file"); every problem is a
// usage error (exit 2).
func readPasswordFile(what, file string, in io.Reader) (string, error) {
	var r io.Reader = in
	if file != stdinFile {
		st, err := os.Stat(file)
		if err != nil {
			return "", usageErr("%s: %w", what, err)
		}
		if st.IsDir() {
			return "", usageErr("%s %s is a directory", what, file)
		}
		if perm := st.Mode().Perm(); perm&0o077 != 0 {
			return "", usageErr("%s %s has mode %04o: group and others must have no access, as for libpq's .pgpass (chmod 600 %s)",
				what, file, perm, file)
		}
		f, err := os.Open(file)
		if err != nil {
			return "", usageErr("%s: %w", what, err)
		}
		defer f.Close()
		r = f
	} else {
		file = "on stdin"
	}
	b, err := io.ReadAll(io.LimitReader(r, maxPasswordFile+1))
	if err != nil {
		return "", usageErr("read %s %s: %w", what, file, err)
	}
	if len(b) > maxPasswordFile {
		return "", usageErr("%s %s holds more than %d bytes: it should hold only the password", what, file, maxPasswordFile)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	switch {
	case pw == "":
		return "", usageErr("%s %s is empty", what, file)
	case strings.ContainsAny(pw, "\r\n"):
		return "", usageErr("%s %s holds more than one line: it should hold only the password", what, file)
	}
	return pw, nil
}

// askPassword asks for a password on the terminal that in is, without
// echo, writing prompt to out; ok is false (and nothing is asked) when in is
// not a terminal. A test seam: a test binary's stdin is never a terminal
// (e2e/passwords_test.go drives the real one through a pseudo-terminal).
var askPassword = func(ctx context.Context, in io.Reader, out io.Writer, prompt string) (pw string, ok bool, err error) {
	f, isFile := in.(*os.File)
	if !isFile || !term.IsTerminal(int(f.Fd())) {
		return "", false, nil
	}
	fd := int(f.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return "", true, fmt.Errorf("terminal: %w", err)
	}
	fmt.Fprint(out, prompt)
	type answer struct {
		b   []byte
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		ch <- answer{b, err}
	}()
	select {
	case a := <-ch:
		fmt.Fprintln(out)
		return string(a.b), true, a.err
	case <-ctx.Done():
		// Ctrl-C while the echo is off: give the terminal back as it was.
		_ = term.Restore(fd, state)
		fmt.Fprintln(out)
		return "", true, ctx.Err()
	}
}

// askNewPassword asks twice for a new password; ok is false when stdin is
// not a terminal.
func askNewPassword(cmd *cobra.Command, c *cli, prompt string) (pw string, ok bool, err error) {
	pw, ok, err = askPassword(cmd.Context(), cmd.InOrStdin(), c.errOut, prompt)
	if !ok || err != nil {
		return "", ok, err
	}
	if pw == "" {
		return "", true, usageErr("empty password: an empty password is refused")
	}
	again, _, err := askPassword(cmd.Context(), cmd.InOrStdin(), c.errOut, "Again: ")
	if err != nil {
		return "", true, err
	}
	if again != pw {
		return "", true, usageErr("the two passwords differ: nothing was changed")
	}
	return pw, true, nil
}

// verifierOf is the SCRAM-SHA-256 verifier of pw; a password no client
// could log in with is a usage error.
func verifierOf(pw string) (string, error) {
	v, err := scram.Verifier(pw)
	if errors.Is(err, scram.ErrEmpty) || errors.Is(err, scram.ErrNotNormalized) {
		return "", usageErr("%w", err)
	}
	return v, err
}

// urlPasswords are a command's --source-password-file and
// --destination-password-file flags.
type urlPasswords struct {
	sides []string
	files map[string]*string
}

// register adds one --SIDE-password-file flag per side, in the order fill
// takes the URLs.
func (p *urlPasswords) register(cmd *cobra.Command, sides ...string) {
	p.sides = sides
	p.files = map[string]*string{}
	for _, side := range sides {
		p.files[side] = cmd.Flags().String(side+"-password-file", "",
			fmt.Sprintf("file holding the %s password when the URL has none (mode 600; - for stdin); "+
				"else PGPASSWORD, ~/.pgpass, or a prompt on a terminal", side))
	}
}

// fill gives each URL (one per registered side, in order) a password when
// it has none. A URL that does not parse is left to the command's own
// validation.
func (p *urlPasswords) fill(cmd *cobra.Command, c *cli, urls ...*string) error {
	if len(urls) != len(p.sides) {
		return fmt.Errorf("internal: %d URLs for %d password flags", len(urls), len(p.sides))
	}
	stdinUsers := 0
	for _, side := range p.sides {
		if *p.files[side] == stdinFile {
			stdinUsers++
		}
	}
	if stdinUsers > 1 {
		return usageErr("only one password file can be stdin (-)")
	}
	for i, side := range p.sides {
		withPW, err := withPassword(cmd, c, side, *urls[i], *p.files[side])
		if err != nil {
			return err
		}
		*urls[i] = withPW
	}
	return nil
}

// withPassword returns raw with a password when it has none; see the top
// of this file for where it comes from.
func withPassword(cmd *cobra.Command, c *cli, side, raw, file string) (string, error) {
	if raw == "" {
		return raw, nil
	}
	conn, err := pgurl.Parse(side, raw)
	if err != nil {
		return raw, nil // the command reports it
	}
	what := side + " password file"
	if pgurl.HasPassword(raw) {
		if file != "" {
			return "", usageErr("the %s URL has a password and a %s is given too: give one", side, what)
		}
		return raw, nil
	}
	pw := ""
	switch {
	case file != "":
		if pw, err = readPasswordFile(what, file, cmd.InOrStdin()); err != nil {
			return "", err
		}
	case conn.Password() != "":
		// The URL has none: pgx took it from PGPASSWORD, else from the
		// password file (~/.pgpass, PGPASSFILE) or the service file.
		pw = conn.Password()
	default:
		prompt := fmt.Sprintf("Password for %s@%s (%s): ", conn.Config.User, conn.Display(), side)
		answer, ok, err := askPassword(cmd.Context(), cmd.InOrStdin(), c.errOut, prompt)
		switch {
		case err != nil:
			return "", fmt.Errorf("read the %s password: %w", side, err)
		case !ok:
			return raw, nil
		case answer == "":
			return "", usageErr("empty %s password: refused (a server that needs none: write an empty one in the URL, "+
				"postgres://USER:@HOST/DB, or run without a terminal on stdin)", side)
		}
		pw = answer
	}
	out, err := pgurl.WithPassword(side, raw, conn.Config.User, pw)
	if err != nil {
		return "", fmt.Errorf("could not add the %s password to the %s URL: give the password in the URL", side, side)
	}
	return out, nil
}
