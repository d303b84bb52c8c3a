// Package cadence puts periodic work on a grid of wall-clock multiples of
// its period, shared by every caller in the process.
//
// It exists for the idle fleet: a worker runs a hundred connectors or more,
// each with work every few seconds (a Temporal heartbeat, a standby status
// to the walsender, a sample of its counters, a look at the source's WAL
// end). Started at their own moments, every one of those ticks woke the
// process on its own, and on a small virtual machine the wake-up (the Go
// scheduler parking and unparking threads, the runtime's monitor thread,
// the context switches) cost more than the work. On the grid, the ticks of
// one period fall at the same instant: the process wakes once for all of
// them, and their network writes leave together.
//
// What it keeps true: a tick is never more than one period after the one
// before it, unless the caller itself took longer than that; the first
// tick comes at least a quarter of a period after the start, never at
// once.
package cadence
