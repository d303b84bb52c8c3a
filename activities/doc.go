// Package activities is the thin boundary between Temporal and Ardent's real
// work in internal/. Each struct groups the activities of one concern
// (preflight, connector, snapshot, stream, verify) and holds its
// dependencies; the worker builds them and workflows call them through nil
// typed pointers.
//
// Invariants kept here and nowhere else: errors are classified once, at this
// boundary (permanent failures become non-retryable application errors with
// a type name the workflow can match); long activities heartbeat every few
// seconds; nothing large and nothing secret goes into a result or heartbeat
// (the payload codec encrypts payloads, but size limits still apply).
package activities
