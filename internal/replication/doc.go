// Package replication streams a logical replication slot (wal2json
// format-version 2) into a sink, exactly once.
//
// The pipeline is three concurrent stages with bounded hand-offs, so the
// walsender never waits for the destination and memory stays bounded:
//
//	receive + decode (one goroutine, owns the replication connection;
//	  a busy stream's reads coalesce, see coalesce.go)
//	  → assemble transactions, split huge ones into chunks
//	  → apply (one goroutine, sink.Write with group commit)
//
// Invariants:
//   - The only position acknowledged to PostgreSQL as flushed is the sink's
//     durable LSN, which the destination committed together with the rows.
//     The write position may run ahead (it is what was received).
//   - Replay is safe: the stream starts at max(slot confirmed_flush_lsn,
//     sink durable LSN) and the sink skips transactions at or below its
//     durable LSN, so a crash at any moment neither loses nor repeats data.
//   - A source transaction too large for memory is applied in chunks inside
//     one open destination transaction (sink.Batch.Continued) which commits
//     with the applied LSN only at the source commit. The choice over a
//     staging table: no extra copy of the data, and a crash mid-transaction
//     simply rolls the destination back to the last source commit.
//   - Data in flight is bounded by Options.MaxInflightBytes.
//   - A slot that was dropped or invalidated (wal_status 'lost') is reported
//     as ErrSlotLost and never skipped over silently.
package replication
