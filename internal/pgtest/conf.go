package pgtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Options selects the variant of cluster a test needs. Zero values mean the
// defaults; to set a setting to zero (e.g. no replication slots), use
// ExtraConf, whose lines come last and win.
type Options struct {
	WalLevel            string   // "logical" (default) or "replica"
	MaxWalSenders       int      // default 10
	MaxReplicationSlots int      // default 10
	SSL                 bool     // ssl=on, self-signed cert generated for this cluster
	PasswordAuth        bool     // pg_hba: superuser "postgres" trusted on loopback; every other role needs scram-sha-256
	ExtraConf           []string // extra postgresql.conf lines, e.g. "max_slot_wal_keep_size = 64MB"
}

func (o Options) withDefaults() Options {
	if o.WalLevel == "" {
		o.WalLevel = "logical"
	}
	if o.MaxWalSenders == 0 {
		o.MaxWalSenders = 10
	}
	if o.MaxReplicationSlots == 0 {
		o.MaxReplicationSlots = 10
	}
	return o
}

// confFile is included from postgresql.conf. Keeping our settings in their
// own file lets a retry on another port or a standby rewrite them without
// touching the rest, while ALTER SYSTEM (postgresql.auto.conf, read last)
// still overrides them as it would in production.
const confFile = "pgtest.conf"

func renderConf(dataDir string, port int, opts Options) string {
	opts = opts.withDefaults()
	lines := []string{
		"# Written by internal/pgtest: settings for throwaway test clusters only.",
		"listen_addresses = '127.0.0.1'",
		fmt.Sprintf("port = %d", port),
		fmt.Sprintf("unix_socket_directories = '%s'", dataDir),
		"fsync = off",
		"full_page_writes = off",
		"synchronous_commit = off",
		fmt.Sprintf("wal_level = %s", opts.WalLevel),
		fmt.Sprintf("max_wal_senders = %d", opts.MaxWalSenders),
		fmt.Sprintf("max_replication_slots = %d", opts.MaxReplicationSlots),
		"shared_buffers = 32MB",
		"max_connections = 100",
		"hot_standby = on",
		"log_line_prefix = '%m [%p] %q%u@%d '",
		"log_timezone = 'UTC'",
		"timezone = 'UTC'",
	}
	if opts.SSL {
		lines = append(lines, "ssl = on", "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'")
	} else {
		lines = append(lines, "ssl = off")
	}
	lines = append(lines, opts.ExtraConf...)
	return strings.Join(lines, "\n") + "\n"
}

// renderHBA admits the superuser without a password (the harness and
// pg_basebackup need it) and holds every other role to the options, so a
// test connecting as an ordinary role exercises real authentication.
// Logical replication connections match the database lines (design.md 4.4).
func renderHBA(opts Options) string {
	method := "trust"
	if opts.PasswordAuth {
		method = "scram-sha-256"
	}
	hostType := "host"
	if opts.SSL {
		hostType = "hostssl"
	}
	return strings.Join([]string{
		"# Written by internal/pgtest.",
		"local     all          all                    trust",
		"host      all          postgres  127.0.0.1/32 trust",
		"host      replication  postgres  127.0.0.1/32 trust",
		fmt.Sprintf("%-9s all          all       127.0.0.1/32 %s", hostType, method),
	}, "\n") + "\n"
}

// writeConfig (re)writes our settings, pg_hba.conf and, with SSL, the
// certificate (kept if present, so a standby and a restarted dev cluster
// keep theirs).
func writeConfig(own owner, dataDir string, port int, opts Options) error {
	main := filepath.Join(dataDir, "postgresql.conf")
	body, err := os.ReadFile(main)
	if err != nil {
		return fmt.Errorf("read %s: %w", main, err)
	}
	include := fmt.Sprintf("include '%s'", confFile)
	if !strings.Contains(string(body), include) {
		body = append(body, []byte("\n"+include+"\n")...)
		if err := own.writeFile(main, body, 0o600); err != nil {
			return err
		}
	}
	if err := own.writeFile(filepath.Join(dataDir, confFile), []byte(renderConf(dataDir, port, opts)), 0o600); err != nil {
		return err
	}
	if err := own.writeFile(filepath.Join(dataDir, "pg_hba.conf"), []byte(renderHBA(opts)), 0o600); err != nil {
		return err
	}
	if !opts.SSL {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dataDir, "server.key")); err == nil {
		return nil
	}
	certPEM, keyPEM, err := selfSignedCert()
	if err != nil {
		return err
	}
	if err := own.writeFile(filepath.Join(dataDir, "server.crt"), certPEM, 0o600); err != nil {
		return err
	}
	return own.writeFile(filepath.Join(dataDir, "server.key"), keyPEM, 0o600)
}
