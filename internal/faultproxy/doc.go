// Package faultproxy is a TCP proxy a test controls, standing between a
// process under test and a server (for the fault suite: between an Ardent
// worker and the source PostgreSQL) so a network partition can be staged on
// demand without root, iptables or a second machine.
//
// Invariants: while healthy it forwards bytes unchanged in both directions;
// Cut closes every open connection on both sides at once and, until it
// heals, answers every new connection with an immediate reset, the way a
// host whose route went away looks to a client. Nothing is buffered across a
// cut: a client never sees bytes from a connection that was cut. SetRate
// caps the bytes per second forwarded over all connections, so a test can
// stretch an operation that is otherwise too fast to interrupt.
package faultproxy
