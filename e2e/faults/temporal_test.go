//go:build faults

package faults

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// devServer is a Temporal dev server that can be restarted in place: same
// port, same SQLite file, so workflows survive the restart.
// temporaltest.Start picks a fresh port and directory each time, which is
// right for other tests but cannot model a server restart.
type devServer struct {
	*temporaltest.Server
	t    *testing.T
	bin  string
	args []string
	home string
}

func startDevServer(t *testing.T) *devServer {
	t.Helper()
	bin, err := temporaltest.FindCLI()
	require.NoError(t, err, "the fault suite needs the Temporal CLI (make deps)")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	d := &devServer{t: t, bin: bin, home: dir, Server: &temporaltest.Server{
		Address: fmt.Sprintf("127.0.0.1:%d", port), Namespace: "default"}}
	d.args = []string{"server", "start-dev", "--ip", "127.0.0.1", "--port", fmt.Sprint(port),
		"--db-filename", filepath.Join(dir, "temporal.db"), "--namespace", "default",
		"--log-level", "warn", "--headless"}
	for name, typ := range temporaltest.SearchAttributes {
		d.args = append(d.args, "--search-attribute", name+"="+typ)
	}
	d.start()
	return d
}

func (d *devServer) start() {
	d.t.Helper()
	d.Process = temporaltest.StartProcess(d.t, d.bin, d.args, []string{"HOME=" + d.home})
	require.Eventually(d.t, func() bool {
		if d.Process.Exited() {
			return true
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := d.CLI(ctx, "operator", "search-attribute", "list")
		return err == nil
	}, 90*time.Second, 250*time.Millisecond, "dev server not ready")
	require.False(d.t, d.Process.Exited(), "dev server exited: %s", d.Process.Output())
}

// restart stops the server (SIGTERM, as an orderly restart would) and
// starts it again on the same port with the same database file; down is
// how long it stays away.
func (d *devServer) restart(down time.Duration) {
	d.t.Helper()
	_ = d.Process.Stop()
	time.Sleep(down)
	d.start()
}
