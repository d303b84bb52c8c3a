// Package preflight checks a source database before Ardent onboards it: the
// operator's first contact with the product. Run connects with the
// operator's URL, runs every check of design.md section 3 in its fixed
// order and returns a Report with a status, a one-line message and an exact
// remedy per check. Report is contract.PreflightReport: what `ardent
// preflight --format json` prints and, through Compact, the Preflight
// activity's result, with no conversion between them.
//
// Invariants:
//   - Read-only and stateless: preflight stores nothing and changes nothing
//     on the source. The only object it creates is a temporary logical slot
//     for the wal2json probe, which the server drops with the session even
//     if preflight dies, and which preflight also drops explicitly.
//   - No password in any output: every message passes through pgurl.Scrub
//     with the URL's password.
//   - Honest statuses: a check that could not be evaluated (because connect
//     failed, a probe timed out, a permission was missing) is "unverified",
//     never "pass". Unverified blocks unless the operator accepts its id.
//   - Set-based: catalog facts are read in a handful of queries whatever the
//     number of tables (10,000 tables within 2 s).
//
// Capacity rule: Ardent holds one replication slot and, while streaming, one
// WAL sender. During the initial snapshot the exporting replication
// connection and the stream can overlap, and a worker restarted after a crash
// may find its previous walsender alive until wal_sender_timeout (design.md
// 4.8). So wal_senders fails with no free sender and warns with exactly one;
// replication_slots fails with no free slot.
//
// Partitioned tables: schema.Discover reports leaf partitions (wal2json names
// the leaf in every change) with Parent set to the root; the root itself has
// no rows and is neither checked nor replicated.
package preflight
