package pgurl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Conn is a parsed, validated connection string of a source or a
// destination. It is parsed once, at the boundary where a URL enters (the
// CLI, an activity), and handed down as this value: nothing below parses
// it again or looks for its password in text.
type Conn struct {
	// Side is "source" or "destination": the word errors use.
	Side string
	// Config is ready for pgx.ConnectConfig; its sslmode default is applied.
	Config *pgx.ConnConfig
	// SSLMode is the effective sslmode (explicit or defaulted).
	SSLMode string
	// conn is the normalised connection string; it holds the password and
	// is never exposed except through ConnString.
	conn string
}

// Sides of a connection.
const (
	SideSource      = "source"
	SideDestination = "destination"
)

// ParseSource validates a source's raw connection string (postgres:// or
// postgresql:// URL, or key=value DSN) and applies Ardent's sslmode
// default. The error never contains the password.
func ParseSource(raw string) (*Conn, error) { return parse(raw, SideSource) }

// ParseDestination is ParseSource for a PostgreSQL destination: the same
// rules (the destination gets the source's transport rule), errors that
// say destination.
func ParseDestination(raw string) (*Conn, error) { return parse(raw, SideDestination) }

func parse(raw, side string) (*Conn, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("%s URL is empty", side)
	}
	isURL := isURLForm(raw)
	if !isURL && strings.Contains(raw, "://") {
		return nil, fmt.Errorf("%s URL: scheme must be postgres:// or postgresql://", side)
	}
	if !isURL && !strings.Contains(raw, "=") {
		return nil, fmt.Errorf("%s URL: not a postgres:// URL nor a key=value connection string", side)
	}
	s := &Conn{Side: side, conn: raw}
	mode, explicit, rootcert := sslSettings(raw, isURL)
	if !explicit {
		mode = "require"
		if rootcert {
			mode = "verify-full"
		}
		s.conn = withParam(raw, isURL, "sslmode", mode)
	}
	s.SSLMode = mode
	cfg, err := pgx.ParseConfig(s.conn)
	if err != nil {
		return nil, fmt.Errorf("%s URL: %s", side, parseErrorText(err, raw))
	}
	if cfg.Host == "" || strings.HasPrefix(cfg.Host, "/") {
		// pgx falls back to a local unix socket when the URL names no host;
		// Ardent connects over TCP from its egress IP, never through one.
		return nil, fmt.Errorf("%s URL: no host: give the host name or IPv4 address Ardent connects to (postgres://user:password@HOST:5432/db)", side)
	}
	if cfg.Database == "" {
		return nil, fmt.Errorf("%s URL: no database name", side)
	}
	if cfg.User == "" {
		return nil, fmt.Errorf("%s URL: no user name", side)
	}
	s.Config = cfg
	return s, nil
}

func isURLForm(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Password returns the password given in the connection string ("" if none);
// callers use it only to Scrub text.
func (s *Conn) Password() string { return s.Config.Password }

// Display is "host:port/db", safe to print.
func (s *Conn) Display() string { return Display(&s.Config.Config) }

// Display formats a connection config as "host:port/db", safe to print.
func Display(cfg *pgconn.Config) string {
	host := cfg.Host
	if strings.HasPrefix(host, "/") {
		return host + ":" + strconv.Itoa(int(cfg.Port)) + "/" + cfg.Database
	}
	return net.JoinHostPort(host, strconv.Itoa(int(cfg.Port))) + "/" + cfg.Database
}

// Redact masks the password of a URL or DSN with "xxxxx". Input that cannot
// be parsed is still scrubbed of password-shaped fragments.
func Redact(raw string) string {
	if isURLForm(raw) {
		if u, err := url.Parse(raw); err == nil {
			if _, has := u.User.Password(); has {
				u.User = url.UserPassword(u.User.Username(), "xxxxx")
			}
			q := u.Query()
			if q.Has("password") {
				q.Set("password", "xxxxx")
				u.RawQuery = q.Encode()
			}
			return u.String()
		}
	}
	return Scrub(raw)
}

var (
	// password=value, password='quoted value', password = value (DSN), and
	// password=value& in URL queries.
	dsnPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&'"]+)`)
	// scheme://user:pass@ – the password runs to the last @ before the path.
	urlPassword = regexp.MustCompile(`(://[^:/@\s]*:)[^\s]*@`)
)

// Scrub removes the known passwords and any password-shaped fragment from
// text (driver errors can echo connection strings).
func Scrub(text string, passwords ...string) string {
	for _, p := range passwords {
		if p != "" {
			text = strings.ReplaceAll(text, p, "xxxxx")
			if e := url.QueryEscape(p); e != p {
				text = strings.ReplaceAll(text, e, "xxxxx")
			}
			if e := url.PathEscape(p); e != p {
				text = strings.ReplaceAll(text, e, "xxxxx")
			}
		}
	}
	text = dsnPassword.ReplaceAllString(text, "${1}xxxxx")
	return urlPassword.ReplaceAllString(text, "${1}xxxxx@")
}

// parseErrorText keeps pgx's reason but drops its echo of the input.
func parseErrorText(err error, raw string) string {
	msg := err.Error()
	var pce *pgconn.ParseConfigError
	if errors.As(err, &pce) {
		if i := strings.LastIndex(msg, "`: "); i >= 0 {
			msg = msg[i+3:]
		}
	}
	pw := ""
	if u, perr := url.Parse(raw); perr == nil && u.User != nil {
		pw, _ = u.User.Password()
	}
	return Scrub(msg, pw)
}

// sslSettings reports the sslmode written in the connection string, whether
// it was written at all, and whether sslrootcert was given.
func sslSettings(raw string, isURL bool) (mode string, explicit, rootcert bool) {
	if isURL {
		u, err := url.Parse(raw)
		if err != nil {
			// net/url rejects some inputs pgx accepts (quotes in the
			// password, several hosts): read the query by hand.
			i := strings.Index(raw, "?")
			if i < 0 {
				return "", false, false
			}
			q, _ := url.ParseQuery(raw[i+1:])
			return q.Get("sslmode"), q.Has("sslmode"), q.Get("sslrootcert") != ""
		}
		q := u.Query()
		return q.Get("sslmode"), q.Has("sslmode"), q.Get("sslrootcert") != ""
	}
	for _, kv := range dsnPairs(raw) {
		switch kv[0] {
		case "sslmode":
			mode, explicit = kv[1], true
		case "sslrootcert":
			rootcert = kv[1] != ""
		}
	}
	return mode, explicit, rootcert
}

var dsnPair = regexp.MustCompile(`([A-Za-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

func dsnPairs(raw string) [][2]string {
	var out [][2]string
	for _, m := range dsnPair.FindAllStringSubmatch(raw, -1) {
		v := m[2]
		if strings.HasPrefix(v, "'") && strings.HasSuffix(v, "'") && len(v) >= 2 {
			v = v[1 : len(v)-1]
		}
		out = append(out, [2]string{strings.ToLower(m[1]), v})
	}
	return out
}

// withParam sets one connection parameter, replacing an existing value.
func withParam(raw string, isURL bool, key, value string) string {
	if isURL {
		u, err := url.Parse(raw)
		if err != nil {
			// Multi-host URLs do not satisfy net/url; append textually and
			// let pgx, which understands them, judge the result.
			sep := "?"
			if strings.Contains(raw, "?") {
				sep = "&"
			}
			return raw + sep + key + "=" + value
		}
		q := u.Query()
		q.Set(key, value)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return raw + " " + key + "=" + value
}
