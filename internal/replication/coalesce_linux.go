package replication

import (
	"crypto/tls"
	"net"
	"syscall"
)

// setRcvLowat sets SO_RCVLOWAT on the TCP socket under c (under TLS if c
// is a TLS connection) and reports whether it could. Linux's TCP honours
// it for wake-ups only: a read returns whatever has arrived.
func setRcvLowat(c net.Conn, n int) bool {
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return false
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return false
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVLOWAT, n)
	}); err != nil {
		return false
	}
	return serr == nil
}
