package faultproxy

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// echoServer answers each line with the same line.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return err
	}
	_, err = bufio.NewReader(c).ReadString('\n')
	return err
}

func TestProxyForwardsCutsAndHeals(t *testing.T) {
	p, err := New(echoServer(t), nil)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })

	require.NoError(t, roundTrip(p.Addr()), "a healthy proxy forwards")

	open, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer open.Close()
	_, err = open.Write([]byte("a\n"))
	require.NoError(t, err)
	_, err = bufio.NewReader(open).ReadString('\n')
	require.NoError(t, err)

	// The first round trip's connection may not be forgotten yet (the proxy
	// notices a client's close asynchronously): at least the open one is cut.
	require.GreaterOrEqual(t, p.Cut(400*time.Millisecond), 1)
	require.True(t, p.Cutting())
	_ = open.SetReadDeadline(time.Now().Add(time.Second))
	_, err = open.Read(make([]byte, 1))
	require.Error(t, err, "an open connection ends at the cut")
	require.Error(t, roundTrip(p.Addr()), "new connections are refused during the cut")

	require.Eventually(t, func() bool { return roundTrip(p.Addr()) == nil }, 3*time.Second, 50*time.Millisecond, "the proxy heals by itself")
	require.Equal(t, 1, p.Cuts())
}

func TestProxyRateLimit(t *testing.T) {
	p, err := New(echoServer(t), nil)
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	p.SetRate(20 << 10) // 20 KiB/s, both directions counted
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	defer c.Close()
	line := make([]byte, 10<<10)
	for i := range line {
		line[i] = 'a'
	}
	line[len(line)-1] = '\n'
	start := time.Now()
	for i := 0; i < 3; i++ {
		_, err := c.Write(line)
		require.NoError(t, err)
		_, err = bufio.NewReader(c).ReadString('\n')
		require.NoError(t, err)
	}
	// 60 KiB through the budget at 20 KiB/s: about 3 s, less the first burst.
	require.Greater(t, time.Since(start), 2*time.Second)
	p.SetRate(0)
	start = time.Now()
	require.NoError(t, roundTrip(p.Addr()))
	require.Less(t, time.Since(start), time.Second)
}
