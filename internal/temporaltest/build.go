package temporaltest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	buildErr  error
	ardentBin string
	workerBin string
)

// Build builds `ardent` (./starter) and `ardent-worker` (./worker) once
// per process and returns their paths. They go into one directory per
// repository under os.TempDir(), replaced atomically, so repeated runs
// reuse the go build cache and never fill the disk, and concurrent test
// binaries never run a half-written file.
func Build() (ardent, worker string, err error) {
	buildOnce.Do(func() { ardentBin, workerBin, buildErr = build() })
	return ardentBin, workerBin, buildErr
}

// BuildBinaries is Build for a test: -short skips it, a failed build fails it.
func BuildBinaries(t testing.TB) (ardent, worker string) {
	t.Helper()
	if testing.Short() {
		t.Skip("temporaltest: end-to-end test skipped in -short mode")
	}
	ardent, worker, err := Build()
	if err != nil {
		t.Fatalf("temporaltest: %v", err)
	}
	return ardent, worker
}

func build() (string, string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), "ardent-test-bin-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("create build directory %s: %w", dir, err)
	}
	ardent := filepath.Join(dir, "ardent")
	worker := filepath.Join(dir, "ardent-worker")
	for pkg, out := range map[string]string{"./starter": ardent, "./worker": worker} {
		if err := goBuild(root, pkg, out); err != nil {
			return "", "", err
		}
	}
	return ardent, worker, nil
}

func goBuild(root, pkg, out string) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".*.tmp")
	if err != nil {
		return fmt.Errorf("build %s: %w", pkg, err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	// go test puts the go command's GOROOT in the environment; PATH may not
	// hold it (e.g. under a Makefile with a minimal PATH).
	goBin := "go"
	if p, err := exec.LookPath("go"); err == nil {
		goBin = p
	} else if r := os.Getenv("GOROOT"); r != "" {
		goBin = filepath.Join(r, "bin", "go")
	}
	cmd := exec.Command(goBin, "build", "-o", tmp.Name(), pkg)
	cmd.Dir = root
	output, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s: %w: %s", pkg, err, strings.TrimSpace(string(output)))
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("install %s: %w", out, err)
	}
	return nil
}
