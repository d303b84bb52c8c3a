package preflight

import "time"

// SetMinCheckpointWindow lets a test use the window since the last
// checkpoint seconds after it, not half a minute; the returned function
// puts the default back.
func SetMinCheckpointWindow(d time.Duration) (restore func()) {
	saved := minCheckpointWindow
	minCheckpointWindow = d
	return func() { minCheckpointWindow = saved }
}
