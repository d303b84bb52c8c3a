package source

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
)

// TestBufferedConnReads: many small writes come back in one read, and a
// read that timed out leaves the connection usable (the receiver's
// status interval is a read deadline).
func TestBufferedConnReads(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	server := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			server <- c
		}
	}()
	c, err := bufferedDial((&net.Dialer{}).DialContext)(context.Background(), "tcp", ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	s := <-server
	defer s.Close()

	require.NoError(t, c.SetReadDeadline(time.Now().Add(50*time.Millisecond)))
	_, err = c.Read(make([]byte, 16))
	require.True(t, errors.Is(err, os.ErrDeadlineExceeded), "got %v", err)

	for range 100 {
		_, err := s.Write([]byte("0123456789"))
		require.NoError(t, err)
	}
	require.NoError(t, c.SetReadDeadline(time.Time{}))
	buf := make([]byte, 1000)
	_, err = io.ReadFull(c, buf)
	require.NoError(t, err, "readable after a timed-out read")
	assert.Equal(t, "0123456789", string(buf[990:]))
	assert.Zero(t, c.(*bufferedConn).r.Buffered(), "everything written was read")
}

// TestReplicationConnectionOverTLS: a replication session opens and
// answers through the buffered connection under TLS.
func TestReplicationConnectionOverTLS(t *testing.T) {
	cl := pgtest.Start(t, pgtest.Options{SSL: true})
	cfg, err := pgconn.ParseConfig(cl.URL("postgres"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgconn.ConnectConfig(ctx, ReplicationConfig(cfg, "ardent-test"))
	require.NoError(t, err)
	defer conn.Close(context.Background())
	tc, ok := conn.Conn().(*tls.Conn)
	require.True(t, ok, "a TLS session")
	_, buffered := tc.NetConn().(*bufferedConn)
	assert.True(t, buffered, "TLS reads through the buffer")
	res, err := conn.Exec(ctx, "IDENTIFY_SYSTEM").ReadAll()
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.Len(t, res[0].Rows, 1)
}
