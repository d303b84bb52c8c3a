// Package temporaltest runs the real pieces an end-to-end test needs: a
// Temporal dev server (the pinned `temporal` CLI, not an in-memory fake),
// and Ardent's own binaries as separate OS processes that a test can kill.
//
// It deliberately imports no Temporal SDK package (internal/ never imports
// Temporal): the server is a child process reached over the network, and
// tests build their own clients against Server.Address.
//
// Invariants:
//   - The core (Build, Spawn, StartDevServer, Server.Restart and Close)
//     returns errors and never touches a testing.TB, for the benchmarks and
//     for internal/e2estack; BuildBinaries, StartProcess, Start and StartWith
//     are the thin testing.TB wrappers.
//   - Every process runs in its own process group (Kill takes its children)
//     with this process's environment minus ARDENT_*; its combined output is
//     kept in memory and in a log file. The test wrappers kill it on cleanup
//     and log its tail when the test failed.
//   - The dev server listens on 127.0.0.1 on free ports with its SQLite file
//     in its directory, and returns only once the namespace and the search
//     attributes Ardent uses are usable. Restart stops it and starts it again
//     on the same port with the same file, so workflows survive it.
//   - ARDENT_TEST_TEMPORAL_ADDRESS selects an existing server for the test
//     wrappers; the harness then never starts, stops or restarts one.
//   - A missing `temporal` binary skips the test locally and fails it when
//     CI=true; -short skips end-to-end tests (make test-unit).
package temporaltest
