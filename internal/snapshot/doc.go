// Package snapshot performs the initial copy of a source database into a
// destination: a consistent, parallel, crash-safe snapshot taken together
// with the logical replication slot that continues from it.
//
// Why it exists: the change stream only carries what happens after the
// slot's consistent point, so the rows that exist before it must be copied
// from exactly the MVCC snapshot the slot exported. Anything else leaves a
// gap or an overlap.
//
// Invariants:
//
//   - Consistency. CreateSlotWithSnapshot creates the slot and exports its
//     snapshot in one command on a replication connection. Every copy
//     worker imports that snapshot (REPEATABLE READ READ ONLY; SET
//     TRANSACTION SNAPSHOT) before it copies a single row, so snapshot plus
//     the slot's changes after ConsistentLSN equals the source exactly.
//     The exporting connection must stay open and idle until every worker
//     has imported it (Copy does all imports up front); once imported, a
//     worker's snapshot no longer depends on that connection.
//   - Streaming. Rows flow COPY TO STDOUT on the source -> a pipe ->
//     Copier.CopyFrom on the destination, in binary format when every
//     column's binary form is portable (built-in types, enums, domains over
//     those) and in text format otherwise (arrays of enums or domains,
//     composites, extension types). Nothing buffers a table in memory.
//   - Chunking. A table larger than one chunk is split into CTID ranges
//     `ctid >= '(a,0)' AND ctid < '(b,0)'`, the last one open-ended, which
//     PostgreSQL >= 14 executes as TID range scans. Workers pull chunks from
//     one shared queue, largest tables first.
//   - All or nothing. Copy returns an error if any worker fails (lost
//     connection, terminated backend, cancelled context, destination
//     error); it never reports a partial success. The destination then
//     holds partial rows: the retry rule (see Run) is drop the slot, create
//     a new slot and snapshot, truncate the destination tables, copy again.
//   - Generated columns are copied as values: the destination stores them
//     as plain columns, so the value the source computed is the truth.
//   - Partitioned tables: a table of kind "p" is not copied when Discover
//     also reports its leaf partitions (their rows are copied leaf by leaf,
//     and the Copier decides where a leaf's rows land); a lone "p" table is
//     copied through its root, which reads every leaf.
package snapshot
