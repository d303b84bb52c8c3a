package cadence

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNext(t *testing.T) {
	grid := time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC) // a multiple of 10 s
	at := func(d time.Duration) time.Time { return grid.Add(d) }
	for _, tc := range []struct {
		name   string
		now    time.Time
		period time.Duration
		want   time.Time
	}{
		{"on a grid point: the next one", at(0), 10 * time.Second, at(10 * time.Second)},
		{"just after one", at(time.Millisecond), 10 * time.Second, at(10 * time.Second)},
		{"mid-period", at(5 * time.Second), 10 * time.Second, at(10 * time.Second)},
		{"closer than a quarter: the one after", at(8 * time.Second), 10 * time.Second, at(20 * time.Second)},
		{"wall clock a little behind the grid", at(-time.Millisecond), 10 * time.Second, at(10 * time.Second)},
		{"another period's grid", at(1500 * time.Millisecond), 2 * time.Second, at(4 * time.Second)},
		{"no period: now", at(3 * time.Second), 0, at(3 * time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Next(tc.now, tc.period)
			assert.True(t, got.Equal(tc.want), "Next(%s, %s) = %s, want %s", tc.now.Format(time.StampMilli),
				tc.period, got.Format(time.StampMilli), tc.want.Format(time.StampMilli))
			if tc.period > 0 {
				assert.GreaterOrEqual(t, got.Sub(tc.now), tc.period/4, "a first tick at least a quarter period away")
				assert.LessOrEqual(t, got.Sub(tc.now), tc.period+tc.period/4)
			}
		})
	}
}

func TestNextAfterATick(t *testing.T) {
	grid := time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC)
	p := 8 * time.Second
	for _, late := range []time.Duration{-time.Millisecond, 0, time.Microsecond, 50 * time.Millisecond, time.Second} {
		got := nextAfter(grid.Add(late), p)
		assert.True(t, got.Equal(grid.Add(p)), "a tick %s after its grid point: next %s", late, got.Sub(grid))
	}
}

// Timers started apart tick on the same instants, the grid's, and keep
// doing so after a caller that was slow.
func TestTimersShareTheGrid(t *testing.T) {
	const period = 200 * time.Millisecond
	const slack = period / 2 // how late a tick may run on a busy machine
	onGrid := func(tick time.Time) time.Time {
		g := tick.Truncate(period)
		require.Less(t, tick.Sub(g), slack, "tick %s is not near a grid point", tick.Format(time.StampMilli))
		return g
	}
	a := NewTimer(period)
	defer a.Stop()
	time.Sleep(period / 3)
	b := NewTimer(period)
	defer b.Stop()
	var ga, gb []time.Time
	for range 3 {
		select {
		case ta := <-a.C:
			ga = append(ga, onGrid(ta))
			a.Reset(ta)
		case <-time.After(5 * period):
			t.Fatal("a did not tick")
		}
		tb := <-b.C
		gb = append(gb, onGrid(tb))
		b.Reset(tb)
	}
	// b started a third of a period later; from its first tick on, both
	// tick on the same grid points.
	assert.Contains(t, ga, gb[0])
	assert.Equal(t, gb[1].Sub(gb[0]), period)
	assert.Equal(t, ga[2].Sub(ga[1]), period)

	// A caller that took a period and a half: the missed point is skipped,
	// the next tick is again on the grid.
	last := <-a.C
	time.Sleep(period + period/2)
	a.Reset(last)
	next := <-a.C
	g := onGrid(next)
	assert.Greater(t, g.Sub(onGrid(last)), period, "the missed grid point was skipped")
}
