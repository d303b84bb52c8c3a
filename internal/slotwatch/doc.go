// Package slotwatch reads every live connector's replication slot on its
// source on a schedule, so the slot's retained WAL, activity and wal_status
// are known whether or not a stream runs: a paused, failed or retrying
// connector holds WAL just the same, and that is what an operator must be
// woken for before the source's disk fills or the slot is invalidated.
//
// It exists apart from the stream because the stream's own numbers stop
// when the stream does, and apart from the scrape because a scrape must not
// open connections to every source.
//
// What it keeps true:
//   - One cheap query per connector and round (pg_replication_slots, no
//     lock), over one session per source server and round (the view is
//     the server's, whatever the database), opened for it and closed
//     after it, each step within a timeout, a few servers at a time: one
//     slow or unreachable source delays no other's reading. A session
//     that cannot be opened with the first connector's credentials is
//     retried per connector with each one's own.
//   - Credentials are opened from the catalog with the worker's keyring for
//     each check and never leave it: errors are scrubbed of the password
//     before they are logged, and the Recorder receives names and numbers.
//   - Connectors that leave the catalog (dropped, or removed after this
//     watcher saw them) have every series forgotten through the Recorder;
//     a name the catalog never listed (an onboarding still in preflight)
//     keeps its series.
//   - It never imports Temporal. Every worker runs one; several workers
//     report the same values, each under its own instance label.
package slotwatch
