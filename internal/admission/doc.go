// Package admission decides when a copy (an initial snapshot, a table's
// backfill) may start. Operators onboard hundreds of databases at once: if
// every copy started when its activity did, a worker would run a hundred
// COPYs on two cores and a source host would serve a hundred scans, and
// every one of them would finish late. So copies wait for a permit.
//
// Two bounds, each off when its limit is 0 or negative:
//
//   - per worker (Slots): an in-process FIFO semaphore; a copy that waits
//     longest starts first.
//   - per source host, across workers (HostLocks): session advisory locks
//     in the catalog database, the one thing the workers share. A permit is
//     one of `limit` lock numbers under the host's key, held by a session
//     of its own for as long as the copy runs.
//
// Invariants:
//
//   - A permit is never leaked. Release gives it back (unlock, or close the
//     session when the unlock fails); a cancelled wait gives back whatever
//     it had taken; a worker that dies takes its sessions, and so their
//     locks, with it (server-side TCP keepalives bound how long a vanished
//     machine's session lingers).
//   - A copy never holds a worker slot while it waits for its source host:
//     a busy host must not keep copies of other hosts from starting.
//   - Waiting is observable: Scheduler.Acquire says why it waits (Wait) each
//     time that changes, so the activity can show the connector as queued.
//
// The host bound is a load bound, not a correctness one: if the catalog
// connection holding a permit breaks mid-copy, another worker may start a
// copy of that host early, and nothing else goes wrong.
package admission
