package pgurl

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// Password surgery on raw connection strings: what the CLI needs to put a
// password it read from a file or a prompt into a URL before the URL is
// sealed, and to replace a stored URL's password (`credentials set`),
// leaving everything else as it was. Both forms are handled: postgres://
// URLs (user info or a password= query parameter) and key=value strings.

// Parse is ParseSource or ParseDestination, by side.
func Parse(side, raw string) (*Conn, error) {
	if side == SideDestination {
		return ParseDestination(raw)
	}
	return ParseSource(raw)
}

// HasPassword tells whether the connection string itself carries a
// password (an empty one included), whatever the environment says.
func HasPassword(raw string) bool {
	raw = strings.TrimSpace(raw)
	if isURLForm(raw) {
		u, err := url.Parse(raw)
		if err != nil {
			return false
		}
		if _, has := u.User.Password(); has {
			return true
		}
		return u.Query().Has("password")
	}
	spans, err := dsnSpans(raw)
	if err != nil {
		return dsnPasswordKey.MatchString(raw) // malformed: as pgx would read the key
	}
	for _, p := range spans {
		if p.key == "password" {
			return true
		}
	}
	return false
}

var dsnPasswordKey = regexp.MustCompile(`(?i)(^|\s)password\s*=`)

// ErrCannotEdit: the connection string cannot be taken apart safely (a
// multi-host URL net/url rejects, an unterminated quote).
var ErrCannotEdit = errors.New("the connection string cannot take a new password")

// WithoutPassword is raw with its password removed, everything else as it
// was.
func WithoutPassword(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	var out string
	if isURLForm(raw) {
		u, err := url.Parse(raw)
		if err != nil {
			return "", ErrCannotEdit
		}
		if u.User != nil {
			u.User = url.User(u.User.Username())
		}
		q := u.Query()
		if q.Has("password") {
			q.Del("password")
			u.RawQuery = q.Encode()
		}
		out = u.String()
	} else {
		spans, err := dsnSpans(raw)
		if err != nil {
			return "", ErrCannotEdit
		}
		var kept []string
		for _, p := range spans {
			if p.key != "password" {
				kept = append(kept, raw[p.start:p.end])
			}
		}
		out = strings.Join(kept, " ")
	}
	if HasPassword(out) {
		return "", ErrCannotEdit
	}
	return out, nil
}

// WithPassword writes pw into raw, which has none (WithoutPassword), and
// checks that the result parses back with exactly pw. user names the user
// of a URL that has none in its user info.
func WithPassword(side, raw, user, pw string) (string, error) {
	raw = strings.TrimSpace(raw)
	var out string
	if isURLForm(raw) {
		u, err := url.Parse(raw)
		if err != nil {
			return "", ErrCannotEdit
		}
		if u.User != nil {
			user = u.User.Username()
		}
		u.User = url.UserPassword(user, pw)
		out = u.String()
	} else {
		out = raw + " password='" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw) + "'"
	}
	conn, err := Parse(side, out)
	if err != nil || conn.Password() != pw {
		return "", ErrCannotEdit
	}
	return out, nil
}

// dsnSpan is one key=value pair of a key=value connection string: its
// (lower-case) key and where the pair is in the string.
type dsnSpan struct {
	key        string
	start, end int
}

// dsnSpans splits a key=value connection string as libpq and pgx read it:
// a value is quoted ('...', backslash escapes) or runs to white space
// (backslash escapes too).
func dsnSpans(s string) ([]dsnSpan, error) {
	isSpace := func(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f' }
	var out []dsnSpan
	i := 0
	for {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i == len(s) {
			return out, nil
		}
		start := i
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 {
			return nil, errors.New("invalid keyword/value")
		}
		key := strings.ToLower(strings.TrimSpace(s[i : i+eq]))
		i += eq + 1
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i < len(s) && s[i] == '\'' {
			i++
			for i < len(s) && s[i] != '\'' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
			if i >= len(s) {
				return nil, errors.New("unterminated quoted string")
			}
			i++
		} else {
			for i < len(s) && !isSpace(s[i]) {
				if s[i] == '\\' {
					i++
				}
				i++
			}
			i = min(i, len(s))
		}
		out = append(out, dsnSpan{key: key, start: start, end: i})
	}
}
