// Package faults is Ardent's fault suite (`make test-faults`): a continuous,
// checkable write load on a real source while real processes are killed,
// servers restarted, connections cut and slots destroyed, one scenario at a
// time. The tests carry the build tag `faults`, so a plain `go test ./...`
// compiles only this file.
//
// The invariant every scenario checks: afterwards the destination equals
// the source table by table, or the connector is in a clearly reported
// failed state naming the cause and the fix. Never silent divergence.
package faults
