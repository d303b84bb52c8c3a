package pgtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// MinMajorVersion is the oldest PostgreSQL major version the harness accepts.
const MinMajorVersion = 14

// Install describes the server binaries a cluster runs with.
type Install struct {
	BinDir    string // holds initdb, pg_ctl, postgres, pg_basebackup
	PkgLibDir string // holds the server's loadable modules (wal2json.so)
	Major     int    // major version, e.g. 15
}

// ErrPrerequisite marks a missing or unusable PostgreSQL installation: tests
// skip on it locally and fail on it in CI.
var ErrPrerequisite = errors.New("postgresql prerequisite missing")

var (
	installOnce sync.Once
	installVal  Install
	installErr  error
)

// FindInstall locates PostgreSQL >= 14 server binaries with wal2json. It
// prefers `pg_config --bindir`, then /usr/lib/postgresql/<v>/bin, newest
// first. PGTEST_BINDIR overrides the search. The result is cached for the
// process.
func FindInstall() (Install, error) {
	installOnce.Do(func() { installVal, installErr = findInstall() })
	return installVal, installErr
}

var requiredBinaries = []string{"initdb", "pg_ctl", "postgres", "pg_basebackup"}

func findInstall() (Install, error) {
	var candidates []string
	if dir := os.Getenv("PGTEST_BINDIR"); dir != "" {
		candidates = append(candidates, dir)
	} else {
		if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
			candidates = append(candidates, strings.TrimSpace(string(out)))
		}
		candidates = append(candidates, debianBinDirs()...)
	}
	var problems []string
	var wal2jsonMissing *Install
	for _, dir := range candidates {
		inst, err := inspectBinDir(dir)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if _, err := os.Stat(filepath.Join(inst.PkgLibDir, "wal2json.so")); err != nil {
			if wal2jsonMissing == nil {
				i := inst
				wal2jsonMissing = &i
			}
			continue
		}
		return inst, nil
	}
	if wal2jsonMissing != nil {
		return Install{}, fmt.Errorf("%w: wal2json.so not found in %s (PostgreSQL %d); install it with: apt-get install -y postgresql-%d-wal2json",
			ErrPrerequisite, wal2jsonMissing.PkgLibDir, wal2jsonMissing.Major, wal2jsonMissing.Major)
	}
	return Install{}, fmt.Errorf("%w: no PostgreSQL >= %d server binaries found (%s); install them with: apt-get install -y postgresql-15 postgresql-15-wal2json",
		ErrPrerequisite, MinMajorVersion, strings.Join(problems, "; "))
}

// debianBinDirs lists /usr/lib/postgresql/<v>/bin, newest version first.
func debianBinDirs() []string {
	entries, err := os.ReadDir("/usr/lib/postgresql")
	if err != nil {
		return nil
	}
	var versions []int
	for _, e := range entries {
		if v, err := strconv.Atoi(e.Name()); err == nil {
			versions = append(versions, v)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(versions)))
	dirs := make([]string, 0, len(versions))
	for _, v := range versions {
		dirs = append(dirs, filepath.Join("/usr/lib/postgresql", strconv.Itoa(v), "bin"))
	}
	return dirs
}

var versionRe = regexp.MustCompile(`\(PostgreSQL\)\s+(\d+)`)

func inspectBinDir(dir string) (Install, error) {
	for _, name := range requiredBinaries {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return Install{}, fmt.Errorf("%s: no %s", dir, name)
		}
	}
	out, err := exec.Command(filepath.Join(dir, "postgres"), "--version").Output()
	if err != nil {
		return Install{}, fmt.Errorf("%s: postgres --version: %v", dir, err)
	}
	m := versionRe.FindSubmatch(out)
	if m == nil {
		return Install{}, fmt.Errorf("%s: unrecognised version %q", dir, bytes.TrimSpace(out))
	}
	major, _ := strconv.Atoi(string(m[1]))
	if major < MinMajorVersion {
		return Install{}, fmt.Errorf("%s: PostgreSQL %d is older than %d", dir, major, MinMajorVersion)
	}
	return Install{BinDir: dir, PkgLibDir: pkgLibDir(dir), Major: major}, nil
}

// pkgLibDir asks the pg_config that belongs to dir; Debian ships one per
// version in the version's bin directory.
func pkgLibDir(binDir string) string {
	if out, err := exec.Command(filepath.Join(binDir, "pg_config"), "--pkglibdir").Output(); err == nil {
		return strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil && strings.TrimSpace(string(out)) == binDir {
		if out, err := exec.Command("pg_config", "--pkglibdir").Output(); err == nil {
			return strings.TrimSpace(string(out))
		}
	}
	return filepath.Join(filepath.Dir(binDir), "lib")
}
