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
//     because initdb and postgres refuse to run as root.
//   - Start registers t.Cleanup before the server can be running, so a failed
//     or aborted test never leaves a server or its directory behind.
//   - A missing prerequisite (PostgreSQL >= 14 server binaries, wal2json) skips
//     the test locally and fails it when CI=true; -short skips it (make
//     test-unit).
//   - The settings are for tests only (fsync=off, synchronous_commit=off).
package pgtest
