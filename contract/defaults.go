package contract

import "time"

// DefaultTaskQueue is the task queue when ARDENT_TASK_QUEUE is not set.
const DefaultTaskQueue = "ardent"

// Defaults of the onboarding's preflight loop (OnboardingInput's
// BackoffInitial, BackoffMax and Deadline when zero; the configuration's
// preflight_backoff_initial, preflight_backoff_max and preflight_deadline).
const (
	DefaultBackoffInitial = 30 * time.Second
	DefaultBackoffMax     = 15 * time.Minute
	DefaultDeadline       = 7 * 24 * time.Hour
)

// Defaults of the replication workflow.
const (
	// DefaultStreamRun is how long one Replicate activity streams before the
	// workflow continues as new, keeping histories short.
	DefaultStreamRun = time.Hour
	// DefaultVerifyInterval is how often the replication workflow verifies
	// the destination against the source while it streams.
	DefaultVerifyInterval = 6 * time.Hour
	// DefaultMaxAttempts is how many Replicate attempts in a row may fail
	// without progress before the connector is failed.
	DefaultMaxAttempts = 10
	// DefaultRetryInitial and DefaultRetryMax bound the backoff between
	// Replicate attempts (doubling).
	DefaultRetryInitial = 2 * time.Second
	DefaultRetryMax     = time.Minute
)
