// Package sqlgen writes the one setup script of `ardent sql`: the role,
// grants, settings, replica identity statements, pg_hba.conf lines and the
// wal2json verification an operator runs on the source with
//
//	psql -v ON_ERROR_STOP=1 -v ardent_password=... -f script.sql
//
// Invariants:
//   - Runs unmodified as a superuser (or the owner of the schemas and
//     tables) and is harmless to run twice: conditional statements go
//     through psql's \gexec over a SELECT that yields nothing when there is
//     nothing to do, the rest (GRANT, ALTER DEFAULT PRIVILEGES, REPLICA
//     IDENTITY) is idempotent by nature.
//   - The password only ever comes from the psql variable ardent_password,
//     interpolated by psql as a literal (:'ardent_password'); psql does not
//     interpolate inside DO bodies, so no DO block touches it.
//   - ALTER SYSTEM cannot run in a DO block or a transaction (design.md
//     4.1): settings are raised by \gexec, only when both the running and
//     the configured value are below Ardent's minimum. Never lowered.
//   - Every identifier is quoted; names in comments are escaped so no name
//     can end a comment line.
//   - Ardent never runs this script: the operator does.
package sqlgen
