package admission

import (
	"context"
	"sync"
)

// Slots is a counting semaphore that grants in arrival order. A limit of
// 0 or less grants at once, always.
type Slots struct {
	limit int

	mu      sync.Mutex
	running int
	waiters []chan struct{} // closed when granted; the grant is its slot
}

// NewSlots returns slots for limit holders at once (0 or less: unlimited).
func NewSlots(limit int) *Slots { return &Slots{limit: limit} }

// Limit is the number of holders allowed at once (0 or less: unlimited).
func (s *Slots) Limit() int { return s.limit }

// Running is the number of holders now.
func (s *Slots) Running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running
}

// Waiting is the number of callers waiting in Acquire now.
func (s *Slots) Waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiters)
}

// TryAcquire takes a slot if one is free and nobody waits for one (a
// newcomer does not overtake the queue).
func (s *Slots) TryAcquire() (release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limit > 0 && (s.running >= s.limit || len(s.waiters) > 0) {
		return nil, false
	}
	s.running++
	return s.releaser(), true
}

// Acquire waits for a slot in arrival order, or until ctx ends (then it
// holds nothing and returns ctx's error).
func (s *Slots) Acquire(ctx context.Context) (release func(), err error) {
	if rel, ok := s.TryAcquire(); ok {
		return rel, nil
	}
	s.mu.Lock()
	ch := make(chan struct{})
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return s.releaser(), nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	for i, w := range s.waiters {
		if w == ch {
			s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
			s.mu.Unlock()
			return nil, ctx.Err()
		}
	}
	s.mu.Unlock()
	// Granted while ctx ended: pass the slot on rather than lose it.
	s.releaser()()
	return nil, ctx.Err()
}

func (s *Slots) releaser() func() {
	var once sync.Once
	return func() { once.Do(s.release) }
}

func (s *Slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiters) > 0 {
		// The slot goes straight to the longest waiter: running stays.
		ch := s.waiters[0]
		s.waiters = s.waiters[1:]
		close(ch)
		return
	}
	s.running--
}
