// Command devpg manages the long-lived PostgreSQL clusters of the local dev
// stack (scripts/dev-up.sh, scripts/dev-down.sh) with the same code the
// tests use (internal/pgtest), so both get identical settings, certificates
// and pg_hba rules, and the server runs as the "postgres" OS user when we
// are root.
//
//	devpg up   -dir DIR -port PORT [-ssl] [-password-auth] [-wal-level logical]
//	devpg down -dir DIR
//	devpg status -dir DIR   (exit 0 when running)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ardent-cdc/ardent/internal/pgtest"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "devpg:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: devpg up|down|status -dir DIR [flags]")
	}
	fs := flag.NewFlagSet("devpg "+args[0], flag.ContinueOnError)
	dir := fs.String("dir", "", "cluster directory (PGDATA is DIR/data, log DIR/server.log)")
	port := fs.Int("port", 0, "loopback TCP port")
	ssl := fs.Bool("ssl", false, "ssl=on with a self-signed certificate")
	password := fs.Bool("password-auth", false, "roles other than postgres need scram-sha-256")
	walLevel := fs.String("wal-level", "logical", "wal_level")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *dir == "" {
		return fmt.Errorf("-dir is required")
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", *dir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	switch args[0] {
	case "up":
		if *port == 0 {
			return fmt.Errorf("-port is required")
		}
		opts := pgtest.Options{WalLevel: *walLevel, SSL: *ssl, PasswordAuth: *password}
		before := settings(abs)
		if err := pgtest.Init(ctx, abs, *port, opts); err != nil {
			return err
		}
		// Only a change of settings (port, wal_level, ...) justifies
		// restarting a running server under a connected worker.
		if settings(abs) != before {
			if err := pgtest.StopDir(ctx, abs); err != nil {
				return err
			}
		}
		return pgtest.StartDir(ctx, abs)
	case "down":
		return pgtest.StopDir(ctx, abs)
	case "status":
		up, err := pgtest.RunningDir(ctx, abs)
		if err != nil {
			return err
		}
		if !up {
			return fmt.Errorf("cluster %s is not running", abs)
		}
		return nil
	default:
		return fmt.Errorf("unknown command %q (want up, down or status)", args[0])
	}
}

// settings returns the files Init writes, to tell whether it changed them.
func settings(dir string) string {
	var all []byte
	for _, name := range []string{"pgtest.conf", "pg_hba.conf"} {
		b, _ := os.ReadFile(filepath.Join(dir, "data", name))
		all = append(all, b...)
	}
	return string(all)
}
