package source

import (
	"bufio"
	"context"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
)

// replicationReadBuffer is how much a replication connection reads from
// the socket at once.
const replicationReadBuffer = 64 << 10

// The walsender flushes after every wal2json message, so over TLS each
// change is a record of a few hundred bytes. crypto/tls reads a record
// with reads of little more than the record, which made one read system
// call per change: a quarter of the CPU of a 1M-row transaction's stream
// (bench bigtx profile). Reading the socket through a buffer lets one call
// carry a couple of hundred records. Deadlines and closing go to the
// socket itself; a read that timed out leaves the buffer usable.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// bufferedDial wraps dial so that the connection it opens reads through a
// buffer (below TLS, which pgconn starts on the connection returned).
func bufferedDial(dial pgconn.DialFunc) pgconn.DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &bufferedConn{Conn: c, r: bufio.NewReaderSize(c, replicationReadBuffer)}, nil
	}
}
