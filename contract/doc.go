// Package contract is the wire contract between Ardent's parts: the operator
// CLI (starter/), the workflows, the activities, and the tools that talk to
// a connector without Ardent's code (`temporal workflow signal`, the Web UI,
// scripts reading `--format json`).
//
// It exists so that each side names the same thing the same way without
// importing the other: the CLI links no replication or snapshot code to
// send a signal, and the workflows link no database driver to call an
// activity. It holds every name the Temporal server stores (workflow and
// activity types, signals, queries, updates, search attributes, the default
// task queue, workflow ids), the payload types those names carry (workflow
// inputs, activity inputs and results, heartbeats, the status), the
// preflight report of `ardent preflight --format json`, and the defaults the
// workflows and the configuration share.
//
// Invariants:
//   - Standard library only: no Temporal, no database code, no other
//     package of this module (a test checks the imports). Anything may
//     import contract; contract imports nothing of Ardent's.
//   - Payloads are plain JSON, readable and writable by hand. Histories of
//     running workflows hold them, so a JSON name never changes meaning:
//     fields are added (decoders ignore unknown ones and leave missing ones
//     zero) or left unread, never renamed or retyped.
//   - A name is declared once, here. Signals, queries and updates are
//     typed (Signal, Query, Update): the sender and the handler agree on the
//     payload type through the same value, so no side spells a name as a
//     string literal.
//   - Nothing secret travels in search attributes (never encrypted):
//     SourceDisplay is host:port/database only. Connection URLs travel
//     sealed (SealedURLPrefix) inside payloads the codec encrypts.
package contract
