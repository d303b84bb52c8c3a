// Package backfill copies one table into the destination while the
// connector's stream keeps applying every other table, and hands the table
// over to the stream exactly: no change lost, none applied twice, under
// concurrent writes to the table, with no long-lived slot and no write to
// the customer's tables.
//
// The method (the same for keyed and keyless tables):
//
//  1. The table's state becomes backfilling: from the next stream
//     transaction on, the stream leaves its changes alone.
//  2. Its destination table is created if missing and emptied.
//  3. A TEMPORARY logical slot is created with an exported snapshot; its
//     consistent point C splits history: the snapshot holds every
//     transaction committed up to C, the slot delivers the ones after.
//  4. The table is copied under that snapshot (the initial snapshot's copy
//     code), then the same connection streams the slot from C, filtered to
//     this table, into the destination under a checkpoint of its own
//     (CONNECTOR#backfill). The slot dies with the connection: a crash
//     leaves nothing on the source, and the next attempt starts over.
//  5. Handover: once the backfill's checkpoint Q has reached the stream's
//     checkpoint P, one destination transaction, holding the stream's
//     checkpoint row lock (so P cannot move), makes the table stream again
//     with ApplyAfter Q: the backfill applied its changes up to Q, the
//     stream applies those after Q.
//
// The cost on the source is one more walsender decoding the WAL written
// since C (only this table's changes pass the filter) for as long as the
// copy and the catch-up last.
package backfill
