package temporaltest

import (
	"context"
	"errors"
	"os"
	"testing"
)

// TestAddressEnv names an existing Temporal server that tests use instead
// of starting a dev server of their own.
const TestAddressEnv = "ARDENT_TEST_TEMPORAL_ADDRESS"

// Start returns a usable Temporal server: the one named by
// ARDENT_TEST_TEMPORAL_ADDRESS, or a new headless dev server stopped on
// cleanup.
func Start(t testing.TB) *Server { t.Helper(); return StartWith(t, Options{}) }

// StartWith is Start with options for the dev server it starts; its files
// go under t.TempDir() unless opts.Dir says otherwise.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	if testing.Short() {
		t.Skip("temporaltest: end-to-end test skipped in -short mode")
	}
	if opts.Address == "" {
		opts.Address = os.Getenv(TestAddressEnv)
	}
	if opts.Dir == "" && opts.Address == "" {
		opts.Dir = t.TempDir()
	}
	s, err := StartDevServer(context.Background(), opts)
	if err != nil {
		Prerequisite(t, err)
	}
	t.Cleanup(func() {
		if t.Failed() && s.Process != nil {
			t.Logf("temporaltest: %s", s.Process.Describe(40))
		}
		_ = s.Close()
	})
	return s
}

// Prerequisite ends a test on err: skipped when err says the Temporal CLI
// is missing (ErrPrerequisite) and CI is not set, failed otherwise.
func Prerequisite(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrPrerequisite) && os.Getenv("CI") != "true" {
		t.Skipf("temporaltest: %v", err)
	}
	t.Fatalf("temporaltest: %v", err)
}
