package preflight

import "time"

// SetMinCheckpointWindow lets a test use the window since the last
// checkpoint a second or two after it, not five; the returned function
// puts the default back.
func SetMinCheckpointWindow(d time.Duration) (restore func()) {
	saved := minCheckpointWindow
	minCheckpointWindow = d
	return func() { minCheckpointWindow = saved }
}
