package preflight

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWALWindowUsable(t *testing.T) {
	const timeout = 5 * time.Minute
	for _, tc := range []struct {
		name string
		w    walWindow
		want bool
	}{
		{"minutes of a writing server", walWindow{bytes: 64 << 20, age: 3 * time.Minute, current: true, timeout: timeout}, true},
		{"a spread checkpoint not yet replaced", walWindow{bytes: 1 << 30, age: 9 * time.Minute, current: true, timeout: timeout}, true},
		{"seconds after a checkpoint", walWindow{bytes: 1 << 20, age: 10 * time.Second, current: true, timeout: timeout}, true},
		{"six seconds, five of them certain", walWindow{bytes: 1 << 20, age: 6 * time.Second, current: true, timeout: timeout}, true},
		{"too fresh for whole seconds", walWindow{bytes: 1 << 20, age: 5900 * time.Millisecond, current: true, timeout: timeout}, false},
		{"quiet for longer than two timeouts", walWindow{bytes: 200, age: 3 * time.Hour, current: true, timeout: timeout}, false},
		{"written before the server restarted", walWindow{bytes: 200, age: 2 * time.Minute, current: false, timeout: timeout}, false},
		{"a longer checkpoint_timeout", walWindow{bytes: 1 << 20, age: 50 * time.Minute, current: true, timeout: 30 * time.Minute}, true},
		{"the insert position behind the redo point", walWindow{bytes: -1, age: 2 * time.Minute, current: true, timeout: timeout}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.w.usable())
		})
	}
}

// checkpoint_time has whole seconds: the rate divides by the shortest the
// window can be, so a young window never understates it.
func TestWALWindowSpan(t *testing.T) {
	for _, tc := range []struct {
		age, want time.Duration
	}{
		{6 * time.Second, 5 * time.Second},
		{2500 * time.Millisecond, 1500 * time.Millisecond},
		{3 * time.Minute, 3*time.Minute - time.Second},
	} {
		assert.Equal(t, tc.want, walWindow{age: tc.age}.span(), "age %s", tc.age)
	}
}
