//go:build !linux

package replication

const coalesceSupported = false
