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
