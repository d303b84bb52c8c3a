// Package verify proves that a connector's destination tables equal its
// source tables at one source LSN, table by table, and narrows any
// difference down to key ranges and example keys.
//
// It exists because nothing else in Ardent reads the destination's
// contents: a stream can apply every change it receives and still diverge
// (a decoder bug, a cast that rounds, a second writer, an operator's UPDATE
// on the destination). Verify is the outside check, run on demand
// (`ardent verify`) and periodically by the replication workflow.
//
// What it keeps true:
//   - One LSN. The source is read in the snapshot a temporary logical slot
//     exports at its consistent point C: it sees exactly the transactions
//     that commit before C. The destination is read in a snapshot taken
//     while the connector's apply holds after its last transaction
//     committing at or before C (see hold.go and the sink's side in
//     internal/sink/postgres/hold.go). The apply waits only for that
//     snapshot to be taken, never for the checksums.
//   - Nothing left on the source. The slot is TEMPORARY: the server drops it
//     when the replication connection closes, whatever happens to this
//     process. Verify never writes to the source's tables and its only write
//     to the destination is the hold row in _ardent.verify_hold, removed at
//     the end (a leftover is harmless: the apply serves a hold once).
//   - The same text on both sides. Both sessions use rowsum.Settings, rows
//     are hashed as ROW(columns in source order)::text, keys are bucketed
//     in the destination type's order (text keys in COLLATE "C"), so a row
//     equal on both sides lands in the same bucket with the same hash.
//   - Chunked by key. Each side computes, in one scan, per key bucket the
//     row count and the sum of 64-bit row hashes; only buckets that differ
//     are read again row by row to name example keys.
package verify
