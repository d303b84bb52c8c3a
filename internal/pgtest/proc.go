package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// owner is the OS account the server runs as: the current user, or
// "postgres" when we are root (initdb and postgres refuse root).
type owner struct {
	uid, gid int
	cred     *syscall.Credential // nil when no switch is needed
}

func serverOwner() (owner, error) {
	if os.Geteuid() != 0 {
		return owner{uid: os.Geteuid(), gid: os.Getegid()}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return owner{}, fmt.Errorf("%w: running as root needs the OS user \"postgres\" to own the server (the postgresql-common package creates it): %v",
			ErrPrerequisite, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return owner{}, fmt.Errorf("parse uid of user postgres %q: %w", u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return owner{}, fmt.Errorf("parse gid of user postgres %q: %w", u.Gid, err)
	}
	return owner{uid: uid, gid: gid, cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}, nil
}

// chown hands path to the server's owner; a no-op when we are not root.
func (o owner) chown(path string) error {
	if o.cred == nil {
		return nil
	}
	if err := os.Lchown(path, o.uid, o.gid); err != nil {
		return fmt.Errorf("chown %s to postgres: %w", path, err)
	}
	return nil
}

// canReach reports whether the owner can enter path: every directory from
// the root down must grant it search (x) permission, as its owner, through
// its primary group, or as anyone. A no-op check when we are not root: we
// run the server ourselves. Supplementary groups and ACLs are not read, so
// the answer errs on "no".
func (o owner) canReach(path string) bool {
	if o.cred == nil {
		return true
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	if resolved, err := filepath.EvalSymlinks(abs); err == nil {
		abs = resolved
	}
	for dir := abs; ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil || !fi.IsDir() {
			return false
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return false
		}
		perm := fi.Mode().Perm()
		switch {
		case int(st.Uid) == o.uid:
			if perm&0o100 == 0 {
				return false
			}
		case int(st.Gid) == o.gid:
			if perm&0o010 == 0 {
				return false
			}
		case perm&0o001 == 0:
			return false
		}
		if dir == filepath.Dir(dir) {
			return true
		}
	}
}

// ServerCanReach reports whether the OS user that runs the servers (the
// current user, or "postgres" when root) can enter path, e.g. to tell
// whether a cluster may live under a checkout in a private home folder.
func ServerCanReach(path string) (bool, error) {
	own, err := serverOwner()
	if err != nil {
		return false, err
	}
	return own.canReach(path), nil
}

// MakeServerDir creates dir (mode 0700) for the server's OS user to own,
// e.g. a place for clusters outside a home folder that user cannot enter.
// Its parent must exist. An existing dir must be a directory, not a link,
// owned by us or by that user: in a world-writable parent such as /var/tmp
// anyone could have made it first.
func MakeServerDir(dir string) error {
	own, err := serverOwner()
	if err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", dir, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || (int(st.Uid) != os.Geteuid() && int(st.Uid) != own.uid) {
		return fmt.Errorf("%s is not a directory owned by us or the server's OS user: remove it", dir)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("chmod %s: %w", dir, err)
	}
	return own.chown(dir)
}

// writeFile writes a file the server must read (and may need to own, as
// for the SSL key, which PostgreSQL refuses unless its owner runs it).
func (o owner) writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	return o.chown(path)
}

// run executes a PostgreSQL program as the server's owner from dir (which
// the owner can enter) with a clean environment, so a PG* variable of the
// caller never redirects it to another server. The combined output is
// returned and included in the error.
func (o owner) run(ctx context.Context, dir, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = cleanEnv(dir)
	if o.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: o.cred}
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// pg_ctl start leaves the postmaster running with our pipes as its
	// stdout unless told otherwise; WaitDelay stops Wait hanging on them.
	cmd.WaitDelay = waitDelay
	err := cmd.Run()
	text := strings.TrimSpace(out.String())
	if err != nil {
		return text, fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(args, " "), err, text)
	}
	return text, nil
}

func cleanEnv(home string) []string {
	env := []string{"HOME=" + home, "LC_ALL=C", "LANG=C"}
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "PG"), strings.HasPrefix(kv, "HOME="),
			strings.HasPrefix(kv, "LC_"), strings.HasPrefix(kv, "LANG="):
			continue
		}
		env = append(env, kv)
	}
	return env
}
