// Command devpg manages the long-lived PostgreSQL clusters of the local dev
// stack (scripts/dev-up.sh, scripts/dev-down.sh) with the same code the
// tests use (internal/pgtest), so both get identical settings, certificates
// and pg_hba rules, and the server runs as the "postgres" OS user when we
// are root.
//
//	devpg up     -dir DIR -port PORT [-ssl] [-password-auth] [-wal-level logical]
//	devpg down   -dir DIR
//	devpg status -dir DIR   (exit 0 when running)
//	devpg purge  -dir DIR   (stop, and delete the cluster's data)
//
// Where the data lives: in DIR, unless the server's OS user cannot enter
// DIR's parent (root, with the checkout in a home folder of mode 0700). Then
// up puts the cluster in /var/tmp/ardent-<uid>/<hash of DIR>/<name of DIR>
// (each level mode 0700, owned by postgres) and makes DIR a symbolic link to
// it, so DIR still names the cluster for every script and person. A managed
// directory whose link is gone was deleted with .dev: up stops it and starts
// over, as it would in DIR.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
		return fmt.Errorf("usage: devpg up|down|status|purge -dir DIR [flags]")
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
		data, err := place(ctx, abs)
		if err != nil {
			return err
		}
		opts := pgtest.Options{WalLevel: *walLevel, SSL: *ssl, PasswordAuth: *password}
		before := settings(data)
		if err := pgtest.Init(ctx, data, *port, opts); err != nil {
			return err
		}
		// Only a change of settings (port, wal_level, ...) justifies
		// restarting a running server under a connected worker.
		if settings(data) != before {
			if err := pgtest.StopDir(ctx, data); err != nil {
				return err
			}
		}
		return pgtest.StartDir(ctx, data)
	case "down":
		data, ok, err := existing(abs)
		if err != nil || !ok {
			return err
		}
		return pgtest.StopDir(ctx, data)
	case "status":
		data, ok, err := existing(abs)
		if err != nil {
			return err
		}
		up := false
		if ok {
			if up, err = pgtest.RunningDir(ctx, data); err != nil {
				return err
			}
		}
		if !up {
			return fmt.Errorf("cluster %s is not running", abs)
		}
		return nil
	case "purge":
		data, ok, err := existing(abs)
		if err != nil || !ok {
			return err
		}
		if err := pgtest.StopDir(ctx, data); err != nil {
			return err
		}
		if err := os.RemoveAll(data); err != nil {
			return fmt.Errorf("remove %s: %w", data, err)
		}
		if data == abs {
			return nil
		}
		// The managed directories go too once empty.
		if base, _, err := managed(abs); err == nil {
			_ = os.Remove(base)
			_ = os.Remove(filepath.Dir(base))
		}
		return os.Remove(abs)
	default:
		return fmt.Errorf("unknown command %q (want up, down, status or purge)", args[0])
	}
}

// place returns the directory the cluster named by dir lives in, making
// the managed directory and the link when the server cannot reach dir.
func place(ctx context.Context, dir string) (string, error) {
	data, ok, err := existing(dir)
	if err != nil || ok {
		return data, err
	}
	reach, err := pgtest.ServerCanReach(filepath.Dir(dir))
	if err != nil || reach {
		return dir, err
	}
	base, data, err := managed(dir)
	if err != nil {
		return "", err
	}
	for _, d := range []string{filepath.Dir(base), base} {
		if err := pgtest.MakeServerDir(d); err != nil {
			return "", err
		}
	}
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		_ = os.Remove(dir) // a link whose cluster was purged
	} else if _, err := os.Stat(data); err == nil {
		// Its link went with .dev: start over, as in dir itself.
		fmt.Fprintf(os.Stderr, "devpg: %s was deleted: removing its old data in %s\n", dir, data)
		if err := pgtest.StopDir(ctx, data); err != nil {
			return "", err
		}
		if err := os.RemoveAll(data); err != nil {
			return "", fmt.Errorf("remove %s: %w", data, err)
		}
	}
	if err := os.Symlink(data, dir); err != nil {
		return "", fmt.Errorf("link %s to %s: %w", dir, data, err)
	}
	fmt.Fprintf(os.Stderr, "devpg: the postgres OS user cannot enter %s: the cluster lives in %s (linked from %s)\n",
		filepath.Dir(dir), data, dir)
	return data, nil
}

// existing returns where the cluster named by dir lives, if it exists: dir
// itself, or the managed directory dir links to.
func existing(dir string) (string, bool, error) {
	fi, err := os.Lstat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return dir, false, nil
	}
	if err != nil {
		return "", false, err
	}
	if fi.Mode()&os.ModeSymlink == 0 {
		return dir, true, nil
	}
	target, err := os.Readlink(dir)
	if err != nil {
		return "", false, err
	}
	if _, want, err := managed(dir); err != nil || target != want {
		return "", false, fmt.Errorf("%s links to %s, not to the directory devpg manages for it (%s): remove the link", dir, target, want)
	}
	_, err = os.Stat(target)
	return target, err == nil, nil
}

// managed returns the base directory for the clusters of dir's parent and
// the directory of dir's cluster in it.
func managed(dir string) (base, data string, err error) {
	sum := sha256.Sum256([]byte(filepath.Dir(dir)))
	base = filepath.Join("/var/tmp", fmt.Sprintf("ardent-%d", os.Geteuid()), hex.EncodeToString(sum[:6]))
	name := filepath.Base(dir)
	if name == "." || name == "/" || strings.ContainsAny(name, "/") {
		return "", "", fmt.Errorf("bad cluster directory %s", dir)
	}
	return base, filepath.Join(base, name), nil
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
