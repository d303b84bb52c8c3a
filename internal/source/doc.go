// Package source owns every operation Ardent performs on a source database
// outside the data paths (snapshot copy, change stream, verify reads): the
// replication-connection settings, the system identifier, the server
// version, Ardent's bookkeeping schema, slot status, taking a slot over from
// a dead worker and dropping it, and ending an earlier snapshot attempt.
//
// It exists so each of these is written once: copies of them had drifted
// apart (two slot drops with different rules about whom they terminate,
// three replication-connection configurations, IDENTIFY_SYSTEM twice).
//
// What it keeps true:
//   - Every replication connection carries OutputSettings, so how values are
//     printed never depends on the source's postgresql.conf.
//   - A slot is dropped only with an explicit TerminatePolicy: who may be
//     terminated to free it is the caller's decision, stated at the call.
//   - Dropping what does not exist (slot, schema) is not an error, so every
//     cleanup can be retried.
//   - It never imports Temporal and never logs secrets: configurations are
//     parsed values (see internal/pgurl), errors name slots and schemas.
package source
