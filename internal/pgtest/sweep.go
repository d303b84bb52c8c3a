package pgtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A test binary killed by `go test -timeout` runs no cleanups, and its
// clusters would live on. Each cluster directory records the pid of the
// process that made it; the next Start in any process stops and removes the
// clusters whose owner is gone.

const (
	dirPrefix = "pgtest-"
	ownerFile = "owner.pid"
)

var sweepOnce sync.Once

func writeOwner(dir string) error {
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
}

// sweepStale removes clusters left by dead test processes. Directories
// without an owner file are left alone: they may be in the making.
func sweepStale(inst Install, own owner) {
	sweepOnce.Do(func() {
		base, err := baseDir(own)
		if err != nil {
			return
		}
		matches, _ := filepath.Glob(filepath.Join(base, dirPrefix+"*"))
		for _, dir := range matches {
			b, err := os.ReadFile(filepath.Join(dir, ownerFile))
			if err != nil {
				continue
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil || pid <= 0 || processAlive(pid) {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if running(ctx, inst, own, dir) {
				_ = stopServer(ctx, inst, own, dir, "immediate")
			}
			cancel()
			_ = os.RemoveAll(dir)
		}
	})
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
