// Package e2estack runs the whole product for the end-to-end tests (e2e,
// e2e/faults) and for the benchmarks (bench): a source cluster, a cluster
// holding Ardent's catalog and the destination databases, a Temporal dev
// server, a master key, Ardent's own binaries, and on top of them any
// number of deployments (a task queue, its ARDENT_* environment, its
// ardent-worker processes and the ardent CLI run against them).
//
// It exists so the three harnesses that grew apart (e2e, e2e/faults,
// bench) share one way to start, drive and stop the stack.
//
// Invariants:
//   - Every core function takes a context and returns an error; New leaves
//     nothing running when it fails, and Stack.Close stops everything it
//     started (workers first, then the dev server, then the clusters).
//   - The testing.TB wrappers (Start, and the methods taking a testing.TB)
//     fail the test only from the test's goroutine; code that runs inside
//     require.Eventually or a goroutine uses the error-returning cores.
//   - Processes get this process's environment minus ARDENT_* plus the
//     deployment's, so a developer's sourced .dev/env never leaks in.
//   - Nothing here imports Temporal: the server is reached through the CLI
//     and the worker processes.
//   - A missing prerequisite (PostgreSQL, wal2json, the Temporal CLI) skips
//     a test locally and fails it when CI=true; -short skips it.
package e2estack
