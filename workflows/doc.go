// Package workflows holds Ardent's durable orchestration: the onboarding
// workflow (preflight loop, operator signal, connector creation, hand-off)
// and the replication workflow that supervises the snapshot, the
// long-running stream and the verifications beside it for the life of a
// connector.
//
// Invariants: code here is deterministic. It imports only Temporal's
// workflow/temporal/log packages, the standard library's pure packages and
// the contract package; never the activities, pgx, viper, os, net,
// time.Now, time.Sleep, math/rand or go statements (`make lint` enforces it
// with workflowcheck and an import rule; imports_test.go checks the imports
// and `go list -deps`). Activities are called by their contract names, and
// signals, queries and updates are registered through contract's typed
// values (wire.go), so the CLI and the worker agree with the workflows
// without linking them. Any change to the order of commands of a running
// workflow goes behind workflow.GetVersion, and the replay tests over
// testdata/ prove old histories still replay.
package workflows
