// Package wal2json decodes wal2json format-version 2 messages (one JSON
// object per change) into the sink's Change form.
//
// It is on the replication hot path, so it is a hand-rolled scanner over
// the message bytes rather than encoding/json: no reflection, no
// intermediate maps, and interned column names and types.
//
// Invariants:
//   - Values keep their exact PostgreSQL text: numbers are the literal
//     digits wal2json printed (never parsed into float64), booleans become
//     "true"/"false", strings are unescaped, JSON null is Null.
//   - A column absent from an UPDATE (unchanged TOAST) stays absent; the
//     decoder never invents a value for it.
//   - Every string returned owns its memory: the input buffer may be reused
//     by the caller as soon as Decode returns.
//
// wal2json 2.5 prints NaN and ±Infinity of float and numeric columns as
// JSON null; that loss happens in the plugin and cannot be undone here.
package wal2json
