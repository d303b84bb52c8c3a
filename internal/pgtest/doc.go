// Package pgtest starts throwaway PostgreSQL clusters for integration tests
// and for the local dev stack.
//
// It exists so that every test runs against a real server with exactly the
// settings it needs (wal_level, slots, SSL, password authentication, a
// streaming standby) instead of a mock or a shared database.
//
// Invariants:
//   - A cluster listens only on 127.0.0.1 and on a unix socket inside its own
//     directory; nothing is shared between clusters, so tests may run in
//     parallel.
//   - The superuser "postgres" is trusted on loopback (SQL and physical
//     replication). Every other role authenticates with scram-sha-256 when
//     Options.PasswordAuth is set, and must use SSL when Options.SSL is set
//     (hostssl lines), so a test that connects as such a role proves both.
//   - When the process runs as root the server runs as the "postgres" OS user,
//     because initdb and postgres refuse to run as root. Cluster directories
//     go under os.TempDir(), or /tmp or /var/tmp when that user cannot reach
//     it (a TMPDIR inside a private home folder).
//   - The core (StartCluster and the methods taking a context) returns
//     errors and never touches a testing.TB, so the benchmarks and code
//     running in goroutines can use it; StartCluster leaves nothing behind
//     when it fails. The testing.TB wrappers (Start, Exec, Restart, ...)
//     fail the test from the test's goroutine and register Close with
//     t.Cleanup. A test binary killed by -timeout runs no cleanups: the next
//     cluster started in any process sweeps the clusters of dead processes.
//   - A missing prerequisite (PostgreSQL >= 14 server binaries, wal2json) skips
//     the test locally and fails it when CI=true; -short skips it (make
//     test-unit).
//   - The settings are for tests only (fsync=off, synchronous_commit=off).
package pgtest
