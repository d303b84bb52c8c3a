package e2estack

import (
	"context"
	"fmt"
	"time"
)

// Poll calls cond every interval until it reports done, timeout passes or
// ctx ends. An error from cond does not end the wait (a server may be
// restarting); the last one is part of the timeout's error.
func Poll(ctx context.Context, timeout, interval time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	var lastErr error
	for {
		ok, err := cond()
		if ok && err == nil {
			return nil
		}
		lastErr = err
		if time.Now().After(deadline) {
			if lastErr != nil {
				return fmt.Errorf("%s: not after %s: %w", what, timeout, lastErr)
			}
			return fmt.Errorf("%s: not after %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		case <-time.After(interval):
		}
	}
}
