package cadence

import "time"

// Next is the first grid point of period (a multiple of it since the zero
// time) at least period/4 after now. The margin keeps a tick from coming
// again at once when the wall clock, which the grid is counted in, lags
// the monotonic clock the timer fired on, and it spaces a first tick from
// the start.
func Next(now time.Time, period time.Duration) time.Time {
	if period <= 0 {
		return now
	}
	return now.Add(period / 4).Truncate(period).Add(period)
}

// nextAfter is the first grid point strictly after t: for a tick that
// fired at (or just after) a grid point, the following one.
func nextAfter(t time.Time, period time.Duration) time.Time {
	return t.Add(period / 16).Truncate(period).Add(period)
}

// Timer ticks on its period's grid. Unlike a time.Ticker it is re-armed
// by the caller after each tick (Reset), from the tick's own time, so
// every timer of a period stays on the same instants however late its
// goroutine ran.
type Timer struct {
	C      <-chan time.Time
	t      *time.Timer
	period time.Duration
}

// NewTimer starts a timer whose first tick is Next(now, period).
func NewTimer(period time.Duration) *Timer {
	t := time.NewTimer(time.Until(Next(time.Now(), period)))
	return &Timer{C: t.C, t: t, period: period}
}

// Reset arms the timer for the grid point after the tick at ticked (the
// value received from C). A caller that spent longer than a period since
// then gets the next grid point after now instead.
func (t *Timer) Reset(ticked time.Time) {
	next := nextAfter(ticked, t.period)
	if now := time.Now(); !next.After(now) {
		next = nextAfter(now, t.period)
	}
	t.t.Reset(time.Until(next))
}

// Stop stops the timer.
func (t *Timer) Stop() { t.t.Stop() }
