package main

import (
	"strconv"
	"strings"

	"github.com/ardent-cdc/ardent/internal/pgurl"
)

// redacted stands in for an argument that looked like it held a secret.
const redacted = "<redacted>"

// errorText is what the CLI prints for err: cobra echoes stray arguments and
// bad flag values verbatim, and an unquoted connection string on the command
// line (`--source host=db password=s3cret ...`) turns its password into such
// an argument. Every argument that looks like it carries a password is
// replaced, in raw and in quoted form, and password-shaped fragments are
// scrubbed.
func errorText(err error, args []string) string {
	msg := err.Error()
	for _, a := range args {
		if !secretLooking(a) {
			continue
		}
		msg = strings.ReplaceAll(msg, a, redacted)
		if q := strconv.Quote(a); len(q) > 2 {
			msg = strings.ReplaceAll(msg, q[1:len(q)-1], redacted)
		}
	}
	msg = pgurl.Scrub(msg)
	if strings.HasPrefix(msg, "unknown command ") && strings.Contains(msg, ` for "ardent `) && strings.Contains(msg, redacted) {
		msg += ": quote a connection string that contains spaces, e.g. --source 'host=db user=ardent password=... dbname=app'"
	}
	return msg
}

func secretLooking(arg string) bool {
	low := strings.ToLower(arg)
	if strings.Contains(low, "password") || strings.Contains(low, "passwd") {
		return true
	}
	// user:password@ in a URL.
	if i := strings.Index(arg, "://"); i >= 0 {
		rest := arg[i+3:]
		at := strings.LastIndex(rest, "@")
		return at > 0 && strings.Contains(rest[:at], ":")
	}
	return false
}
