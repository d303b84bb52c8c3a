package admission

import (
	"context"
	"sync"
	"time"
)

// Reason says what a copy waits for.
type Reason string

const (
	// ReasonWorker: every copy slot of this worker is taken.
	ReasonWorker Reason = "worker"
	// ReasonSourceHost: the source host's copies are at their limit
	// (on this worker or across workers).
	ReasonSourceHost Reason = "source_host"
)

// Wait describes a copy waiting for its permit.
type Wait struct {
	Reason Reason
	Host   string // host:port of the source
	// Running is how many copies hold what this one waits for (this
	// worker's slots, or the host's permits), of Limit.
	Running, Limit int
	Since          time.Time
}

// DefaultPoll is how often a copy waiting for its source host asks the
// catalog again: the advisory locks cannot wake a waiter on another worker.
const DefaultPoll = 1500 * time.Millisecond

// Scheduler hands out copy permits: a slot of this worker, then a permit of
// the source host. The zero value and a nil *Scheduler grant at once.
type Scheduler struct {
	Worker *Slots     // nil: no per-worker bound
	Hosts  *HostLocks // nil: no per-host bound
	Poll   time.Duration

	mu    sync.Mutex
	gates map[string]*gate
}

// gate queues this worker's copies of one host in arrival order, limit
// at a time, so only they poll the catalog: the others wait in memory.
type gate struct {
	slots *Slots
	refs  int
}

// Acquire waits for a permit to copy from host (host:port), calling
// waiting (may be nil) each time the reason or the count it waits on
// changes. It returns release, which gives everything back (call it once
// the copy ended, however it ended), or ctx's error with nothing held.
func (s *Scheduler) Acquire(ctx context.Context, host string, waiting func(Wait)) (release func(), err error) {
	if s == nil {
		return func() {}, nil
	}
	var held []func()
	giveBack := func() {
		for i := len(held) - 1; i >= 0; i-- {
			held[i]()
		}
		held = nil
	}
	since := time.Now()
	var last Wait
	note := func(w Wait) {
		w.Host, w.Since = host, since
		if w != last && waiting != nil {
			waiting(w)
		}
		last = w
	}
	hostLimit := 0
	if s.Hosts != nil {
		hostLimit = s.Hosts.Limit()
	}
	if hostLimit > 0 {
		g, put := s.gate(host, hostLimit)
		held = append(held, put)
		rel, ok := g.TryAcquire()
		if !ok {
			note(Wait{Reason: ReasonSourceHost, Running: g.Running(), Limit: hostLimit})
			if rel, err = g.Acquire(ctx); err != nil {
				giveBack()
				return nil, err
			}
		}
		held = append(held, rel)
	}
	for {
		w, err := s.workerSlot(ctx, note)
		if err != nil {
			giveBack()
			return nil, err
		}
		if hostLimit <= 0 {
			held = append(held, w)
			break
		}
		h, n, err := s.Hosts.TryAcquire(ctx, host)
		if err != nil {
			w()
			giveBack()
			return nil, err
		}
		if h != nil {
			held = append(held, w, h)
			break
		}
		// Another worker copies this host: hold no slot meanwhile, a copy
		// of another host may use it.
		w()
		note(Wait{Reason: ReasonSourceHost, Running: n, Limit: hostLimit})
		if err := sleep(ctx, s.poll()); err != nil {
			giveBack()
			return nil, err
		}
	}
	var once sync.Once
	return func() { once.Do(giveBack) }, nil
}

func (s *Scheduler) workerSlot(ctx context.Context, note func(Wait)) (func(), error) {
	if s.Worker == nil {
		return func() {}, nil
	}
	if rel, ok := s.Worker.TryAcquire(); ok {
		return rel, nil
	}
	note(Wait{Reason: ReasonWorker, Running: s.Worker.Running(), Limit: s.Worker.Limit()})
	return s.Worker.Acquire(ctx)
}

// gate returns host's gate and the function that lets go of it.
func (s *Scheduler) gate(host string, limit int) (*Slots, func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gates == nil {
		s.gates = map[string]*gate{}
	}
	g := s.gates[host]
	if g == nil {
		g = &gate{slots: NewSlots(limit)}
		s.gates[host] = g
	}
	g.refs++
	return g.slots, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if g.refs--; g.refs == 0 {
			delete(s.gates, host)
		}
	}
}

func (s *Scheduler) poll() time.Duration {
	if s.Poll > 0 {
		return s.Poll
	}
	return DefaultPoll
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
