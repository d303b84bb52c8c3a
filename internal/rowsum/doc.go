// Package rowsum computes an order-independent digest of a table's rows, so
// tests (unit, end-to-end, fault suite) can assert that a destination table
// equals its source table.
//
// It exists because every test once carried its own copy of
// `string_agg(t::text ...) FROM tbl t`, and that form silently compares only
// the column named t whenever the table has one: PostgreSQL resolves a bare
// name as a column before it tries the table alias. One shared helper means
// one place to get this right and one test that proves it.
//
// Invariants:
//   - Whole rows: each row is read as ROW(t.*)::text. A qualified star names
//     the range variable even when a column (of any type, composite included)
//     is called t, and the outer query only sees the subquery's own column r,
//     so no column name (t, r, s or any other) can shadow an alias.
//   - Any one-byte difference in any column of any type changes the digest:
//     NULL and an empty string differ, and so do values that compare equal
//     with = but print differently (numeric 1.0 and 1.00, json whitespace).
//   - Deterministic across servers and sessions: Of applies Settings first
//     (bytea as hex, ISO dates, postgres intervals, shortest exact floats, UTC,
//     C money format), and rows are ordered with COLLATE "C", so the same data
//     gives the same digest whatever the server's or the session's defaults.
//     The two sides must still agree on column order, types and the server
//     encoding, which is what "the same table" means here.
//   - Order-independent: rows are sorted before hashing; physical order, the
//     order of inserts and the plan do not matter.
//   - ONLY the named relation: inheritance children and partitions are not
//     folded into their parent, because replication copies leaf partitions
//     as tables of their own; compare each leaf by name.
//
// The digest is "count:md5". Each row is hashed first and the sorted row
// hashes are hashed again, so memory and the 1 GB text limit are reached
// only at tens of millions of rows rather than at 1 GB of row text.
package rowsum
