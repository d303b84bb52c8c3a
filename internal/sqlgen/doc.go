// Package sqlgen writes the one setup script of `ardent sql`: the role,
// grants, settings, replica identity statements, pg_hba.conf lines and the
// wal2json verification an operator runs on the source with
//
//	psql -v ON_ERROR_STOP=1 -f script.sql
//
// Invariants:
//   - Runs unmodified as a superuser (or the owner of the schemas and
//     tables) and is harmless to run twice: conditional statements go
//     through psql's \gexec over a SELECT that yields nothing when there is
//     nothing to do, the rest (GRANT, ALTER DEFAULT PRIVILEGES, REPLICA
//     IDENTITY) is idempotent by nature.
//   - No clear-text password ever reaches the server (design.md 4.15: it
//     would land in the server log under log_statement = ddl or all). The
//     role's password is a SCRAM-SHA-256 verifier (internal/scram): either
//     embedded by `ardent sql`, which computed it from the password it was
//     given, or taken from the psql variable ardent_password, which the
//     script checks on the client before sending anything: psql's shell
//     backquote matches :'ardent_password' (quoted for the shell by psql)
//     against a verifier's shape, and anything else stops the script
//     naming `ardent scram-verifier` (the backquote runs /bin/sh and grep;
//     a value with a line break psql itself refuses to quote, and the check
//     stays false). psql does not interpolate inside DO bodies, so no DO
//     block touches the variable.
//   - Roles are cluster-wide: the script gives the role a password only
//     when it creates it, unless generated with SetPassword
//     (`--set-password`). Re-running it for another database of the same
//     cluster changes nothing for the connectors of the first. Without an
//     embedded verifier and without the variable, it stops before doing
//     anything if it has a role to create.
//   - ALTER SYSTEM cannot run in a DO block or a transaction (design.md
//     4.1): settings are raised by \gexec, only when both the running and
//     the configured value are below Ardent's minimum. Never lowered.
//   - Every identifier is quoted; names in comments are escaped so no name
//     can end a comment line.
//   - Ardent never runs this script: the operator does.
package sqlgen
