// Package schema describes the source tables Ardent replicates: their
// columns, types and replica identity, discovered from the PostgreSQL
// catalog with set-based queries so a database of tens of thousands of
// tables is read in a handful of round trips.
//
// Invariants: names are kept unquoted as the catalog stores them; quoting
// happens only when SQL is built (see Ident). Identity follows design.md
// section 4.2: a primary key under REPLICA IDENTITY DEFAULT, an index
// selected with USING INDEX, or FULL. A unique NOT NULL index that is not
// selected is reported as a candidate, never as an identity. As in the
// server, only an index's key columns (the first indnkeyatts of indkey) must
// be NOT NULL, and only they are KeyColumns: INCLUDE columns never are, since
// the destination key is built from KeyColumns.
//
// Discover never returns a table without columns (it cannot be copied or
// keyed): it fails with a *NoColumnsError naming each. DiscoverAll returns
// them, for preflight to report.
//
// Partitioned tables: Discover reports leaf partitions (relkind 'r') with
// Parent set to the root, because wal2json names the leaf in every change
// and only leaves hold rows; roots and intermediate partitioned tables are
// never returned. A leaf follows its root's selection (naming the root, or
// its schema, selects every leaf; excluding the root excludes them), and
// each leaf's own replica identity is what counts. Temporary tables and
// Ardent's own schema _ardent are never returned.
package schema
