// Package temporaltest runs the real pieces an end-to-end test needs: a
// Temporal dev server (the pinned `temporal` CLI, not an in-memory fake),
// and Ardent's own binaries as separate OS processes that a test can kill.
//
// It deliberately imports no Temporal SDK package (internal/ never imports
// Temporal): the server is a child process reached over the network, and
// tests build their own clients against Server.Address.
//
// Invariants:
//   - Every process started here is registered with t.Cleanup before it
//     runs, and killed (its whole process group) if still alive at cleanup;
//     its combined output is kept in memory and in a file under t.TempDir,
//     and the tail is logged when the test failed.
//   - The dev server listens on 127.0.0.1 on free ports with its SQLite file
//     in a temporary directory, and Start returns only once the namespace
//     and the search attributes Ardent uses are usable.
//   - ARDENT_TEST_TEMPORAL_ADDRESS selects an existing server instead; the
//     harness then never starts or stops one.
//   - A missing `temporal` binary skips the test locally and fails it when
//     CI=true; -short skips end-to-end tests (make test-unit).
package temporaltest
