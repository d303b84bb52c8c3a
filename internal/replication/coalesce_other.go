//go:build !linux

package replication

import "net"

// setRcvLowat coalesces reads on Linux only; elsewhere every message wakes
// the receiver, as it always did.
func setRcvLowat(net.Conn, int) bool { return false }
