package temporaltest_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

func TestDevServer(t *testing.T) {
	s := temporaltest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := s.CLI(ctx, "operator", "search-attribute", "list")
	require.NoError(t, err, out)
	require.Contains(t, out, "ArdentStage")
	require.Contains(t, out, "ArdentSource")
	if s.Process != nil {
		require.NoError(t, s.Process.Stop())
		require.True(t, s.Process.Exited())
	}
}

// The core restarts a server in place: same address, same database file,
// so what it held before (here a workflow no worker serves) is still there
// after.
func TestDevServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("temporaltest: end-to-end test skipped in -short mode")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := temporaltest.StartDevServer(ctx, temporaltest.Options{})
	if err != nil {
		temporaltest.Prerequisite(t, err)
	}
	defer s.Close()
	out, err := s.CLI(ctx, "workflow", "start", "--type", "Nothing", "--task-queue", "none", "--workflow-id", "kept")
	require.NoError(t, err, out)
	addr, first := s.Address, s.Process
	require.NoError(t, s.Restart(ctx, 0))
	require.True(t, first.Exited(), "the first server stopped")
	require.Equal(t, addr, s.Address)
	out, err = s.CLI(ctx, "workflow", "describe", "--workflow-id", "kept")
	require.NoError(t, err, out)
	require.Contains(t, out, "Nothing")

	require.NoError(t, s.Close())
	require.True(t, s.Process.Exited())
	ext := &temporaltest.Server{Address: addr}
	require.Error(t, ext.Restart(ctx, 0), "an existing server cannot be restarted")
}

func TestProcessOutputAndKill(t *testing.T) {
	t.Setenv("ARDENT_CATALOG_URL", "postgres://dev-stack")
	p := temporaltest.StartProcess(t, "/bin/sh", []string{"-c", `echo "hello $GREETING catalog=$ARDENT_CATALOG_URL."; echo err >&2; exec sleep 60`}, []string{"GREETING=world"})
	require.Eventually(t, func() bool {
		return strings.Contains(p.Output(), "hello world catalog=.") && strings.Contains(p.Output(), "err")
	},
		10*time.Second, 10*time.Millisecond)
	require.False(t, p.Exited())
	p.Kill()
	require.True(t, p.Exited())
	require.Equal(t, -1, p.ExitCode(), "killed by a signal")
	logged, err := os.ReadFile(p.LogFile)
	require.NoError(t, err)
	require.Contains(t, string(logged), "hello world")
	require.NotContains(t, p.Output(), "dev-stack", "inherited ARDENT_* variables are dropped")
}

func TestProcessStopAndExitCode(t *testing.T) {
	t.Parallel()
	p := temporaltest.StartProcess(t, "/bin/sh", []string{"-c", `trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done`}, nil)
	require.Eventually(t, func() bool { return strings.Contains(p.Output(), "ready") }, 10*time.Second, 10*time.Millisecond)
	require.Error(t, p.Stop())
	require.Equal(t, 3, p.ExitCode())

	q := temporaltest.StartProcess(t, "/bin/sh", []string{"-c", "exit 0"}, nil)
	require.NoError(t, q.Wait(10*time.Second))
	require.Equal(t, 0, q.ExitCode())
}

func TestRepoRoot(t *testing.T) {
	root, err := temporaltest.RepoRoot()
	require.NoError(t, err)
	_, err = os.Stat(root + "/go.mod")
	require.NoError(t, err)
}
