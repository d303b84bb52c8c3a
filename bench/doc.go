// Command bench is `make bench`: it measures each performance target of
// Ardent side by side with its raw PostgreSQL baseline, in one run, on
// clusters (and, where the workload needs the whole product, a Temporal dev
// server and a real ardent-worker) that it starts and removes itself.
//
// Why one harness: a ratio against a baseline measured in the same run on
// the same machine holds on a noisy or slow machine; absolute figures from
// different runs do not.
//
// Invariants:
//   - Every measurement is a warm-up followed by at least three timed runs,
//     reported as median and spread (min..max); baseline and Ardent runs
//     alternate so that drift (checkpoints, cache, a noisy neighbour) hits
//     both sides.
//   - Baseline and Ardent do the same work on the same data: the same
//     table and key on both sides for the snapshot, the same WAL decoded
//     from slots created at the same point for streaming, the same two
//     tables (loaded alike, then streamed to under a light write load)
//     read whole on both clusters at once for verify.
//   - Everything the harness starts (clusters, dev server, worker) is
//     stopped on exit, also on failure and on Ctrl-C.
//   - The results (table on stdout, JSON under bench/results/) state the
//     machine, the PostgreSQL version and the row shape of each workload.
//   - No password or full connection string is printed: the clusters are
//     local, trust-authenticated throwaways, and URLs stay in memory.
package main
