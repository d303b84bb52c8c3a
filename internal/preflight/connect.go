package preflight

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ardent-cdc/ardent/internal/sqlgen"
)

func (r *runner) checkIPv4(ctx context.Context) {
	host := r.src.Config.Host
	if strings.HasPrefix(host, "/") {
		r.set(CheckIPv4, StatusWarn, fmt.Sprintf("%s is a unix-domain socket; Ardent connects over TCP/IPv4", host),
			"give the host name or IPv4 address Ardent can reach")
		return
	}
	if ip := net.ParseIP(host); ip != nil {
		if ip.To4() != nil {
			r.set(CheckIPv4, StatusPass, fmt.Sprintf("%s is an IPv4 address", host), "")
		} else {
			r.set(CheckIPv4, StatusFail, fmt.Sprintf("%s is an IPv6 address; IPv6-only hosts are not supported", host),
				"use the host's IPv4 address or a name that resolves to one")
		}
		return
	}
	pctx, cancel := r.probeCtx(ctx)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(pctx, host)
	if err != nil {
		r.set(CheckIPv4, StatusFail, fmt.Sprintf("cannot resolve %s: %s", host, r.errText(err)),
			"check the host name; it must resolve to an IPv4 address from Ardent's network")
		return
	}
	var v4 []string
	for _, a := range addrs {
		if a.IP.To4() != nil {
			v4 = append(v4, a.IP.String())
		}
	}
	if len(v4) == 0 {
		r.set(CheckIPv4, StatusFail, fmt.Sprintf("%s resolves only to IPv6 addresses; IPv6-only hosts are not supported", host),
			"publish an A record for the host or use its IPv4 address")
		return
	}
	r.set(CheckIPv4, StatusPass, fmt.Sprintf("%s resolves to %s", host, firstFew(v4, 3)), "")
}

// connect opens the regular session every later check uses.
func (r *runner) connect(ctx context.Context) bool {
	cfg := r.src.Config.Copy()
	cfg.ConnectTimeout = r.opts.ProbeTimeout
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = "ardent-preflight"
	pctx, cancel := r.probeCtx(ctx)
	defer cancel()
	conn, err := pgx.ConnectConfig(pctx, cfg)
	if err != nil {
		msg, remedy := r.classifyConnectError(err, r.src.Config.User)
		r.set(CheckConnect, StatusFail, msg, remedy)
		return false
	}
	r.conn = conn
	r.set(CheckConnect, StatusPass, fmt.Sprintf("connected to %s as %s (sslmode=%s)", r.src.Display(), r.src.Config.User, r.src.SSLMode), "")
	return true
}

// classifyConnectError turns a connection failure into a message and a
// remedy an operator can act on. Every branch is scrubbed by Run.
func (r *runner) classifyConnectError(err error, user string) (msg, remedy string) {
	where := r.src.Display()
	hostPort := net.JoinHostPort(r.src.Config.Host, strconv.Itoa(int(r.src.Config.Port)))
	var pgErr *pgconn.PgError
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	switch {
	case errors.As(err, &pgErr) && pgErr.Code == "28P01":
		return fmt.Sprintf("password authentication failed for role %q on %s", user, where),
			fmt.Sprintf("check the user and password (in the URL, --source-password-file or PGPASSWORD); to reset role %s's password without it reaching the server in clear, "+
				"generate the script with `ardent sql --set-password --password-file FILE` and apply it, or use psql's \\password %s", quoteIdent(user), quoteIdent(user))
	case errors.As(err, &pgErr) && pgErr.Code == "3D000":
		return fmt.Sprintf("database %q does not exist on %s", r.db(), hostPort),
			"check the database name in the URL (psql -l lists them)"
	case errors.As(err, &pgErr) && pgErr.Code == "28000" && strings.Contains(pgErr.Message, "pg_hba.conf"):
		return fmt.Sprintf("rejected by pg_hba.conf: %s", pgErr.Message),
			"add to pg_hba.conf, then reload (SELECT pg_reload_conf();): " + r.hbaLine()
	case errors.As(err, &pgErr) && (pgErr.Code == "42501" || pgErr.Code == "28000" && strings.Contains(pgErr.Message, "not permitted to log in")):
		return fmt.Sprintf("role %q may not log in: %s", user, pgErr.Message),
			fmt.Sprintf("ALTER ROLE %s LOGIN;", quoteIdent(user))
	case errors.As(err, &pgErr) && pgErr.Code == "53300":
		return fmt.Sprintf("%s has no free connection slots: %s", where, pgErr.Message),
			"close idle sessions or raise max_connections (restart needed)"
	case errors.As(err, &pgErr):
		return fmt.Sprintf("%s refused the session: %s (SQLSTATE %s)", where, pgErr.Message, pgErr.Code), ""
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot resolve host %q", r.src.Config.Host),
			"check the host name in the URL; it must resolve from Ardent's network"
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("connection refused by %s", hostPort),
			"check the port and that PostgreSQL listens on this address (listen_addresses); allow the egress IP through firewalls"
	case errors.As(err, &certErr) || errors.As(err, &unknownCA) || errors.As(err, &hostErr):
		return fmt.Sprintf("TLS certificate of %s not accepted: %s", hostPort, r.errText(err)),
			"give the CA that signed the server certificate with sslrootcert=..., or check that the URL's host matches the certificate"
	case strings.Contains(err.Error(), "server refused TLS connection"):
		return fmt.Sprintf("%s does not accept TLS (ssl is off)", hostPort),
			"enable TLS on the server: ssl = on with ssl_cert_file and ssl_key_file, then reload"
	case strings.Contains(err.Error(), "tls:") || strings.Contains(err.Error(), "x509:"):
		return fmt.Sprintf("TLS handshake with %s failed: %s", hostPort, r.errText(err)),
			"check the server's TLS configuration and the URL's sslmode/sslrootcert"
	case pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded) || isNetTimeout(err):
		return fmt.Sprintf("no answer from %s within %s", hostPort, r.opts.ProbeTimeout),
			fmt.Sprintf("allow inbound TCP from %s to port %d (firewall, security group)", r.egress(), r.src.Config.Port)
	default:
		return fmt.Sprintf("cannot connect to %s: %s", where, r.errText(err)), ""
	}
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (r *runner) egress() string {
	if r.opts.EgressIP != "" {
		return r.opts.EgressIP
	}
	return "Ardent's egress IP"
}

// hbaLine is the pg_hba.conf line that admits Ardent's regular and logical
// replication sessions alike (design.md 4.4: logical replication matches
// database lines, not the "replication" keyword).
func (r *runner) hbaLine() string {
	return sqlgen.HBALine(r.db(), r.role, r.opts.EgressIP)
}

func quoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }
