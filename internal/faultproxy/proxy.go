package faultproxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Proxy forwards connections from its loopback listener to a target.
type Proxy struct {
	target string
	ln     net.Listener
	log    *slog.Logger

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	cutUntil time.Time
	cuts     int
	closed   bool
	rate     int64     // bytes per second across all connections; 0 = unlimited
	next     time.Time // when the shared budget is next free
	wg       sync.WaitGroup
}

// New listens on a free loopback port and forwards to target (host:port).
func New(target string, log *slog.Logger) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for proxy to %s: %w", target, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{target: target, ln: ln, log: log, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's listening address (host:port): point clients here.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cuts is how many cuts have been staged.
func (p *Proxy) Cuts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

// Cut closes every open connection now and refuses new ones for d; the
// proxy heals by itself when d has passed. It returns how many client
// connections it reset, so a test can tell a cut that hit nothing.
func (p *Proxy) Cut(d time.Duration) int {
	p.mu.Lock()
	p.cutUntil = time.Now().Add(d)
	p.cuts++
	conns := p.conns
	p.conns = map[net.Conn]struct{}{}
	p.mu.Unlock()
	for c := range conns {
		reset(c)
	}
	p.log.Info("faultproxy: cut", "connections", len(conns)/2, "for", d)
	return len(conns) / 2
}

// Heal ends a cut early.
func (p *Proxy) Heal() {
	p.mu.Lock()
	p.cutUntil = time.Time{}
	p.mu.Unlock()
}

// Cutting reports whether new connections are being refused.
func (p *Proxy) Cutting() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Now().Before(p.cutUntil)
}

// SetRate limits the bytes per second the proxy forwards, summed over all
// connections and both directions; 0 lifts the limit. A slow link is how a
// test stretches a fast operation (a snapshot copy) long enough to hit it
// with faults.
func (p *Proxy) SetRate(bytesPerSecond int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate = bytesPerSecond
	p.next = time.Time{}
}

// delay reserves n bytes of the shared budget and says how long to wait
// before sending them.
func (p *Proxy) delay(n int) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rate <= 0 {
		return 0
	}
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	wait := p.next.Sub(now)
	p.next = p.next.Add(time.Duration(int64(n) * int64(time.Second) / p.rate))
	return wait
}

// copy is io.Copy that honours the rate limit.
func (p *Proxy) copy(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if d := p.delay(n); d > 0 {
				time.Sleep(d)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Close stops listening and closes every connection.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = map[net.Conn]struct{}{}
	p.mu.Unlock()
	err := p.ln.Close()
	for c := range conns {
		_ = c.Close()
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if p.Cutting() {
			reset(c)
			continue
		}
		go p.forward(c)
	}
}

func (p *Proxy) forward(client net.Conn) {
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		reset(client)
		return
	}
	// A cut that began while dialing must still take this pair.
	if !p.track(client, server) {
		reset(client)
		reset(server)
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		p.copy(dst, src)
		// One side finished: end both, as a real connection does.
		_ = dst.Close()
		_ = src.Close()
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	<-done
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || time.Now().Before(p.cutUntil) {
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// reset closes c with SO_LINGER 0, so the peer sees a reset rather than an
// orderly end of stream.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
