// Package snapshot performs the initial copy of a source database into a
// destination: a consistent, parallel, crash-safe snapshot taken together
// with the logical replication slot that continues from it.
//
// Why it exists: the change stream only carries what commits after the
// slot's consistent point, so the rows that exist before it must be copied
// from exactly the MVCC snapshot the slot exported. Anything else leaves a
// gap or an overlap.
//
// Entry points: Run is one complete attempt (the unit an activity
// retries); CreateSlotWithSnapshot, Copy, DropSlot and EndAttempt are its
// pieces.
//
// Invariants:
//
//   - Consistency. CreateSlotWithSnapshot creates the slot and exports its
//     snapshot in one command on a replication connection. Every copy
//     worker imports that snapshot (REPEATABLE READ READ ONLY; SET
//     TRANSACTION SNAPSHOT) before any row moves, so snapshot plus the
//     slot's changes after ConsistentLSN equals the source exactly. The
//     exporting connection must stay open and idle until the imports are
//     done; Run keeps it for the whole copy and fails the attempt if it is
//     lost at any time.
//   - Streaming. Rows flow COPY TO STDOUT on the source -> a pipe (64 KiB
//     writes) -> Copier.CopyFrom on the destination; nothing buffers a
//     table. Binary format when every column's binary form is portable
//     (built-in types, enums, domains over those), text format otherwise
//     (arrays of enums or domains, composites, extension types): binary
//     arrays and records carry database-specific type OIDs.
//   - Columns. Every column of schema.Table.Columns is copied, in that
//     order, selected by name. Generated columns are copied as values: the
//     destination stores them as plain columns, and the value the source
//     computed is the truth.
//   - Chunking. Where the destination loads one table on several sessions
//     to good effect (a SharedLoader that says so, or a Copier that does
//     not say; PostgreSQL >= 16), a table larger than one chunk is split
//     into CTID ranges `ctid >= '(a,0)' AND ctid < '(b,0)'`, the last one
//     open-ended, which PostgreSQL >= 14 executes as TID range scans.
//     Otherwise (older sources or destinations) each table is one chunk,
//     read by COPY table TO where the table allows it. Workers pull chunks
//     from one shared queue, largest tables first. Each chunk is one
//     destination COPY.
//   - Keys after the copy. When the Copier is a KeyDeferrer, Run drops the
//     primary keys of the emptied destination tables before the copy and
//     builds them after it (one sorted build per table, on parallel
//     sessions), which takes about half the time of keeping the index up
//     to date row by row while copying (bench onboard). Run succeeds only
//     once every key exists again, so streaming, which applies updates and
//     deletes by key, never meets a table without one; an attempt that
//     fails in between leaves keyless partial tables that the next
//     attempt's Truncate gives their keys back before it drops them again.
//   - Partitioned tables. Discover reports leaf partitions (Partition,
//     Parent) and no roots; each leaf is copied into the destination table
//     the Copier maps it to. A root (kind "p") given alongside its leaves is
//     skipped; a root given alone is read whole through the root.
//   - All or nothing. Copy returns an error if any worker fails (lost
//     connection, terminated backend, cancelled context, destination error,
//     row-count mismatch) or if the slot vanished or was replaced; it never
//     reports a partial success. The destination then holds partial rows,
//     which the next attempt truncates (see Run for the retry rule).
//   - Sessions. Every source session of an attempt carries
//     application_name ApplicationName(slot), so the next attempt can end
//     one that is still running. Copy opens Parallelism SQL connections;
//     Run adds the replication connection (a walsender) and a short-lived
//     connection before the copy and after a failure.
package snapshot
