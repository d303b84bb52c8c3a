package e2estack

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// The testing.TB wrappers. Call them from the test's own goroutine: inside
// require.Eventually's condition or a goroutine, use the cores.

// cliTimeout bounds one CLI run of the wrappers.
const cliTimeout = 5 * time.Minute

// Start starts a stack for a test, stopped on cleanup; its files go under
// t.TempDir(). ARDENT_TEST_TEMPORAL_ADDRESS names an existing Temporal
// server to use (unless opts.OwnTemporal). A missing prerequisite skips
// the test, or fails it when CI=true; -short skips it.
func Start(t testing.TB, opts Options) *Stack {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: needs PostgreSQL and a Temporal dev server")
	}
	if opts.Temporal.Address == "" && !opts.OwnTemporal {
		opts.Temporal.Address = os.Getenv(temporaltest.TestAddressEnv)
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Temporal.Dir == "" && opts.Temporal.Address == "" {
		opts.Temporal.Dir = t.TempDir()
	}
	s, err := New(context.Background(), opts)
	if err != nil {
		prerequisite := errors.Is(err, pgtest.ErrPrerequisite) || errors.Is(err, temporaltest.ErrPrerequisite)
		if prerequisite && os.Getenv("CI") != "true" {
			t.Skipf("e2estack: %v", err)
		}
		t.Fatalf("e2estack: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			if p := s.Temporal.Process; p != nil {
				t.Logf("e2estack: %s", p.Describe(40))
			}
			for _, d := range s.Deployments() {
				t.Logf("e2estack: workers of task queue %s:\n%s", d.queue, d.WorkerOutput(40))
			}
		}
		_ = s.Close()
	})
	return s
}

// StartWorker is StartWorkerContext for a test.
func (d *Deployment) StartWorker(t testing.TB, env ...string) *temporaltest.Process {
	t.Helper()
	p, err := d.StartWorkerContext(context.Background(), env...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Run runs the ardent CLI and returns its combined output and exit code;
// a CLI that cannot run fails the test.
func (d *Deployment) Run(t testing.TB, args ...string) (string, int) {
	t.Helper()
	return d.RunEnv(t, nil, args...)
}

// RunEnv is Run with more environment entries (later ones win).
func (d *Deployment) RunEnv(t testing.TB, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	out, code, err := d.Command(ctx, env, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out, code
}

// WaitStage waits until connector name is in stage want and returns its
// status; at the timeout it fails the test with the last status and the
// workers' output.
func (d *Deployment) WaitStage(t testing.TB, name, want string, timeout time.Duration) Status {
	t.Helper()
	st, err := d.WaitStageContext(context.Background(), name, want, timeout)
	if err != nil {
		t.Fatalf("%v\nworker output:\n%s", err, d.WorkerOutput(60))
	}
	return st
}
