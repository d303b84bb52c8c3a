// Package sink owns the contract every destination implements: connect,
// prepare tables, write a batch of source transactions and return the LSN
// that is now durable, close. Implementations live in sub-packages (one per
// technology) and assert `var _ sink.Sink = (*Sink)(nil)`; the worker wires
// them in main with an explicit map, never through init() registration.
//
// Invariant: the LSN a sink returns is committed in the destination in the
// same transaction as the rows it covers, so it is the only position that
// may be acknowledged to PostgreSQL.
package sink
