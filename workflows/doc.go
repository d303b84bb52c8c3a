// Package workflows holds Ardent's durable orchestration: the onboarding
// workflow (preflight loop, operator signal, connector creation, hand-off)
// and the replication workflow that supervises the snapshot, the
// long-running stream and the verifications beside it for the life of a
// connector.
//
// Invariants: code here is deterministic. It imports only Temporal's
// workflow/temporal/log packages, the standard library's pure packages and
// the activities package's types; never pgx, viper, os, net, time.Now,
// time.Sleep, math/rand or go statements (`make lint` enforces it with
// workflowcheck and a depguard rule). Names of workflows, signals, queries
// and search attributes are the constants in names.go. Any change to the
// order of commands of a running workflow goes behind workflow.GetVersion,
// and the replay tests over testdata/ prove old histories still replay.
package workflows
