// Package scram computes PostgreSQL SCRAM-SHA-256 password verifiers on
// the client, so that a role's password can be set without the clear text
// ever reaching the server.
//
// `ALTER ROLE … PASSWORD 'clear text'` lands in the server log under
// log_statement = ddl or all, and in pg_stat_statements (design.md 4.15).
// PostgreSQL stores a string that parses as a verifier,
//
//	SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
//
// as it is, instead of hashing it: the log then holds the verifier, which
// lets nobody log in (RFC 5802, RFC 7677).
//
// Invariants:
//   - A verifier is computed exactly as PostgreSQL's scram_build_secret
//     does: SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, 4096),
//     StoredKey = SHA-256(HMAC(SaltedPassword, "Client Key")), ServerKey =
//     HMAC(SaltedPassword, "Server Key"), with a fresh random 16-byte salt.
//   - SASLprep: PostgreSQL and its clients (libpq, pgx) normalise a password
//     with SASLprep before hashing it, and fall back to the raw bytes when
//     that fails. This package hashes the raw UTF-8 bytes, which is the same
//     thing for every password SASLprep leaves unchanged (ASCII, and any
//     NFKC-normalised text without the characters SASLprep maps away). A
//     password SASLprep would change is refused (ErrNotNormalized) rather
//     than turned into a verifier no client could log in with.
//   - Nothing here formats a password into an error.
package scram
