package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// A child test process starts a cluster and exits without its cleanups, as
// a binary killed by -timeout would; the sweep must stop and remove it.
func TestSweepStale(t *testing.T) {
	if os.Getenv("PGTEST_LEAK_CHILD") == "1" {
		c := Start(t, Options{})
		fmt.Printf("LEAKED %s %d\n", c.Dir, c.Port)
		os.Exit(0)
	}
	inst, own := prerequisites(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSweepStale$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PGTEST_LEAK_CHILD=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	var dir string
	var port int
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "LEAKED ") {
			_, err := fmt.Sscanf(line, "LEAKED %s %d", &dir, &port)
			require.NoError(t, err)
		}
	}
	require.NotEmpty(t, dir, string(out))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	require.NoError(t, err, "the leaked cluster is running")
	conn.Close()

	sweepOnce = sync.Once{}
	sweepStale(inst, own)
	_, err = os.Stat(dir)
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	require.Error(t, err, "the leaked cluster is stopped")
}
