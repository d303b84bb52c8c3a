// Package postgres is the PostgreSQL destination: it creates the destination
// tables (same schema, table and column names, same key), bulk-loads the
// initial copy with COPY, and applies streamed source transactions.
//
// Invariants:
//   - Every Write is one destination transaction that applies the changes and
//     upserts _ardent.applied_lsn for the connector; the LSN returned is
//     committed together with the rows it covers, so it is the only position
//     the stream may acknowledge to the source.
//   - A transaction whose CommitLSN is at or below the durable LSN is skipped,
//     so replaying WAL after a crash never applies a change twice. The sink is
//     the single writer for its connector, so the durable LSN is read once and
//     then tracked in memory.
//   - A source transaction too large to hold in memory arrives in several
//     Writes (Batch.Continued); they share one open destination transaction,
//     and applied_lsn moves only when the source transaction's commit arrives.
//   - Every identifier is quoted; every value travels as a parameter or as
//     escaped COPY text, never spliced into SQL.
package postgres
